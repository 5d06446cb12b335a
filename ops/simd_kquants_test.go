//go:build !purego

package ops

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/infer-go/infer/quant"
)

// kquantKernels returns the K-quant kernels the architecture replaces, each
// with its portable reference; it skips the test where this CPU or build
// has no assembly kernels.
func kquantKernels(t *testing.T) []struct {
	typ            quant.Type
	blockSize      int   // bytes of one weight block
	f16At          []int // offsets of the block's f16 scales
	portable, simd func(int, []byte, []byte) float32
} {
	if !simdAvailable() {
		t.Skip("no assembly kernels on this CPU or build")
	}
	type kernel = struct {
		typ            quant.Type
		blockSize      int
		f16At          []int
		portable, simd func(int, []byte, []byte) float32
	}
	var ks []kernel
	seen := kernelSet{}
	p := &portableVecDot
	_, tables := simdTables()
	for _, simd := range tables {
		for _, k := range []kernel{
			{quant.Q4_K, 144, []int{0, 2}, p[quant.Q4_K].VecDot, simd[quant.Q4_K].VecDot},
			{quant.Q6_K, 210, []int{208}, p[quant.Q6_K].VecDot, simd[quant.Q6_K].VecDot},
		} {
			if !hasAssembly(k.portable, k.simd) {
				t.Skipf("%s has no assembly kernel on this architecture", k.typ)
			}
			if seen.add(k.simd) {
				ks = append(ks, k)
			}
		}
	}
	return ks
}

// TestSIMDKQuantsMatchPortable checks that the Q4_K and Q6_K assembly
// kernels give the portable kernels' bits on random rows of 1 to 24 blocks:
// any weight bytes (all scale and min bits), f16 scales from subnormal to
// 65504, activations including -128, and float32 activation scales of
// wildly different magnitudes, so the float lanes round.
func TestSIMDKQuantsMatchPortable(t *testing.T) {
	kernels := kquantKernels(t)
	randomByte := func(r *rand.Rand) byte { return byte(r.Uint32()) }
	extremes := []byte{0x80, 0x7f, 0x81, 0x00, 0xff, 0x01}
	extremeByte := func(r *rand.Rand) byte { return extremes[r.IntN(len(extremes))] }
	normalScale := func(r *rand.Rand) uint16 { return quant.F32ToF16(float32(r.NormFloat64() * 0.01)) }
	wideScale := func(r *rand.Rand) float32 { // 2^-40 .. 2^20, either sign
		return float32(math.Ldexp(r.Float64()+0.5, r.IntN(60)-40)) * float32(1-2*r.IntN(2))
	}
	cases := []struct {
		name   string
		wScale func(*rand.Rand) uint16
		wByte  func(*rand.Rand) byte
		y      q8KGen
		padded int // extra elements past the last whole block, which the kernels ignore
	}{
		{"random, normal scales", normalScale, randomByte, q8KGen{func(r *rand.Rand) float32 { return float32(r.Float64() * 0.02) }, randomByte, false}, 0},
		{"random, any finite scale", randomF16, randomByte, q8KGen{wideScale, randomByte, false}, 0},
		{"extreme bytes", randomF16, extremeByte, q8KGen{wideScale, extremeByte, false}, 0},
		{"all 0xff against -128", func(*rand.Rand) uint16 { return 0x7bff }, func(*rand.Rand) byte { return 0xff },
			q8KGen{func(*rand.Rand) float32 { return 1e20 }, func(*rand.Rand) byte { return 0x80 }, false}, 0},
		{"any int16 bsums", randomF16, randomByte, q8KGen{wideScale, randomByte, true}, 0},
		{"subnormal scales", func(r *rand.Rand) uint16 { return uint16(r.Uint32()) & 0x83ff }, randomByte,
			q8KGen{func(r *rand.Rand) float32 { return math.Float32frombits(r.Uint32() & 0x807fffff) }, randomByte, false}, 0},
		{"zero scales", func(r *rand.Rand) uint16 { return uint16(r.IntN(2)) << 15 }, randomByte, q8KGen{wideScale, randomByte, false}, 0},
		{"partial block ignored", normalScale, randomByte, q8KGen{wideScale, randomByte, false}, 255},
	}
	for _, k := range kernels {
		for ci, c := range cases {
			rng := rand.New(rand.NewPCG(uint64(ci), uint64(k.typ)))
			for nb := 1; nb <= 24; nb++ {
				for rep := 0; rep < 6; rep++ {
					x := make([]byte, nb*k.blockSize)
					y := make([]byte, nb*q8KSize)
					for b := 0; b < len(x); b += k.blockSize {
						for i := range k.blockSize {
							x[b+i] = c.wByte(rng)
						}
						for _, at := range k.f16At {
							binary.LittleEndian.PutUint16(x[b+at:], c.wScale(rng))
						}
					}
					c.y.fill(rng, y)
					n := nb*256 + c.padded
					want, got := k.portable(n, x, y), k.simd(n, x, y)
					if math.Float32bits(got) != math.Float32bits(want) {
						t.Fatalf("%s, %s, %d blocks: assembly gives %g (%#08x), portable %g (%#08x)",
							k.typ, c.name, nb, got, math.Float32bits(got), want, math.Float32bits(want))
					}
				}
			}
		}
	}
}

