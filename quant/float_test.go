package quant_test

import (
	"math"
	"testing"

	"github.com/infer-go/infer/quant"
)

// f16Value computes a binary16 pattern's value from the IEEE definition,
// independently of the package's table.
func f16Value(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	mant := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(mant, -24)
	case 0x1f:
		if mant == 0 {
			return sign * math.Inf(1)
		}
		return math.NaN()
	}
	return sign * math.Ldexp(1024+mant, exp-25)
}

func TestF16ToF32Exhaustive(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		got := quant.F16ToF32(h)
		bits := math.Float32bits(got)
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			// NaN: sign and payload kept, made quiet.
			want := uint32(h&0x8000)<<16 | 0x7fc00000 | uint32(h&0x3ff)<<13
			if bits != want {
				t.Errorf("F16ToF32(%#04x) = %#08x, want quiet NaN %#08x", h, bits, want)
			}
			continue
		}
		want := f16Value(h)
		if float64(got) != want || math.Signbit(float64(got)) != (h&0x8000 != 0) {
			t.Errorf("F16ToF32(%#04x) = %g, want %g", h, got, want)
		}
	}
}

func TestF16RoundTripExhaustive(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		want := h
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			want = h&0x8000 | 0x7e00 // ggml's canonical NaN
		}
		if got := quant.F32ToF16(quant.F16ToF32(h)); got != want {
			t.Errorf("F32ToF16(F16ToF32(%#04x)) = %#04x, want %#04x", h, got, want)
		}
	}
}

// TestF32ToF16Ties checks every halfway point between adjacent binary16
// values (ties go to the even pattern) and the float32 values just either
// side of it (they go to the nearer one).
func TestF32ToF16Ties(t *testing.T) {
	for i := range 0x7c00 { // lower neighbour: +0 .. the largest finite half
		for _, sign := range []uint16{0, 0x8000} {
			lo, hi := uint16(i)|sign, uint16(i+1)|sign
			hiVal := f16Value(hi)
			if math.IsInf(hiVal, 0) {
				hiVal = math.Copysign(65536, hiVal) // where the next finite half would be
			}
			mid := float32((f16Value(lo) + hiVal) / 2) // exact: 12 significant bits
			even := lo
			if lo&1 == 1 {
				even = hi
			}
			if got := quant.F32ToF16(mid); got != even {
				t.Fatalf("F32ToF16(%g, halfway %#04x..%#04x) = %#04x, want %#04x", mid, lo, hi, got, even)
			}
			below := math.Nextafter32(mid, 0)
			above := math.Nextafter32(mid, float32(math.Copysign(math.Inf(1), float64(mid))))
			if got := quant.F32ToF16(below); got != lo {
				t.Fatalf("F32ToF16(%g, just inside halfway %#04x..%#04x) = %#04x, want %#04x", below, lo, hi, got, lo)
			}
			if got := quant.F32ToF16(above); got != hi {
				t.Fatalf("F32ToF16(%g, just beyond halfway %#04x..%#04x) = %#04x, want %#04x", above, lo, hi, got, hi)
			}
		}
	}
}

func TestF32ToF16Special(t *testing.T) {
	tests := []struct {
		name string
		in   uint32 // float32 bits
		want uint16
	}{
		{"+0", 0x00000000, 0x0000},
		{"-0", 0x80000000, 0x8000},
		{"1", math.Float32bits(1), 0x3c00},
		{"-2", math.Float32bits(-2), 0xc000},
		{"0.1", math.Float32bits(0.1), 0x2e66},
		{"1/3", math.Float32bits(1.0 / 3), 0x3555},
		{"65504 (max half)", math.Float32bits(65504), 0x7bff},
		{"65519.996", math.Float32bits(65519.996), 0x7bff},
		{"65520 rounds to Inf", math.Float32bits(65520), 0x7c00},
		{"-1e10 overflows", math.Float32bits(-1e10), 0xfc00},
		{"MaxFloat32", math.Float32bits(math.MaxFloat32), 0x7c00},
		{"+Inf", 0x7f800000, 0x7c00},
		{"-Inf", 0xff800000, 0xfc00},
		{"quiet NaN", 0x7fc00000, 0x7e00},
		{"negative NaN with payload", 0xffc12345, 0xfe00},
		{"signalling NaN", 0x7f800001, 0x7e00},
		{"2^-14 (smallest normal)", math.Float32bits(0x1p-14), 0x0400},
		{"2^-24 (smallest subnormal)", math.Float32bits(0x1p-24), 0x0001},
		{"2^-25 ties to 0", math.Float32bits(0x1p-25), 0x0000},
		{"just above 2^-25", math.Float32bits(0x1p-25) + 1, 0x0001},
		{"-3*2^-25 ties to even 2", math.Float32bits(-3 * 0x1p-25), 0x8002},
		{"largest subnormal rounds up to normal", math.Float32bits(0x1p-14 - 0x1p-26), 0x0400},
		{"float32 subnormal", 0x00000001, 0x0000},
	}
	for _, tc := range tests {
		if got := quant.F32ToF16(math.Float32frombits(tc.in)); got != tc.want {
			t.Errorf("%s: F32ToF16(%#08x) = %#04x, want %#04x", tc.name, tc.in, got, tc.want)
		}
	}
}

