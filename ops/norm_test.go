package ops

import (
	"math"
	"math/rand/v2"
	"testing"
)

func closeTo(got float32, want, tol float64) bool {
	return math.Abs(float64(got)-want) <= tol
}

func TestRMSNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{1, 7, 256, 4096} {
		x := testData(rng, n)
		w := testData(rng, n)
		const eps = 1e-5
		var ss float64
		for _, v := range x {
			ss += float64(v) * float64(v)
		}
		scale := 1 / math.Sqrt(ss/float64(n)+eps)
		for _, weight := range [][]float32{nil, w} {
			dst := make([]float32, n)
			RMSNorm(dst, x, weight, eps)
			for i := range dst {
				want := float64(x[i]) * scale
				if weight != nil {
					want *= float64(weight[i])
				}
				if !closeTo(dst[i], want, 1e-6*math.Abs(want)+1e-30) {
					t.Fatalf("n %d, weight %v: dst[%d] = %g, want %g", n, weight != nil, i, dst[i], want)
				}
			}
		}
		// In place gives the same bits.
		want := make([]float32, n)
		RMSNorm(want, x, w, eps)
		RMSNorm(x, x, w, eps)
		for i := range x {
			if x[i] != want[i] {
				t.Fatalf("n %d: in place dst[%d] = %g, want %g", n, i, x[i], want[i])
			}
		}
	}
}

func TestLayerNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, n := range []int{2, 7, 256, 1024} {
		x := testData(rng, n)
		for i := range x {
			x[i] += 3 // a mean far from zero
		}
		w, b := testData(rng, n), testData(rng, n)
		const eps = 1e-5
		var sum float64
		for _, v := range x {
			sum += float64(v)
		}
		mean := sum / float64(n)
		var ss float64
		for _, v := range x {
			ss += (float64(v) - mean) * (float64(v) - mean)
		}
		scale := 1 / math.Sqrt(ss/float64(n)+eps)
		for _, wb := range [][2][]float32{{nil, nil}, {w, nil}, {nil, b}, {w, b}} {
			dst := make([]float32, n)
			LayerNorm(dst, x, wb[0], wb[1], eps)
			for i := range dst {
				norm := (float64(x[i]) - mean) * scale
				want, mag := norm, math.Abs(norm)
				if wb[0] != nil {
					want *= float64(wb[0][i])
					mag *= math.Abs(float64(wb[0][i]))
				}
				if wb[1] != nil {
					want += float64(wb[1][i])
					mag += math.Abs(float64(wb[1][i]))
				}
				// The centred value carries the rounding of x and of the mean.
				tol := 2e-6*mag + 1e-6*math.Abs(mean)*scale*(mag/math.Max(math.Abs(norm), 1e-30))
				if !closeTo(dst[i], want, tol) {
					t.Fatalf("n %d, weight %v, bias %v: dst[%d] = %g, want %g", n, wb[0] != nil, wb[1] != nil, i, dst[i], want)
				}
			}
		}
	}
}

func TestNormPanicsOnBadSizes(t *testing.T) {
	for name, f := range map[string]func(){
		"RMSNorm dst":     func() { RMSNorm(make([]float32, 3), make([]float32, 4), nil, 1e-5) },
		"RMSNorm weight":  func() { RMSNorm(make([]float32, 4), make([]float32, 4), make([]float32, 3), 1e-5) },
		"LayerNorm bias":  func() { LayerNorm(make([]float32, 4), make([]float32, 4), nil, make([]float32, 5), 1e-5) },
		"LayerNorm dst":   func() { LayerNorm(make([]float32, 5), make([]float32, 4), nil, nil, 1e-5) },
		"Add lengths":     func() { Add(make([]float32, 4), make([]float32, 4), make([]float32, 3)) },
		"SwiGLU lengths":  func() { SwiGLU(make([]float32, 4), make([]float32, 3), make([]float32, 4)) },
		"RoPE rope > dim": func() { RoPE(make([]float32, 8), 1, 8, 10, 0, 10000, false, nil) },
		"RoPE odd dims":   func() { RoPE(make([]float32, 8), 1, 8, 3, 0, 10000, false, nil) },
		"RoPE short x":    func() { RoPE(make([]float32, 15), 2, 8, 8, 0, 10000, true, nil) },
		"RoPE factors":    func() { RoPE(make([]float32, 8), 1, 8, 8, 0, 10000, false, make([]float32, 3)) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
}
