package quant

import "encoding/binary"

// Q8_0 and Q8_1: 32 elements a block, one int8 code each, in order.
//
//   Q8_0 (34 bytes): d f16 | qs [32]int8.           x = d * q
//   Q8_1 (36 bytes): d f16 | s f16 | qs [32]int8.   x = d * q; s = d * sum(q)
//
// Q8_1 is the activation format ggml pairs with Q4_1 and Q5_1 weights: s
// lets a dot product fold in those formats' per-block minimum cheaply.

const (
	qk8          = 32
	blockQ8_0Len = 34
	blockQ8_1Len = 36
)

// DequantizeQ8_0 expands Q8_0 blocks.
func DequantizeQ8_0(dst []float32, src []byte) {
	nb := len(dst) / qk8
	src = src[:nb*blockQ8_0Len]
	for i := range nb {
		b := src[i*blockQ8_0Len : (i+1)*blockQ8_0Len]
		y := dst[i*qk8 : (i+1)*qk8]
		d := F16ToF32(binary.LittleEndian.Uint16(b))
		for j, q := range b[2:34] {
			y[j] = float32(int8(q)) * d
		}
	}
}

// QuantizeQ8_0 is ggml's quantize_row_q8_0_ref: d = amax/127, q = round(x/d).
func QuantizeQ8_0(dst []byte, src []float32) {
	nb := len(src) / qk8
	dst = dst[:nb*blockQ8_0Len]
	for i := range nb {
		b := dst[i*blockQ8_0Len : (i+1)*blockQ8_0Len]
		d := quantizeQ8Block(b[2:34], src[i*qk8:(i+1)*qk8])
		binary.LittleEndian.PutUint16(b, F32ToF16(d))
	}
}

// DequantizeQ8_1 expands Q8_1 blocks (s is not needed: x = d * q).
func DequantizeQ8_1(dst []float32, src []byte) {
	nb := len(dst) / qk8
	src = src[:nb*blockQ8_1Len]
	for i := range nb {
		b := src[i*blockQ8_1Len : (i+1)*blockQ8_1Len]
		y := dst[i*qk8 : (i+1)*qk8]
		d := F16ToF32(binary.LittleEndian.Uint16(b))
		for j, q := range b[4:36] {
			y[j] = float32(int8(q)) * d
		}
	}
}

// QuantizeQ8_1 is ggml's quantize_row_q8_1_ref: the Q8_0 codes, plus
// s = d * sum(q) computed from the float (not the f16-rounded) d.
func QuantizeQ8_1(dst []byte, src []float32) {
	nb := len(src) / qk8
	dst = dst[:nb*blockQ8_1Len]
	for i := range nb {
		b := dst[i*blockQ8_1Len : (i+1)*blockQ8_1Len]
		qs := b[4:36]
		d := quantizeQ8Block(qs, src[i*qk8:(i+1)*qk8])
		var sum int32
		for _, q := range qs {
			sum += int32(int8(q))
		}
		binary.LittleEndian.PutUint16(b, F32ToF16(d))
		binary.LittleEndian.PutUint16(b[2:], F32ToF16(float32(sum)*d))
	}
}

// quantizeQ8Block writes the 32 int8 codes of x into qs and returns the
// unrounded scale d = amax/127.
func quantizeQ8Block(qs []byte, x []float32) float32 {
	var amax float32
	for _, v := range x {
		amax = cMaxAbs(amax, v)
	}
	d := amax / 127
	var id float32
	if d != 0 {
		id = 1 / d
	}
	qs = qs[:len(x)]
	for j, v := range x {
		qs[j] = uint8(cInt8(roundAway(v * id)))
	}
	return d
}
