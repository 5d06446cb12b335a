package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/infer-go/infer/quant"
)

func activationInputs() []float32 {
	rng := rand.New(rand.NewPCG(4, 4))
	x := []float32{0, -0.0, 1, -1, 0.5, 9.99, 10, 10.5, -9.99, -10, -10.5, 50, -50, 100, -100, 1e-6, -1e-6}
	for range 2000 {
		x = append(x, float32(rng.NormFloat64()*4))
	}
	return x
}

func TestSiLUAndSwiGLU(t *testing.T) {
	in := activationInputs()
	x := append([]float32(nil), in...)
	SiLU(x)
	up := make([]float32, len(in))
	for i := range up {
		up[i] = float32(i%7) - 3
	}
	sw := make([]float32, len(in))
	SwiGLU(sw, in, up)
	for i, v := range in {
		want := float64(v) / (1 + math.Exp(-float64(v)))
		if !closeTo(x[i], want, 1e-6*math.Abs(want)+1e-40) {
			t.Fatalf("SiLU(%g) = %g, want %g", v, x[i], want)
		}
		if sw[i] != x[i]*up[i] {
			t.Fatalf("SwiGLU(%g, %g) = %g, want %g", v, up[i], sw[i], x[i]*up[i])
		}
	}
}

func geluTanh64(x float64) float64 {
	return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*x*(1+0.044715*x*x)))
}

func TestGELU(t *testing.T) {
	in := activationInputs()
	x := append([]float32(nil), in...)
	GELU(x)
	for i, v := range in {
		var want float64
		switch {
		case v <= -10:
			want = 0
		case v >= 10:
			want = float64(v)
		default:
			// ggml's table: the input and the result are rounded to f16.
			want = geluTanh64(float64(quant.F16ToF32(quant.F32ToF16(v))))
		}
		tol := 0x1p-11*math.Abs(want) + 1e-7
		if !closeTo(x[i], want, tol) {
			t.Fatalf("GELU(%g) = %g, want %g", v, x[i], want)
		}
		// The f16 table means results are f16 values.
		if v > -10 && v < 10 && quant.F16ToF32(quant.F32ToF16(x[i])) != x[i] {
			t.Fatalf("GELU(%g) = %g, not an f16 value", v, x[i])
		}
	}
	// Close to the unrounded function, within the f16 rounding of the input.
	for _, v := range []float32{-3, -1, -0.5, 0.25, 1, 2.5, 5} {
		x := []float32{v}
		GELU(x)
		if want := geluTanh64(float64(v)); math.Abs(float64(x[0])-want) > 2e-3*math.Max(1, math.Abs(want)) {
			t.Errorf("GELU(%g) = %g, want about %g", v, x[0], want)
		}
	}
}

func TestGELUErf(t *testing.T) {
	in := activationInputs()
	x := append([]float32(nil), in...)
	GELUErf(x)
	for i, v := range in {
		want := 0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2))
		// 1+erf is formed in float, so for negative x its rounding is
		// relative to 1, not to the small result.
		tol := 1e-6*math.Abs(want) + 0.5*math.Abs(float64(v))*0x1p-23
		if !closeTo(x[i], want, tol) {
			t.Fatalf("GELUErf(%g) = %g, want %g", v, x[i], want)
		}
	}
}
