package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// ropeRef rotates x in float64 by the textbook angles pos*base^(-2i/d)/ff.
func ropeRef(x []float32, nHeads, headDim, ropeDim, pos int, base float64, neox bool, ff []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	for h := range nHeads {
		for i := range ropeDim / 2 {
			theta := float64(pos) * math.Pow(base, -2*float64(i)/float64(ropeDim))
			if ff != nil {
				theta /= float64(ff[i])
			}
			j0, j1 := h*headDim+2*i, h*headDim+2*i+1
			if neox {
				j0, j1 = h*headDim+i, h*headDim+i+ropeDim/2
			}
			x0, x1 := float64(x[j0]), float64(x[j1])
			out[j0] = x0*math.Cos(theta) - x1*math.Sin(theta)
			out[j1] = x0*math.Sin(theta) + x1*math.Cos(theta)
		}
	}
	return out
}

func TestRoPE(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	type shape struct{ nHeads, headDim, ropeDim int }
	shapes := []shape{{4, 64, 64}, {2, 128, 128}, {3, 80, 32}, {1, 512, 512}}
	for _, sh := range shapes {
		for _, neox := range []bool{false, true} {
			for _, useFF := range []bool{false, true} {
				for _, pos := range []int{0, 1, 7, 100, 4095} {
					name := fmt.Sprintf("%dx%d/rope%d/neox=%v/ff=%v/pos=%d", sh.nHeads, sh.headDim, sh.ropeDim, neox, useFF, pos)
					var ff []float32
					if useFF {
						ff = make([]float32, sh.ropeDim/2)
						for i := range ff {
							ff[i] = 1 + float32(i%5)
						}
					}
					x := testData(rng, sh.nHeads*sh.headDim)
					const base = 10000
					want := ropeRef(x, sh.nHeads, sh.headDim, sh.ropeDim, pos, base, neox, ff)
					got := append([]float32(nil), x...)
					RoPE(got, sh.nHeads, sh.headDim, sh.ropeDim, pos, base, neox, ff)
					for h := range sh.nHeads {
						for k := range sh.headDim {
							j := h*sh.headDim + k
							if k >= sh.ropeDim {
								if got[j] != x[j] {
									t.Fatalf("%s: dimension %d past ropeDim changed", name, j)
								}
								continue
							}
							// Pair index of this element, for the float angle's error:
							// theta is built by i float multiplications from pos.
							i := k / 2
							if neox {
								i = k % (sh.ropeDim / 2)
							}
							theta := float64(pos) * math.Pow(base, -2*float64(i)/float64(sh.ropeDim))
							var mag float64
							for _, jj := range ropePair(h*sh.headDim, i, sh.ropeDim, neox) {
								mag += math.Abs(float64(x[jj]))
							}
							tol := mag * (2e-7 + theta*float64(i+3)*0x1p-23)
							if !closeTo(got[j], want[j], tol) {
								t.Fatalf("%s: x[%d] = %g, want %g (tol %g)", name, j, got[j], want[j], tol)
							}
						}
					}
					if pos == 0 {
						for j := range got {
							if got[j] != x[j] {
								t.Fatalf("%s: position 0 changed x[%d]", name, j)
							}
						}
					}
				}
			}
		}
	}
}

func ropePair(base, i, ropeDim int, neox bool) [2]int {
	if neox {
		return [2]int{base + i, base + i + ropeDim/2}
	}
	return [2]int{base + 2*i, base + 2*i + 1}
}

// TestRoPECacheReuse checks that one cache applied to several vectors gives
// what RoPE gives for each.
func TestRoPECacheReuse(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	const nHeads, headDim, pos = 4, 64, 33
	cache := make([]float32, headDim)
	RoPECache(cache, pos, headDim, 500000, nil)
	for range 3 {
		x := testData(rng, nHeads*headDim)
		a := append([]float32(nil), x...)
		RoPE(a, nHeads, headDim, headDim, pos, 500000, true, nil)
		RoPEApply(x, nHeads, headDim, headDim, cache, true)
		for i := range x {
			if x[i] != a[i] {
				t.Fatalf("x[%d] = %g, RoPE gives %g", i, x[i], a[i])
			}
		}
	}
}