// ggmlFP32ToFP16 is ggml's portable ggml_compute_fp32_to_fp16 (the FP16
// library's float trick) written out in Go with each float32 step rounded,
// an independent oracle for F32ToF16.
func ggmlFP32ToFP16(f float32) uint16 {
	const scaleToInf, scaleToZero = 0x1p112, 0x1p-110
	base := float32(float32(absf32(f)*scaleToInf) * scaleToZero)
	w := math.Float32bits(f)
	shl1w := w + w
	sign := w & 0x80000000
	bias := shl1w & 0xff000000
	if bias < 0x71000000 {
		bias = 0x71000000
	}
	base = math.Float32frombits(bias>>1+0x07800000) + base
	bits := math.Float32bits(base)
	nonsign := (bits>>13)&0x7c00 + bits&0x0fff
	if shl1w > 0xff000000 {
		nonsign = 0x7e00
	}
	return uint16(sign>>16 | nonsign)
}

func absf32(f float32) float32 { return math.Float32frombits(math.Float32bits(f) &^ (1 << 31)) }

// TestF32ToF16MatchesGGML compares with ggml's algorithm on a stride through
// all 2^32 float32 bit patterns (every sign, exponent and NaN region).
func TestF32ToF16MatchesGGML(t *testing.T) {
	const stride = 1021 // prime, so low mantissa bits vary too
	bad := 0
	for b := uint64(0); b < 1<<32; b += stride {
		f := math.Float32frombits(uint32(b))
		if got, want := quant.F32ToF16(f), ggmlFP32ToFP16(f); got != want {
			if bad++; bad <= 5 {
				t.Errorf("F32ToF16(%#08x = %g) = %#04x, ggml %#04x", b, f, got, want)
			}
		}
	}
}

func TestBF16ToF32Exhaustive(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		if got := math.Float32bits(quant.BF16ToF32(h)); got != uint32(h)<<16 {
			t.Fatalf("BF16ToF32(%#04x) = %#08x, want %#08x", h, got, uint32(h)<<16)
		}
		want := h
		if h&0x7f80 == 0x7f80 && h&0x7f != 0 {
			want = h | 0x40 // NaNs come back quiet
		}
		if got := quant.F32ToBF16(quant.BF16ToF32(h)); got != want {
			t.Fatalf("F32ToBF16(BF16ToF32(%#04x)) = %#04x, want %#04x", h, got, want)
		}
	}
}

func TestF32ToBF16(t *testing.T) {
	tests := []struct {
		name string
		in   uint32
		want uint16
	}{
		{"1", 0x3f800000, 0x3f80},
		{"tie to even (down)", 0x3f808000, 0x3f80},
		{"tie to even (up)", 0x3f818000, 0x3f82},
		{"just above tie", 0x3f808001, 0x3f81},
		{"just below tie", 0x3f817fff, 0x3f81},
		{"negative tie", 0xbf808000, 0xbf80},
		{"max float32 overflows", 0x7f7fffff, 0x7f80},
		{"tie above max bf16 overflows", 0x7f7f8000, 0x7f80},
		{"max bf16", 0x7f7f0000, 0x7f7f},
		{"+Inf", 0x7f800000, 0x7f80},
		{"-Inf", 0xff800000, 0xff80},
		{"subnormal tie to 0", 0x00008000, 0x0000},
		{"subnormal tie to 2", 0x00018000, 0x0002},
		{"subnormal kept", 0x00050000, 0x0005},
		{"-0", 0x80000000, 0x8000},
		{"quiet NaN", 0x7fc00000, 0x7fc0},
		{"signalling NaN made quiet", 0x7f800001, 0x7fc0},
		{"NaN keeps sign and top payload", 0xff812345, 0xffc1},
	}
	for _, tc := range tests {
		if got := quant.F32ToBF16(math.Float32frombits(tc.in)); got != tc.want {
			t.Errorf("%s: F32ToBF16(%#08x) = %#04x, want %#04x", tc.name, tc.in, got, tc.want)
		}
	}
}

