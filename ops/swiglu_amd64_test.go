//go:build amd64 && !purego

package ops

import (
	"math"
	"math/rand/v2"
	"testing"
)

// swiGLUBoth runs SwiGLU with the assembly kernels on and off on copies of
// gate and up (dst aliasing gate, up or neither, by alias 0, 1, 2) and
// fails at the first element whose bits differ (NaN matches NaN).
func swiGLUBoth(t *testing.T, gate, up []float32, alias int) {
	t.Helper()
	run := func(on bool) []float32 {
		g, u := append([]float32(nil), gate...), append([]float32(nil), up...)
		dst := make([]float32, len(g))
		switch alias {
		case 1:
			dst = g
		case 2:
			dst = u
		}
		withSIMD(t, on, func() { SwiGLU(dst, g, u) })
		return dst
	}
	want, got := run(false), run(true)
	if i := sameBits(got, want); i >= 0 {
		t.Fatalf("len %d, alias %d: SwiGLU(gate %g (%#x), up %g)[%d] = %g (%#x), portable %g (%#x)",
			len(gate), alias, gate[i], math.Float32bits(gate[i]), up[i], i,
			got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
	}
}

// TestSwiGLUAVX2Sweep runs float32 bit patterns spread over every exponent,
// both signs, and densely over the gates whose exponential is subnormal,
// overflows, or leaves vExpf's range (|n| > 192), against the portable code.
func TestSwiGLUAVX2Sweep(t *testing.T) {
	var gate []float32
	for b := uint64(0); b < 1<<32; b += 4093 {
		gate = append(gate, math.Float32frombits(uint32(b)))
	}
	for v := float32(80); v < 140; v += 1.0 / 1024 {
		gate = append(gate, v, -v)
	}
	for _, v := range []float32{0, float32(math.Copysign(0, -1)), 1, -1, 88.72283, -88.72283, 103.97208, 104, -133.1, -133.2,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32} {
		gate = append(gate, v)
	}
	up := make([]float32, len(gate))
	for i := range up {
		up[i] = 1
	}
	swiGLUBoth(t, gate, up, 0)
}

// TestSwiGLUAVX2Random checks random rows (lengths with and without a tail
// past the groups of sixteen) with dst aliasing either input or neither.
func TestSwiGLUAVX2Random(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for i := range 500 {
		n := r.IntN(200)
		gate, up := make([]float32, n), make([]float32, n)
		for j := range gate {
			gate[j] = float32(r.NormFloat64() * []float64{1, 4, 30, 100}[r.IntN(4)])
			up[j] = float32(r.NormFloat64() * 3)
			if r.IntN(50) == 0 {
				up[j] = float32(math.Inf(1 - 2*r.IntN(2)))
			}
		}
		swiGLUBoth(t, gate, up, i%3)
	}
}

func BenchmarkSwiGLU(b *testing.B) {
	const n = 1024
	r := rand.New(rand.NewPCG(11, 12))
	gate, up, dst := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range gate {
		gate[i], up[i] = float32(r.NormFloat64()*4), float32(r.NormFloat64())
	}
	for _, simd := range []bool{false, true} {
		b.Run(map[bool]string{false: "portable", true: "simd"}[simd], func(b *testing.B) {
			withSIMD(b, simd, func() {
				for b.Loop() {
					SwiGLU(dst, gate, up)
				}
			})
		})
	}
}
