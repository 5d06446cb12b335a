//go:build amd64 && !purego

package ops

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSoftmaxAVX2 runs Softmax with the assembly kernels on and off on
// attention-like rows: every length up to 100 and a few long ones, scores
// of several spreads (so exponentials underflow to subnormals and zero),
// and masked (-Inf) positions, comparing every bit.
func TestSoftmaxAVX2(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 21))
	lengths := []int{511, 512, 4096 + 7}
	for n := 1; n <= 100; n++ {
		lengths = append(lengths, n)
	}
	for _, n := range lengths {
		for _, spread := range []float64{0.01, 1, 10, 60} {
			for _, masked := range []bool{false, true} {
				row := make([]float32, n)
				for i := range row {
					row[i] = float32(rng.NormFloat64() * spread)
					if masked && rng.IntN(3) == 0 && i > 0 {
						row[i] = float32(math.Inf(-1))
					}
				}
				run := func(on bool) []float32 {
					x := append([]float32(nil), row...)
					withSIMD(t, on, func() { Softmax(x) })
					return x
				}
				want, got := run(false), run(true)
				if i := sameBits(got, want); i >= 0 {
					t.Fatalf("n %d, spread %g, masked %v: Softmax[%d] = %g (%#x), portable %g (%#x)",
						n, spread, masked, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
				}
			}
		}
	}
}