// TestF32ToBF16Nearest checks sampled finite float32s against the nearer of
// the two bfloat16 neighbours (ties to even), computed in float64.
func TestF32ToBF16Nearest(t *testing.T) {
	for b := uint64(0); b < 1<<32; b += 4093 {
		u := uint32(b)
		if u&0x7f800000 == 0x7f800000 {
			continue // Inf/NaN covered above
		}
		f := float64(math.Float32frombits(u))
		lo := uint16(u >> 16)
		hi := lo + 1
		dl := math.Abs(f - float64(math.Float32frombits(uint32(lo)<<16)))
		var dh float64
		if hi&0x7f80 == 0x7f80 {
			dh = math.Abs(math.Ldexp(1, 128)) - math.Abs(f) // Inf rounds like 2^128
		} else {
			dh = math.Abs(float64(math.Float32frombits(uint32(hi)<<16)) - f)
		}
		want := lo
		if dh < dl || dh == dl && lo&1 == 1 {
			want = hi
		}
		if got := quant.F32ToBF16(float32(f)); got != want {
			t.Fatalf("F32ToBF16(%#08x) = %#04x, want %#04x", u, got, want)
		}
	}
}

// TestFloatRows checks the F32, F16 and BF16 row functions against the
// scalar conversions and little-endian layout.
func TestFloatRows(t *testing.T) {
	src := []float32{0, -0.0, 1, -2.5, 65520, 1e-8, float32(math.Inf(-1)), float32(math.NaN()), 3.14159, -1e30}

	b32 := make([]byte, 4*len(src))
	quant.QuantizeF32(b32, src)
	back := make([]float32, len(src))
	quant.DequantizeF32(back, b32)
	for i, v := range src {
		if got := uint32(b32[4*i]) | uint32(b32[4*i+1])<<8 | uint32(b32[4*i+2])<<16 | uint32(b32[4*i+3])<<24; got != math.Float32bits(v) {
			t.Errorf("QuantizeF32[%d] = %#08x, want %#08x", i, got, math.Float32bits(v))
		}
		if math.Float32bits(back[i]) != math.Float32bits(v) {
			t.Errorf("DequantizeF32[%d] = %#08x, want %#08x", i, math.Float32bits(back[i]), math.Float32bits(v))
		}
	}

	for _, c := range []struct {
		name  string
		quant func([]byte, []float32)
		deq   func([]float32, []byte)
		to    func(float32) uint16
		from  func(uint16) float32
	}{
		{"F16", quant.QuantizeF16, quant.DequantizeF16, quant.F32ToF16, quant.F16ToF32},
		{"BF16", quant.QuantizeBF16, quant.DequantizeBF16, quant.F32ToBF16, quant.BF16ToF32},
	} {
		b := make([]byte, 2*len(src))
		c.quant(b, src)
		got := make([]float32, len(src))
		c.deq(got, b)
		for i, v := range src {
			h := uint16(b[2*i]) | uint16(b[2*i+1])<<8
			if h != c.to(v) {
				t.Errorf("Quantize%s[%d] = %#04x, want %#04x", c.name, i, h, c.to(v))
			}
			if math.Float32bits(got[i]) != math.Float32bits(c.from(h)) {
				t.Errorf("Dequantize%s[%d] = %g, want %g", c.name, i, got[i], c.from(h))
			}
		}
	}
}

func BenchmarkDequantizeF16(b *testing.B)  { benchDequantizeType(b, quant.F16) }
func BenchmarkQuantizeF16(b *testing.B)    { benchQuantizeType(b, quant.F16) }
func BenchmarkDequantizeBF16(b *testing.B) { benchDequantizeType(b, quant.BF16) }
func BenchmarkQuantizeBF16(b *testing.B)   { benchQuantizeType(b, quant.BF16) }
func BenchmarkDequantizeF32(b *testing.B)  { benchDequantizeType(b, quant.F32) }
