package ops

import (
	"encoding/binary"
	"math"

	"github.com/infer-go/infer/quant"
)

// Activation quantizers: how llama.cpp's x86 build converts a float row
// before a product with quantized weights (the type's from_float). They are
// not ggml's reference quantizers (quant.QuantizeQ8_0 and friends, which
// write model files): the AVX versions scale by id = 127/amax instead of
// 1/d and round halves to even (_mm256_round_ps) instead of away from zero,
// so a value near a rounding boundary can land on the other side. Q8_K has
// no x86 version: ggml uses quantize_row_q8_K_ref (quant.QuantizeQ8K).

// quantizeActQ8_0 is quantize_row_q8_0's AVX path, used for the activations
// of Q4_0, Q5_0, Q8_0 and IQ4_NL weights (the Q4_0 repacked kernels quantize
// four rows at a time, the same way): per block of 32, d = amax/127 stored
// as f16 and q = round-half-even(x * (127/amax)).
func quantizeActQ8_0(dst []byte, src []float32) {
	nb := len(src) / 32
	dst = dst[:nb*34]
	for i := range nb {
		x := (*[32]float32)(src[32*i:])
		y := (*[34]byte)(dst[34*i:])
		d, id := q8Scales(x)
		binary.LittleEndian.PutUint16(y[0:], quant.F32ToF16(d))
		for j, v := range x {
			y[2+j] = byte(int8(roundEven(float32(v * id))))
		}
	}
}

// quantizeActQ8_1 is quantize_row_q8_1's AVX path, used for the activations
// of Q4_1 and Q5_1 weights: quantizeActQ8_0's d and qs, and
// s = f16(d * sum(qs)) with the float d (not its f16 rounding).
func quantizeActQ8_1(dst []byte, src []float32) {
	nb := len(src) / 32
	dst = dst[:nb*36]
	for i := range nb {
		x := (*[32]float32)(src[32*i:])
		y := (*[36]byte)(dst[36*i:])
		d, id := q8Scales(x)
		var sum int32
		for j, v := range x {
			q := roundEven(float32(v * id))
			y[4+j] = byte(int8(q))
			sum += q
		}
		binary.LittleEndian.PutUint16(y[0:], quant.F32ToF16(d))
		binary.LittleEndian.PutUint16(y[2:], quant.F32ToF16(d*float32(sum)))
	}
}

// q8Scales returns a block's scale d = amax/127 and the multiplier
// id = 127/amax (0 for an all-zero block), both in float as ggml computes
// them. Inputs are finite (activations of a model that has not diverged).
func q8Scales(x *[32]float32) (d, id float32) {
	var amax float32
	for _, v := range x {
		if a := math.Float32frombits(math.Float32bits(v) &^ (1 << 31)); a > amax {
			amax = a
		}
	}
	if amax == 0 {
		return 0, 0
	}
	return amax / 127, 127 / amax
}

// roundEven rounds v to the nearest integer, halves to even, like
// _mm256_round_ps(v, _MM_ROUND_NEAREST): adding 1.5·2^23 makes the float
// addition round v at the units (to even) and leaves the integer in the
// low mantissa bits, exactly for |v| < 2^22. The quantizers only pass
// values within a rounding step of ±127, already rounded to float.
func roundEven(v float32) int32 {
	return int32(math.Float32bits(v+12582912)&0x7fffff) - 0x400000
}
