package quant

import (
	"encoding/binary"
)

// Q5_0 and Q5_1: 32 elements a block, 5-bit codes. The low four bits are
// nibbles as in Q4 (byte j: element j low, element j+16 high); the fifth bit
// of element k is bit k of qh, a little-endian uint32.
//
//   Q5_0 (22 bytes): d f16 | qh [4]byte | qs [16]byte.          x = d * (code - 16)
//   Q5_1 (24 bytes): d f16 | m f16 | qh [4]byte | qs [16]byte.  x = d * code + m

const (
	qk5          = 32
	blockQ5_0Len = 22
	blockQ5_1Len = 24
)

// DequantizeQ5_0 expands Q5_0 blocks.
func DequantizeQ5_0(dst []float32, src []byte) {
	nb := len(dst) / qk5
	src = src[:nb*blockQ5_0Len]
	for i := range nb {
		b := src[i*blockQ5_0Len : (i+1)*blockQ5_0Len]
		y := dst[i*qk5 : (i+1)*qk5]
		d := F16ToF32(binary.LittleEndian.Uint16(b))
		qh := binary.LittleEndian.Uint32(b[2:])
		qs := b[6:22]
		for j, q := range qs {
			h0 := (qh >> j << 4) & 0x10
			h1 := (qh >> (j + 12)) & 0x10
			y[j] = float32(int32(uint32(q&0x0f)|h0)-16) * d
			y[j+16] = float32(int32(uint32(q>>4)|h1)-16) * d
		}
	}
}

// QuantizeQ5_0 is ggml's quantize_row_q5_0_ref (d = max / -16).
func QuantizeQ5_0(dst []byte, src []float32) {
	nb := len(src) / qk5
	dst = dst[:nb*blockQ5_0Len]
	for i := range nb {
		x := src[i*qk5 : (i+1)*qk5]
		b := dst[i*blockQ5_0Len : (i+1)*blockQ5_0Len]
		var amax, vmax float32
		for _, v := range x {
			if a := absf(v); amax < a {
				amax, vmax = a, v
			}
		}
		d := vmax / -16
		var id float32
		if d != 0 {
			id = 1 / d
		}
		binary.LittleEndian.PutUint16(b, F32ToF16(d))
		qs := b[6:22]
		var qh uint32
		for j := range qs {
			xi0 := uint8(min(31, cInt8(float32(x[j]*id)+16.5)))
			xi1 := uint8(min(31, cInt8(float32(x[j+16]*id)+16.5)))
			qs[j] = xi0&0x0f | xi1<<4
			qh |= uint32(xi0&0x10) >> 4 << j
			qh |= uint32(xi1&0x10) >> 4 << (j + 16)
		}
		binary.LittleEndian.PutUint32(b[2:], qh)
	}
}

// DequantizeQ5_1 expands Q5_1 blocks.
func DequantizeQ5_1(dst []float32, src []byte) {
	nb := len(dst) / qk5
	src = src[:nb*blockQ5_1Len]
	for i := range nb {
		b := src[i*blockQ5_1Len : (i+1)*blockQ5_1Len]
		y := dst[i*qk5 : (i+1)*qk5]
		d := F16ToF32(binary.LittleEndian.Uint16(b))
		m := F16ToF32(binary.LittleEndian.Uint16(b[2:]))
		qh := binary.LittleEndian.Uint32(b[4:])
		qs := b[8:24]
		for j, q := range qs {
			h0 := (qh >> j << 4) & 0x10
			h1 := (qh >> (j + 12)) & 0x10
			y[j] = float32(float32(uint32(q&0x0f)|h0)*d) + m
			y[j+16] = float32(float32(uint32(q>>4)|h1)*d) + m
		}
	}
}

// QuantizeQ5_1 is ggml's quantize_row_q5_1_ref: 32 levels from the block's
// minimum to its maximum. Unlike Q4_1, ggml does not clamp the code here.
func QuantizeQ5_1(dst []byte, src []float32) {
	nb := len(src) / qk5
	dst = dst[:nb*blockQ5_1Len]
	for i := range nb {
		x := src[i*qk5 : (i+1)*qk5]
		b := dst[i*blockQ5_1Len : (i+1)*blockQ5_1Len]
		lo, hi := blockMinMax(x)
		d := (hi - lo) / 31
		var id float32
		if d != 0 {
			id = 1 / d
		}
		binary.LittleEndian.PutUint16(b, F32ToF16(d))
		binary.LittleEndian.PutUint16(b[2:], F32ToF16(lo))
		qs := b[8:24]
		var qh uint32
		for j := range qs {
			xi0 := cUint8(float32((x[j]-lo)*id) + 0.5)
			xi1 := cUint8(float32((x[j+16]-lo)*id) + 0.5)
			qs[j] = xi0&0x0f | xi1<<4
			qh |= uint32(xi0&0x10) >> 4 << j
			qh |= uint32(xi1&0x10) >> 4 << (j + 16)
		}
		binary.LittleEndian.PutUint32(b[4:], qh)
	}
}
