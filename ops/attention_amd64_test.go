//go:build amd64 && !purego

package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/infer-go/infer/quant"
)

// withSIMD runs f with the assembly kernels on or off, restoring the
// previous setting; it skips the test when on is asked for and this CPU has
// no assembly kernels (the comparison would be portable against itself).
func withSIMD(t testing.TB, on bool, f func()) {
	t.Helper()
	was := SIMD()
	defer SetSIMD(was)
	if SetSIMD(on) != on {
		t.Skip("no AVX2/FMA/F16C: nothing to compare with the portable kernels")
	}
	f()
}

// randomHalf returns an f16 value: mostly ordinary magnitudes, sometimes a
// signed zero, a subnormal, the largest value, an infinity or a NaN when
// special is set.
func randomHalf(r *rand.Rand, special bool) uint16 {
	switch k := r.IntN(40); {
	case k == 0:
		return uint16(r.IntN(2)) << 15 // ±0
	case k == 1:
		return uint16(r.IntN(2))<<15 | uint16(1+r.IntN(0x3ff)) // subnormal
	case k == 2:
		return uint16(r.IntN(2))<<15 | 0x7bff // ±65504
	case special && k == 3:
		return uint16(r.IntN(2))<<15 | 0x7c00 // ±Inf
	case special && k == 4:
		return uint16(r.IntN(2))<<15 | 0x7c00 | uint16(1+r.IntN(0x3ff)) // NaN, quiet or signalling
	}
	return quant.F32ToF16(float32(r.NormFloat64() * 4))
}

// randomWeight returns an attention weight rounded to f16 as attendOne
// rounds them: mostly in [0, 1], often exactly zero (masked or underflowed),
// sometimes -0, negative, large, an infinity or a NaN when special is set.
func randomWeight(r *rand.Rand, special bool) float32 {
	switch k := r.IntN(20); {
	case k < 3:
		return 0
	case k == 3:
		return float32(math.Copysign(0, -1))
	case k == 4:
		return quant.F16ToF32(randomHalf(r, special))
	}
	return quant.F16ToF32(quant.F32ToF16(r.Float32()))
}

// sameFloat reports whether a and b are the same bits, or both NaN: which
// NaN comes out where two meet (or an infinity cancels) depends on the
// operand order a compiler picks, in Go as in ggml, so only NaN-ness is
// defined.
func sameFloat(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b
}

func sameBits(a, b []float32) int {
	for i := range a {
		if !sameFloat(a[i], b[i]) {
			return i
		}
	}
	return -1
}

// weightedSumCase is one random shape: nd outputs, nw weights padded to
// padded, rows with the given stride, exactly as long as the shape needs.
type weightedSumCase struct {
	nd, nw, stride, padded int
	o                      DotOrder
}

func randomWeightedSumCase(r *rand.Rand) weightedSumCase {
	var c weightedSumCase
	c.nd = []int{1, 5, 8, 9, 16, 24, 31, 32, 64, 72, 128}[r.IntN(11)]
	c.stride = c.nd + []int{0, 0, 3, 8, 64}[r.IntN(5)]
	c.o = DotOrder(r.IntN(2))
	c.nw = r.IntN(300)
	if r.IntN(8) == 0 {
		c.nw = []int{0, 1, 15, 16, 17, 63, 64, 65, 128}[r.IntN(9)]
	}
	// attendOne pads to a multiple of 32; any padding >= nw is allowed for
	// VecOrder, a multiple of 16 for BatchOrder.
	c.padded = (c.nw + 31) &^ 31
	switch {
	case r.IntN(3) == 0 && c.o == VecOrder:
		c.padded = c.nw + r.IntN(80)
	case r.IntN(3) == 0:
		c.padded += 16 * r.IntN(5)
	}
	return c
}

func (c weightedSumCase) rowLen() int {
	if c.nw == 0 {
		return c.nd
	}
	return (c.nw-1)*c.stride + c.nd
}

