//go:build !purego

package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/infer-go/infer/quant"
)

// floatKernel is one float dot product the architecture replaces: its
// portable reference, the assembly version, and the element size in bytes.
type floatKernel struct {
	name           string
	size           int
	portable, simd func(int, []byte, []byte) float32
}

// simdFloatKernels returns the float kernels this architecture's assembly
// replaces (hasAssembly). It skips the test where there are none.
func simdFloatKernels(t *testing.T) []floatKernel {
	if !simdAvailable() {
		t.Skip("no assembly kernels on this CPU or build")
	}
	p := &portableVecDot
	var ks []floatKernel
	seen := kernelSet{}
	names, tables := simdTables()
	for li, simd := range tables {
		for _, k := range []floatKernel{
			{"F16", 2, p[quant.F16].VecDot, simd[quant.F16].VecDot},
			{"F16/batch", 2, p[quant.F16].VecDotBatch, simd[quant.F16].VecDotBatch},
			{"F32", 4, p[quant.F32].VecDot, simd[quant.F32].VecDot},
			{"F32/batch", 4, p[quant.F32].VecDotBatch, simd[quant.F32].VecDotBatch},
		} {
			if hasAssembly(k.portable, k.simd) && seen.add(k.simd) {
				k.name += "/" + names[li]
				ks = append(ks, k)
			}
		}
	}
	if len(ks) == 0 {
		t.Skip("no assembly float kernels on this architecture")
	}
	return ks
}

// floatGen draws one element's bits: a half for F16, a float for F32.
type floatGen struct {
	name     string
	f16, f32 func(*rand.Rand) uint32
}

func pick(r *rand.Rand, v []uint32) uint32 { return v[r.IntN(len(v))] }

// floatGens are the element distributions of the tests, all finite and
// small enough that no sum overflows to Inf: values of one scale, values
// of any exponent (subnormals included) whose sums round at every step,
// subnormals only, and a few extremes that cancel.
var floatGens = []floatGen{
	{"normal",
		func(r *rand.Rand) uint32 { return uint32(quant.F32ToF16(float32(r.NormFloat64()))) },
		func(r *rand.Rand) uint32 { return math.Float32bits(float32(r.NormFloat64())) }},
	{"any exponent",
		func(r *rand.Rand) uint32 { return uint32(randomF16(r)) },
		// Exponent fields 0 (subnormal) to 127+50: products below 2^100.
		func(r *rand.Rand) uint32 { return r.Uint32()&0x807fffff | uint32(r.IntN(178))<<23 }},
	{"subnormal",
		func(r *rand.Rand) uint32 { return r.Uint32() & 0x83ff },
		func(r *rand.Rand) uint32 { return r.Uint32() & 0x807fffff }},
	{"extremes",
		// ±65504, ±the smallest subnormal, ±0, ±1, 1+ulp.
		func(r *rand.Rand) uint32 {
			return pick(r, []uint32{0x7bff, 0xfbff, 0x0001, 0x8001, 0x0000, 0x8000, 0x3c00, 0xbc00, 0x3c01})
		},
		// ±(2^50 - ulp), ±the smallest subnormal and normal, ±0, ±1, 1+ulp.
		func(r *rand.Rand) uint32 {
			return pick(r, []uint32{0x58ffffff, 0xd8ffffff, 0x00000001, 0x80000001, 0x00800000, 0x80800000,
				0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x3f800001})
		}},
	{"negative zeros", func(*rand.Rand) uint32 { return 0x8000 }, func(*rand.Rand) uint32 { return 0x80000000 }},
}

// floatRow fills a row of n elements of size bytes from g.
func floatRow(r *rand.Rand, g floatGen, n, size int) []byte {
	b := make([]byte, n*size)
	for i := 0; i < n; i++ {
		if size == 2 {
			h := g.f16(r)
			b[2*i], b[2*i+1] = byte(h), byte(h>>8)
		} else {
			v := g.f32(r)
			b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		}
	}
	return b
}

