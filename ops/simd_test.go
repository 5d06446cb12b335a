package ops

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/infer-go/infer/quant"
)

// simdKernels returns, for each kernel the architecture replaces, its
// portable reference and the assembly version. It skips the test where this
// CPU or build has no assembly kernels.
func simdKernels(t *testing.T) []struct {
	name           string
	blockSize      int // bytes of one weight block
	portable, simd func(int, []byte, []byte) float32
} {
	if !simdAvailable() {
		t.Skip("no assembly kernels on this CPU or build")
	}
	type kernel = struct {
		name           string
		blockSize      int
		portable, simd func(int, []byte, []byte) float32
	}
	var ks []kernel
	seen := kernelSet{}
	p := &portableVecDot
	names, tables := simdTables()
	for li, simd := range tables {
		for _, k := range []kernel{
			{"Q8_0", 34, p[quant.Q8_0].VecDot, simd[quant.Q8_0].VecDot},
			{"Q4_0", 18, p[quant.Q4_0].VecDot, simd[quant.Q4_0].VecDot},
			{"Q4_0/repacked", 18, p[quant.Q4_0].VecDotRepacked, simd[quant.Q4_0].VecDotRepacked},
			{"Q5_0", 22, p[quant.Q5_0].VecDot, simd[quant.Q5_0].VecDot},
		} {
			if seen.add(k.simd) {
				k.name += "/" + names[li]
				ks = append(ks, k)
			}
		}
	}
	return ks
}

// kernelSet holds the kernels a test has taken: a kernel a higher level
// keeps from a lower one is tested once.
type kernelSet map[uintptr]bool

// add reports whether f is new to s, and adds it.
func (s kernelSet) add(f func(int, []byte, []byte) float32) bool {
	ptr := reflect.ValueOf(f).Pointer()
	if s[ptr] {
		return false
	}
	s[ptr] = true
	return true
}

// randomF16 returns a random finite half (any exponent but the one of Inf
// and NaN, both signs): scales from subnormal to 65504, so the float
// accumulators see sums of wildly different magnitudes that round.
func randomF16(rng *rand.Rand) uint16 {
	for {
		h := uint16(rng.Uint32())
		if h&0x7c00 != 0x7c00 {
			return h
		}
	}
}

// TestSIMDKernelsMatchPortable checks that every assembly kernel gives the
// portable kernel's bits on random rows of 1 to 64 blocks.
func TestSIMDKernelsMatchPortable(t *testing.T) {
	kernels := simdKernels(t)
	extremes := []byte{0x80, 0x7f, 0x81, 0x00, 0xff, 0x01}
	type gen struct {
		scale func(*rand.Rand) uint16
		quant func(*rand.Rand) byte
	}
	randomByte := func(r *rand.Rand) byte { return byte(r.Uint32()) }
	normalScale := func(r *rand.Rand) uint16 { return quant.F32ToF16(float32(r.NormFloat64() * 0.01)) }
	cases := []struct {
		name   string
		x, y   gen
		padded int // extra elements past the last whole block, which the kernels ignore
	}{
		{"random bytes, normal scales", gen{normalScale, randomByte}, gen{normalScale, randomByte}, 0},
		{"random bytes, any finite scale", gen{randomF16, randomByte}, gen{randomF16, randomByte}, 0},
		{"-128/127/-1/0/1 only", gen{randomF16, func(r *rand.Rand) byte { return extremes[r.IntN(len(extremes))] }},
			gen{randomF16, func(r *rand.Rand) byte { return extremes[r.IntN(len(extremes))] }}, 0},
		{"all -128, largest scales", gen{func(*rand.Rand) uint16 { return 0x7bff }, func(*rand.Rand) byte { return 0x80 }},
			gen{func(*rand.Rand) uint16 { return 0xfbff }, func(*rand.Rand) byte { return 0x80 }}, 0},
		{"all 127 against -128", gen{randomF16, func(*rand.Rand) byte { return 0x7f }},
			gen{randomF16, func(*rand.Rand) byte { return 0x80 }}, 0},
		{"subnormal scales", gen{func(r *rand.Rand) uint16 { return uint16(r.Uint32()) & 0x83ff }, randomByte},
			gen{func(r *rand.Rand) uint16 { return uint16(r.Uint32()) & 0x83ff }, randomByte}, 0},
		{"zero scales", gen{func(r *rand.Rand) uint16 { return uint16(r.IntN(2)) << 15 }, randomByte}, gen{randomF16, randomByte}, 0},
		{"partial block ignored", gen{normalScale, randomByte}, gen{normalScale, randomByte}, 17},
	}
	for _, k := range kernels {
		for ci, c := range cases {
			rng := rand.New(rand.NewPCG(uint64(ci), uint64(k.blockSize)))
			for nb := 1; nb <= 64; nb++ {
				for rep := 0; rep < 8; rep++ {
					x := make([]byte, nb*k.blockSize)
					y := make([]byte, nb*34)
					fill := func(b []byte, size int, g gen) {
						for i := 0; i < len(b); i += size {
							h := g.scale(rng)
							b[i], b[i+1] = byte(h), byte(h>>8)
							for j := i + 2; j < i+size; j++ {
								b[j] = g.quant(rng)
							}
						}
					}
					fill(x, k.blockSize, c.x)
					fill(y, 34, c.y)
					n := nb*32 + c.padded
					want, got := k.portable(n, x, y), k.simd(n, x, y)
					if math.Float32bits(got) != math.Float32bits(want) {
						t.Fatalf("%s, %s, %d blocks: assembly gives %g (%#08x), portable %g (%#08x)",
							k.name, c.name, nb, got, math.Float32bits(got), want, math.Float32bits(want))
					}
				}
			}
		}
	}
}