// TestSIMDKQuantsEmptyAndShort checks the wrappers' edge cases: no whole
// block gives +0, like the portable kernels, and a row shorter than n says
// panics in both.
func TestSIMDKQuantsEmptyAndShort(t *testing.T) {
	for _, k := range kquantKernels(t) {
		for _, n := range []int{0, 255} {
			if got := k.simd(n, nil, nil); math.Float32bits(got) != 0 {
				t.Errorf("%s, n=%d: got %g, want +0", k.typ, n, got)
			}
		}
		for _, short := range []struct{ x, y int }{{2*k.blockSize - 1, 2 * q8KSize}, {2 * k.blockSize, 2*q8KSize - 1}} {
			for _, f := range []func(int, []byte, []byte) float32{k.portable, k.simd} {
				func() {
					defer func() {
						if recover() == nil {
							t.Errorf("%s: a row one byte short (%d, %d bytes) did not panic", k.typ, short.x, short.y)
						}
					}()
					f(512, make([]byte, short.x), make([]byte, short.y))
				}()
			}
		}
	}
}

// TestSetSIMDKQuants checks that MatMul gives the same bits with assembly
// and portable kernels on Q4_K and Q6_K weights, one row and a batch.
func TestSetSIMDKQuants(t *testing.T) {
	kquantKernels(t) // skips where Q4_K and Q6_K have no assembly
	was := SIMD()
	t.Cleanup(func() { SetSIMD(was) })
	for _, c := range []struct {
		typ        quant.Type
		rows, cols int
		n          int
	}{
		{quant.Q4_K, 12, 512, 1},
		{quant.Q4_K, 12, 768, 3},
		{quant.Q6_K, 12, 512, 1},
		{quant.Q6_K, 12, 768, 3},
	} {
		rng := rand.New(rand.NewPCG(7, uint64(c.rows*c.cols)))
		w := Matrix{Type: c.typ, Rows: c.rows, Cols: c.cols, Data: quantizeRows(t, c.typ, testData(rng, c.rows*c.cols), c.cols)}
		x := testData(rng, c.n*c.cols)
		outs := [2][]float32{}
		for i, on := range []bool{false, true} {
			if SetSIMD(on) != on {
				t.Fatalf("SetSIMD(%v) did not take", on)
			}
			outs[i] = make([]float32, c.n*c.rows)
			MatMul(nil, outs[i], w, x, c.n)
		}
		for i := range outs[0] {
			if math.Float32bits(outs[0][i]) != math.Float32bits(outs[1][i]) {
				t.Fatalf("%s %dx%d, %d rows: output %d: assembly %g, portable %g", c.typ, c.rows, c.cols, c.n, i, outs[1][i], outs[0][i])
			}
		}
	}
}
