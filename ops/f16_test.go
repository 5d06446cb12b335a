package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/infer-go/infer/quant"
)

func TestF16Helpers(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for _, n := range []int{0, 1, 5, 128} {
		a32, b32 := testData(rng, n), testData(rng, n)
		a, b := make([]uint16, n), make([]uint16, n)
		ConvertF32ToF16(a, a32)
		ConvertF32ToF16(b, b32)
		back := make([]float32, n)
		ConvertF16ToF32(back, a)
		var want, mag float64
		for i := range n {
			if a[i] != quant.F32ToF16(a32[i]) {
				t.Fatalf("ConvertF32ToF16: element %d = %#x, want %#x", i, a[i], quant.F32ToF16(a32[i]))
			}
			if back[i] != quant.F16ToF32(a[i]) {
				t.Fatalf("ConvertF16ToF32: element %d = %g, want %g", i, back[i], quant.F16ToF32(a[i]))
			}
			p := float64(quant.F16ToF32(a[i])) * float64(quant.F16ToF32(b[i]))
			want += p
			mag += math.Abs(p)
		}
		if got := DotF16(a, b); !closeTo(got, want, 2e-7*mag) {
			t.Errorf("n %d: DotF16 = %g, want %g", n, got, want)
		}
		dst := append([]float32(nil), b32...)
		AxpyF16(dst, 0.75, a)
		for i := range dst {
			if w := b32[i] + 0.75*quant.F16ToF32(a[i]); !closeTo(dst[i], float64(w), 1e-6*math.Abs(float64(w))) {
				t.Fatalf("AxpyF16: dst[%d] = %g, want %g", i, dst[i], w)
			}
		}
	}
}