// TestSIMDKernelsEmptyAndShort checks the edge cases of the wrappers: no
// whole block gives +0, like the portable kernels, and a row shorter than n
// says panics in both.
func TestSIMDKernelsEmptyAndShort(t *testing.T) {
	for _, k := range simdKernels(t) {
		for _, n := range []int{0, 31} {
			if got := k.simd(n, nil, nil); math.Float32bits(got) != 0 {
				t.Errorf("%s, n=%d: got %g, want +0", k.name, n, got)
			}
		}
		for _, f := range []func(int, []byte, []byte) float32{k.portable, k.simd} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("%s: a row one byte short did not panic", k.name)
					}
				}()
				f(64, make([]byte, 2*k.blockSize-1), make([]byte, 2*34))
			}()
		}
	}
}

// hasAssembly reports whether simd is another kernel than portable: func
// values cannot be compared, so it compares the code they point to. A test
// of assembly against portable skips what has no assembly here, rather than
// hold the portable kernel against itself.
func hasAssembly(portable, simd func(int, []byte, []byte) float32) bool {
	return reflect.ValueOf(portable).Pointer() != reflect.ValueOf(simd).Pointer()
}

// TestSetSIMD checks the switch between kernel sets, and that MatMul gives
// the same bits with either on every route the assembly kernels serve.
func TestSetSIMD(t *testing.T) {
	was := SIMD()
	t.Cleanup(func() { SetSIMD(was) })
	if SetSIMD(false) || SIMD() {
		t.Fatal("SetSIMD(false) left assembly kernels in use")
	}
	for i := range vecDotTable {
		for _, pair := range [][2]func(int, []byte, []byte) float32{
			{vecDotTable[i].VecDot, portableVecDot[i].VecDot},
			{vecDotTable[i].VecDotRepacked, portableVecDot[i].VecDotRepacked},
		} {
			if hasAssembly(pair[1], pair[0]) {
				t.Fatalf("type %d: SetSIMD(false) kept a non-portable kernel", i)
			}
		}
	}
	if got := SetSIMD(true); got != simdAvailable() {
		t.Fatalf("SetSIMD(true) = %v on a CPU where simdAvailable() = %v", got, simdAvailable())
	}
	if !simdAvailable() {
		t.Skip("no assembly kernels on this CPU or build")
	}
	if !hasAssembly(vecDotQ8_0Q8_0, lookupVecDot(quant.Q8_0).VecDot) {
		t.Fatal("SetSIMD(true) left the portable Q8_0 kernel in place")
	}
	for _, c := range []struct {
		typ        quant.Type
		rows, cols int
		n          int
	}{
		{quant.Q8_0, 12, 512, 1},
		{quant.Q8_0, 12, 512, 3},
		{quant.Q4_0, 16, 512, 1}, // repacked
		{quant.Q4_0, 16, 512, 3}, // repacked
		{quant.Q4_0, 12, 544, 2}, // vec_dot
		{quant.Q5_0, 12, 544, 2}, // vec_dot
		{quant.Q5_0, 7, 896, 3},  // vec_dot, Qwen2.5-0.5B row width
	} {
		rng := rand.New(rand.NewPCG(5, uint64(c.rows*c.cols)))
		w := Matrix{Type: c.typ, Rows: c.rows, Cols: c.cols, Data: quantizeRows(t, c.typ, testData(rng, c.rows*c.cols), c.cols)}
		x := testData(rng, c.n*c.cols)
		outs := [2][]float32{}
		for i, on := range []bool{false, true} {
			SetSIMD(on)
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
