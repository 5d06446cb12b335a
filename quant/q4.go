package quant

import (
	"encoding/binary"
	"math"
)

// Q4_0 and Q4_1: 32 elements a block, 4-bit codes. Codes are stored in
// nibbles: byte j holds element j in its low nibble and element j+16 in its
// high nibble.
//
//   Q4_0 (18 bytes): d f16 | qs [16]byte.          x = d * (code - 8)
//   Q4_1 (20 bytes): d f16 | m f16 | qs [16]byte.  x = d * code + m

const (
	qk4          = 32
	blockQ4_0Len = 18
	blockQ4_1Len = 20
)

// DequantizeQ4_0 expands Q4_0 blocks.
func DequantizeQ4_0(dst []float32, src []byte) {
	nb := len(dst) / qk4
	src = src[:nb*blockQ4_0Len]
	for i := range nb {
		b := src[i*blockQ4_0Len : (i+1)*blockQ4_0Len]
		y := dst[i*qk4 : (i+1)*qk4]
		d := F16ToF32(binary.LittleEndian.Uint16(b))
		qs := b[2:18]
		for j, q := range qs {
			y[j] = float32(int32(q&0x0f)-8) * d
			y[j+16] = float32(int32(q>>4)-8) * d
		}
	}
}

// QuantizeQ4_0 is ggml's quantize_row_q4_0_ref: the value of largest
// magnitude maps to code 0 (d = max / -8) so its sign carries the most range.
func QuantizeQ4_0(dst []byte, src []float32) {
	nb := len(src) / qk4
	dst = dst[:nb*blockQ4_0Len]
	for i := range nb {
		x := src[i*qk4 : (i+1)*qk4]
		b := dst[i*blockQ4_0Len : (i+1)*blockQ4_0Len]
		var amax, vmax float32
		for _, v := range x {
			if a := absf(v); amax < a {
				amax, vmax = a, v
			}
		}
		d := vmax / -8
		var id float32
		if d != 0 {
			id = 1 / d
		}
		binary.LittleEndian.PutUint16(b, F32ToF16(d))
		qs := b[2:18]
		for j := range qs {
			// The explicit float32 conversions keep the product rounded
			// before the add, as in C (no FMA on any GOARCH).
			xi0 := min(15, cInt8(float32(x[j]*id)+8.5))
			xi1 := min(15, cInt8(float32(x[j+16]*id)+8.5))
			qs[j] = uint8(xi0) | uint8(xi1)<<4
		}
	}
}

// DequantizeQ4_1 expands Q4_1 blocks.
func DequantizeQ4_1(dst []float32, src []byte) {
	nb := len(dst) / qk4
	src = src[:nb*blockQ4_1Len]
	for i := range nb {
		b := src[i*blockQ4_1Len : (i+1)*blockQ4_1Len]
		y := dst[i*qk4 : (i+1)*qk4]
		d := F16ToF32(binary.LittleEndian.Uint16(b))
		m := F16ToF32(binary.LittleEndian.Uint16(b[2:]))
		qs := b[4:20]
		for j, q := range qs {
			y[j] = float32(float32(q&0x0f)*d) + m
			y[j+16] = float32(float32(q>>4)*d) + m
		}
	}
}

// QuantizeQ4_1 is ggml's quantize_row_q4_1_ref: 16 levels spread evenly
// from the block's minimum to its maximum.
func QuantizeQ4_1(dst []byte, src []float32) {
	nb := len(src) / qk4
	dst = dst[:nb*blockQ4_1Len]
	for i := range nb {
		x := src[i*qk4 : (i+1)*qk4]
		b := dst[i*blockQ4_1Len : (i+1)*blockQ4_1Len]
		lo, hi := blockMinMax(x)
		d := (hi - lo) / 15
		var id float32
		if d != 0 {
			id = 1 / d
		}
		binary.LittleEndian.PutUint16(b, F32ToF16(d))
		binary.LittleEndian.PutUint16(b[2:], F32ToF16(lo))
		qs := b[4:20]
		for j := range qs {
			xi0 := min(15, cInt8(float32((x[j]-lo)*id)+0.5))
			xi1 := min(15, cInt8(float32((x[j+16]-lo)*id)+0.5))
			qs[j] = uint8(xi0) | uint8(xi1)<<4
		}
	}
}

// blockMinMax is the min/max scan of the Q4_1 and Q5_1 quantizers, starting
// from ±FLT_MAX and skipping NaNs exactly as ggml's comparisons do.
func blockMinMax(x []float32) (lo, hi float32) {
	lo, hi = math.MaxFloat32, -math.MaxFloat32
	for _, v := range x {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return lo, hi
}