// TestWeightedSumF16AVX2 compares WeightedSumF16 with the assembly kernels
// on and off, bit for bit (NaN for NaN), infinities and NaNs included.
func TestWeightedSumF16AVX2(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		c := randomWeightedSumCase(r)
		special := i%3 == 0
		w := make([]float32, c.nw)
		for j := range w {
			w[j] = randomWeight(r, special)
		}
		rows := make([]uint16, c.rowLen())
		for j := range rows {
			rows[j] = randomHalf(r, special)
		}
		want, got := make([]float32, c.nd), make([]float32, c.nd)
		withSIMD(t, false, func() { WeightedSumF16(want, w, rows, c.stride, c.padded, c.o) })
		withSIMD(t, true, func() { WeightedSumF16(got, w, rows, c.stride, c.padded, c.o) })
		if d := sameBits(got, want); d >= 0 {
			t.Fatalf("case %d %+v: dst[%d] = %g (%#x), portable %g (%#x)", i, c, d,
				got[d], math.Float32bits(got[d]), want[d], math.Float32bits(want[d]))
		}
	}
}

// TestWeightedSumF32AVX2 is TestWeightedSumF16AVX2 for float rows, on
// finite values: fma32 emulates a hardware fused multiply-add exactly
// except for the payload of a NaN it produces.
func TestWeightedSumF32AVX2(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 3000 {
		c := randomWeightedSumCase(r)
		w := make([]float32, c.nw)
		for j := range w {
			w[j] = randomWeight(r, false)
			if r.IntN(4) == 0 {
				w[j] = float32(r.NormFloat64()) // not rounded to f16
			}
		}
		rows := make([]float32, c.rowLen())
		for j := range rows {
			switch r.IntN(30) {
			case 0:
				rows[j] = float32(math.Copysign(0, -1))
			case 1:
				rows[j] = math.Float32frombits(uint32(r.IntN(1 << 23))) // subnormal
			case 2:
				rows[j] = float32(r.NormFloat64() * 1e30)
			default:
				rows[j] = float32(r.NormFloat64())
			}
		}
		want, got := make([]float32, c.nd), make([]float32, c.nd)
		withSIMD(t, false, func() { WeightedSumF32(want, w, rows, c.stride, c.padded, c.o) })
		withSIMD(t, true, func() { WeightedSumF32(got, w, rows, c.stride, c.padded, c.o) })
		if d := sameBits(got, want); d >= 0 {
			t.Fatalf("case %d %+v: dst[%d] = %g (%#x), portable %g (%#x)", i, c, d,
				got[d], math.Float32bits(got[d]), want[d], math.Float32bits(want[d]))
		}
	}
}

// TestDotF16AVX2 compares DotF16 with the assembly kernels on and off.
func TestDotF16AVX2(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 2000 {
		o := DotOrder(r.IntN(2))
		n := r.IntN(400)
		if o == BatchOrder {
			n &^= 15
		}
		a, b := make([]uint16, n), make([]uint16, n)
		for j := range a {
			a[j], b[j] = randomHalf(r, i%3 == 0), randomHalf(r, i%3 == 0)
		}
		var want, got float32
		withSIMD(t, false, func() { want = DotF16(a, b, o) })
		withSIMD(t, true, func() { got = DotF16(a, b, o) })
		if !sameFloat(got, want) {
			t.Fatalf("case %d, n %d, order %d: %g (%#x), portable %g (%#x)", i, n, o,
				got, math.Float32bits(got), want, math.Float32bits(want))
		}
	}
}

func BenchmarkWeightedSumF16(b *testing.B) {
	const nd, nw, stride = 64, 256, 256
	r := rand.New(rand.NewPCG(7, 8))
	w, rows, dst := make([]float32, nw), make([]uint16, nw*stride), make([]float32, nd)
	for j := range w {
		w[j] = randomWeight(r, false)
	}
	for j := range rows {
		rows[j] = randomHalf(r, false)
	}
	for _, simd := range []bool{false, true} {
		name := map[bool]string{false: "portable", true: "simd"}[simd]
		b.Run(name, func(b *testing.B) {
			withSIMD(b, simd, func() {
				for b.Loop() {
					WeightedSumF16(dst, w, rows, stride, nw, VecOrder)
				}
			})
		})
	}
}