// TestSIMDFloatKernelsMatchPortable checks that every float assembly kernel
// gives the portable kernel's bits on random rows of every length up to 300
// and a few longer ones: lengths that are not multiples of the 64 or 16
// lanes exercise the tails (the batch kernels ignore them, as the portable
// ones do).
func TestSIMDFloatKernelsMatchPortable(t *testing.T) {
	lengths := []int{511, 512, 513, 1000, 4096 + 17}
	for n := 0; n <= 300; n++ {
		lengths = append(lengths, n)
	}
	for ki, k := range simdFloatKernels(t) {
		for gi, g := range floatGens {
			rng := rand.New(rand.NewPCG(uint64(ki), uint64(gi)))
			for _, n := range lengths {
				for rep := 0; rep < 4; rep++ {
					x, y := floatRow(rng, g, n, k.size), floatRow(rng, g, n, k.size)
					want, got := k.portable(n, x, y), k.simd(n, x, y)
					if math.Float32bits(got) != math.Float32bits(want) {
						t.Fatalf("%s, %s, n=%d: assembly gives %g (%#08x), portable %g (%#08x)",
							k.name, g.name, n, got, math.Float32bits(got), want, math.Float32bits(want))
					}
				}
			}
		}
	}
}

// TestSIMDFloatKernelsEmptyAndShort checks the wrappers' edge cases: no
// element gives +0, like the portable kernels, and a row shorter than n
// says panics in both.
func TestSIMDFloatKernelsEmptyAndShort(t *testing.T) {
	for _, k := range simdFloatKernels(t) {
		if got := k.simd(0, nil, nil); math.Float32bits(got) != 0 {
			t.Errorf("%s, n=0: got %g, want +0", k.name, got)
		}
		for _, f := range []func(int, []byte, []byte) float32{k.portable, k.simd} {
			for _, short := range []int{0, 1} { // x or y one element short
				func() {
					defer func() {
						if recover() == nil {
							t.Errorf("%s: a row one element short did not panic", k.name)
						}
					}()
					// Fresh slices: a shorter view of a longer array could be
					// resliced past its length without a panic.
					x, y := make([]byte, 128*k.size), make([]byte, 128*k.size)
					if short == 0 {
						x = make([]byte, 127*k.size)
					} else {
						y = make([]byte, 127*k.size)
					}
					f(128, x, y)
				}()
			}
		}
	}
}

// TestSetSIMDFloat checks that MatMul gives the same bits with and without
// the assembly kernels on each float route that has one (one activation
// row: the 64-lane order with a tail; three: tinyBLAS's 16 lanes).
func TestSetSIMDFloat(t *testing.T) {
	was := SIMD()
	t.Cleanup(func() { SetSIMD(was) })
	if !simdAvailable() {
		t.Skip("no assembly kernels on this CPU or build")
	}
	simd := portableVecDot
	installSIMD(&simd)
	for _, typ := range []quant.Type{quant.F16, quant.F32} {
		for _, n := range []int{1, 3} {
			p, s := portableVecDot[typ].VecDot, simd[typ].VecDot
			if n > 1 {
				p, s = portableVecDot[typ].VecDotBatch, simd[typ].VecDotBatch
			}
			if !hasAssembly(p, s) {
				continue
			}
			const rows, cols = 12, 208
			rng := rand.New(rand.NewPCG(7, uint64(typ)))
			w := Matrix{Type: typ, Rows: rows, Cols: cols, Data: quantizeRows(t, typ, testData(rng, rows*cols), cols)}
			x := testData(rng, n*cols)
			outs := [2][]float32{}
			for i, on := range []bool{false, true} {
				SetSIMD(on)
				outs[i] = make([]float32, n*rows)
				MatMul(nil, outs[i], w, x, n)
			}
			for i := range outs[0] {
				if math.Float32bits(outs[0][i]) != math.Float32bits(outs[1][i]) {
					t.Fatalf("%s, %d rows: output %d: assembly %g, portable %g", typ, n, i, outs[1][i], outs[0][i])
				}
			}
		}
	}
}
