package testref

import (
	"encoding/binary"
	"math"
	"os"
	"testing"
)

// ReadF32File reads a file of little-endian float32s, the format of the
// reference logits. With n >= 0 the file must hold exactly n floats; with
// n < 0 any whole number of them.
func ReadF32File(tb testing.TB, path string, n int) []float32 {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	switch {
	case n >= 0 && len(data) != 4*n:
		tb.Fatalf("%s: %d bytes, want %d", path, len(data), 4*n)
	case len(data)%4 != 0:
		tb.Fatalf("%s: %d bytes is not a whole number of float32s", path, len(data))
	}
	out := make([]float32, len(data)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return out
}

// LogSoftmax is log(softmax(x)), computed in float64.
func LogSoftmax(x []float32) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, float64(v))
	}
	var sum float64
	for _, v := range x {
		sum += math.Exp(float64(v) - m)
	}
	ls := m + math.Log(sum)
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v) - ls
	}
	return out
}

// KLDivergence is KL(softmax(p) || softmax(q)) in float64.
func KLDivergence(p, q []float32) float64 {
	lp, lq := LogSoftmax(p), LogSoftmax(q)
	var kl float64
	for i := range lp {
		kl += math.Exp(lp[i]) * (lp[i] - lq[i])
	}
	return kl
}

// Argmax is the index of the first largest element, NaNs skipped, as
// ops.Argmax (which testref cannot import: the tests of ops import testref);
// 0 when there is none.
func Argmax(x []float32) int {
	best := -1
	for i, v := range x {
		if best < 0 && v == v || best >= 0 && v > x[best] {
			best = i
		}
	}
	return max(best, 0)
}

// topTwo returns the largest and second-largest elements of x.
func topTwo(x []float32) (first, second float32) {
	first, second = float32(math.Inf(-1)), float32(math.Inf(-1))
	for _, v := range x {
		if v > first {
			first, second = v, first
		} else if v > second {
			second = v
		}
	}
	return first, second
}

// TopTwoGap is the gap between the two largest elements of x: under a small
// gap a last-bit difference may pick the other one as the argmax.
func TopTwoGap(x []float32) float64 {
	a, b := topTwo(x)
	return float64(a) - float64(b)
}

// StableGreedyPrefix is how many of the n greedy steps whose logits are the
// rows of gen (vocab floats each) can be compared: up to the first step
// whose top-two logit gap is below 1e-3, where a last-bit difference may pick
// the other token.
func StableGreedyPrefix(gen []float32, vocab, n int) int {
	for k := range n {
		if first, second := topTwo(gen[k*vocab : (k+1)*vocab]); first-second < 1e-3 {
			return k
		}
	}
	return n
}

// RowDiff is how one row of logits differs from the reference's.
type RowDiff struct {
	MaxAbs    float64 // max |ref[i]-got[i]|
	KL        float64 // KL(softmax(ref) || softmax(got))
	RefArgmax int
	GotArgmax int
}

// CompareLogits compares one row of logits, got, with the reference's.
func CompareLogits(ref, got []float32) RowDiff {
	var d RowDiff
	for i := range ref {
		d.MaxAbs = math.Max(d.MaxAbs, math.Abs(float64(ref[i]-got[i])))
	}
	d.KL = KLDivergence(ref, got)
	d.RefArgmax, d.GotArgmax = Argmax(ref), Argmax(got)
	return d
}
