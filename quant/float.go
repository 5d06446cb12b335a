package quant

import (
	"encoding/binary"
	"math"
)

// Scalar conversions between float32 and the two 16-bit float formats, with
// ggml's rounding, and the row functions of the F32, F16 and BF16 types.
//
// Layouts (one element per block, little-endian):
//   F32:  4 bytes, IEEE binary32.
//   F16:  2 bytes, IEEE binary16 (1 sign, 5 exponent, 10 mantissa bits).
//   BF16: 2 bytes, the top half of a binary32 (1 sign, 8 exponent, 7 mantissa bits).

// f16Table maps every binary16 bit pattern to its float32 value, like ggml's
// ggml_table_f32_f16 (256 KB). Built once at init: it is on every hot path
// that reads F16 weights or block scales.
var f16Table [1 << 16]float32

func init() {
	for h := range f16Table {
		f16Table[h] = math.Float32frombits(f16ToF32Bits(uint16(h)))
	}
}

// f16ToF32Bits widens a binary16 value exactly. NaNs keep their sign and
// payload and come out quiet, which is what the x86 and arm conversion
// instructions (and ggml's software fallback) produce.
func f16ToF32Bits(h uint16) uint32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		if mant == 0 {
			return sign | 0x7f800000
		}
		return sign | 0x7fc00000 | mant<<13
	case exp != 0:
		return sign | (exp+(127-15))<<23 | mant<<13
	case mant == 0:
		return sign
	}
	// Subnormal binary16: mant * 2^-24, normalised for binary32.
	e := uint32(127 - 15 + 1)
	for mant&0x400 == 0 {
		mant <<= 1
		e--
	}
	return sign | e<<23 | (mant&0x3ff)<<13
}

// F16ToF32 returns the float32 value of the binary16 bit pattern h.
func F16ToF32(h uint16) float32 { return f16Table[h] }

// F32ToF16 rounds f to the nearest binary16 value, ties to even, overflowing
// to infinity, with subnormal results rounded correctly. A NaN becomes the
// canonical quiet NaN 0x7e00 with f's sign, as in ggml's portable
// ggml_compute_fp32_to_fp16.
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	abs := b & 0x7fffffff
	switch {
	case abs > 0x7f800000: // NaN
		return sign | 0x7e00
	case abs >= 0x477ff000: // >= 65520: halfway above the largest finite half, 65504, rounds up to Inf
		return sign | 0x7c00
	case abs >= 0x38800000: // >= 2^-14: a normal half
		m := abs - (127-15)<<23 // rebias the exponent
		// Round the 13 dropped bits to nearest, ties to even; a carry out of
		// the mantissa correctly bumps the exponent.
		m += 0xfff + (m>>13)&1
		return sign | uint16(m>>13)
	case abs <= 0x33000000: // <= 2^-25: half the smallest subnormal or less rounds to zero
		return sign
	}
	// A subnormal half: count units of 2^-24, rounding to nearest even. The
	// result may reach 0x400, the smallest normal, which is its correct encoding.
	e := abs >> 23 // 102..112
	mant := abs&0x7fffff | 0x800000
	shift := 126 - e // value = mant * 2^(e-150) = (mant >> shift) units of 2^-24
	q := mant >> shift
	rem := mant & (1<<shift - 1)
	half := uint32(1) << (shift - 1)
	if rem > half || rem == half && q&1 == 1 {
		q++
	}
	return sign | uint16(q)
}

// BF16ToF32 returns the float32 value of the bfloat16 bit pattern h (exact).
func BF16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// F32ToBF16 rounds f to bfloat16 the way ggml's ggml_compute_fp32_to_bf16
// does: to nearest, ties to even, subnormals kept; a NaN keeps its top 16
// bits with the quiet bit (0x40) forced on.
func F32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}

// DequantizeF32 decodes little-endian float32 values.
func DequantizeF32(dst []float32, src []byte) {
	src = src[:4*len(dst)]
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

// QuantizeF32 encodes float32 values little-endian, bits unchanged.
func QuantizeF32(dst []byte, src []float32) {
	dst = dst[:4*len(src)]
	for i, v := range src {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
}

// DequantizeF16 widens little-endian binary16 values.
func DequantizeF16(dst []float32, src []byte) {
	src = src[:2*len(dst)]
	for i := range dst {
		dst[i] = f16Table[binary.LittleEndian.Uint16(src[2*i:])]
	}
}

// QuantizeF16 rounds to binary16 (F32ToF16), stored little-endian.
func QuantizeF16(dst []byte, src []float32) {
	dst = dst[:2*len(src)]
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], F32ToF16(v))
	}
}

// DequantizeBF16 widens little-endian bfloat16 values.
func DequantizeBF16(dst []float32, src []byte) {
	src = src[:2*len(dst)]
	for i := range dst {
		dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
	}
}

// QuantizeBF16 rounds to bfloat16 (F32ToBF16), stored little-endian.
func QuantizeBF16(dst []byte, src []float32) {
	dst = dst[:2*len(src)]
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], F32ToBF16(v))
	}
}
