package ops

import "math"

// Softmax replaces x by softmax(x) in place, as ggml's soft_max: the maximum
// is subtracted before expf, the exponentials (rounded to float) are summed
// in double, and x is scaled by the float rounding of 1/sum.
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	mx := float32(math.Inf(-1))
	for _, v := range x {
		if v > mx {
			mx = v
		}
	}
	var sum float64
	for i, v := range x {
		e := expf(v - mx)
		sum += float64(e)
		x[i] = e
	}
	Scale(x, float32(1/sum))
}

// expf is C's expf up to its last-bit rounding: exp in double, rounded.
func expf(x float32) float32 { return float32(math.Exp(float64(x))) }
