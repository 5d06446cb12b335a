package ops

import "fmt"

// Add sets dst[i] = a[i] + b[i]. All three have the same length; dst may be
// a or b.
func Add(dst, a, b []float32) {
	checkSameLen("Add", dst, a, b)
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

// Mul sets dst[i] = a[i] * b[i]. All three have the same length; dst may be
// a or b.
func Mul(dst, a, b []float32) {
	checkSameLen("Mul", dst, a, b)
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] * b[i]
	}
}

// Scale multiplies x by s in place.
func Scale(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}

// Argmax returns the index of the largest element of x, the lowest index
// among equals (so greedy sampling breaks ties like llama.cpp), or -1 for an
// empty x. NaNs are never chosen unless x holds nothing else.
func Argmax(x []float32) int {
	best := -1
	for i, v := range x {
		if best < 0 && v == v || best >= 0 && v > x[best] {
			best = i
		}
	}
	if best < 0 && len(x) > 0 {
		return 0
	}
	return best
}

func checkSameLen(op string, dst, a, b []float32) {
	if len(a) != len(dst) || len(b) != len(dst) {
		panic(fmt.Sprintf("ops: %s: lengths %d, %d, %d differ", op, len(dst), len(a), len(b)))
	}
}
