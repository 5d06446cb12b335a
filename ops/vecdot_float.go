package ops

import (
	"encoding/binary"
	"math"

	"github.com/infer-go/infer/quant"
)

// Dot products of the float types.
//
// F32 and F16 follow llama.cpp's reference build (AVX-512 + FMA), which takes
// two routes: one activation row goes through ggml_vec_dot_f32/f16
// (vecDotF32, vecDotF16: VecOrder) and two or more through llamafile's
// tinyBLAS (vecDotF32Batch, vecDotF16Batch: BatchOrder; MatMul picks them
// when tinyBLAS accepts the shape). The two orders give different last bits,
// so a batch row and the same row alone can differ, exactly as in llama.cpp.
//
// BF16 keeps ggml's generic order: each product rounded to float, summed in
// double (here with four partial sums, which changes the result by far less
// than the final rounding to float32).

// vecDotF32 is ggml_vec_dot_f32 on AVX-512: 64 float lanes (four registers
// of sixteen), lane i%64 accumulating element i with a fused multiply-add
// over each full run of 64, reduced by reduce64; a tail past the last full
// run is added in float, each product fused into the sum (GCC contracts
// ggml's sumf += x[i]*y[i]).
func vecDotF32(n int, x, y []byte) float32 {
	x, y = x[:4*n], y[:4*n]
	var acc [64]float32
	i := 0
	for ; i+256 <= len(x); i += 256 {
		a, b := (*[256]byte)(x[i:]), (*[256]byte)(y[i:])
		for l := range acc {
			acc[l] = fma32(f32le(a[4*l:]), f32le(b[4*l:]), acc[l])
		}
	}
	sum := reduce64(&acc)
	for ; i < len(x); i += 4 {
		sum = fma32(f32le(x[i:]), f32le(y[i:]), sum)
	}
	return sum
}

// vecDotF32Batch is tinyBLAS<16, __m512, __m512, float, float, float>
// (llamafile_sgemm on AVX-512): sixteen float lanes, lane i%16 accumulating
// element i with a fused multiply-add, added by reduce16. n must be a
// multiple of 16.
func vecDotF32Batch(n int, x, y []byte) float32 {
	x, y = x[:4*n], y[:4*n]
	var acc [16]float32
	for i := 0; i+64 <= len(x); i += 64 {
		a, b := (*[64]byte)(x[i:]), (*[64]byte)(y[i:])
		for l := range acc {
			acc[l] = fma32(f32le(a[4*l:]), f32le(b[4*l:]), acc[l])
		}
	}
	return reduce16(&acc)
}

// vecDotF16 is ggml_vec_dot_f16 on AVX-512: vecDotF32's 64 lanes and
// reduce64 on the widened values; a tail past the last full run of 64 is
// added in double (each product rounded to float), and the total rounded to
// float.
//
// The product of two f16 values has at most 22 significant bits and lies
// well inside float's range, so it is exact in float32: a fused
// multiply-add of f16 inputs is a float32 product followed by one rounded
// addition, and the F16 kernels need no fma32.
func vecDotF16(n int, x, y []byte) float32 {
	x, y = x[:2*n], y[:2*n]
	var acc [64]float32
	i := 0
	for ; i+128 <= len(x); i += 128 {
		a, b := (*[128]byte)(x[i:]), (*[128]byte)(y[i:])
		for l := range acc {
			acc[l] += float32(f16(a[2*l], a[2*l+1]) * f16(b[2*l], b[2*l+1])) // exact product: fused
		}
	}
	sum := float64(reduce64(&acc))
	for ; i+2 <= len(x); i += 2 {
		sum += float64(float32(f16(x[i], x[i+1]) * f16(y[i], y[i+1])))
	}
	return float32(sum)
}

// vecDotF16Batch is tinyBLAS<16, __m512, __m512, ggml_fp16_t, ggml_fp16_t>
// (llamafile_sgemm on AVX-512): vecDotF32Batch on the widened values. n must
// be a multiple of 16.
func vecDotF16Batch(n int, x, y []byte) float32 {
	x, y = x[:2*n], y[:2*n]
	var acc [16]float32
	for i := 0; i+32 <= len(x); i += 32 {
		a, b := (*[32]byte)(x[i:]), (*[32]byte)(y[i:])
		for l := range acc {
			acc[l] += float32(f16(a[2*l], a[2*l+1]) * f16(b[2*l], b[2*l+1])) // exact product: fused
		}
	}
	return reduce16(&acc)
}

func vecDotBF16(n int, x, y []byte) float32 {
	x, y = x[:2*n], y[:2*n]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+8 <= len(x); i += 8 {
		a := (*[8]byte)(x[i:])
		b := (*[8]byte)(y[i:])
		s0 += float64(float32(bf16(a[0], a[1]) * bf16(b[0], b[1])))
		s1 += float64(float32(bf16(a[2], a[3]) * bf16(b[2], b[3])))
		s2 += float64(float32(bf16(a[4], a[5]) * bf16(b[4], b[5])))
		s3 += float64(float32(bf16(a[6], a[7]) * bf16(b[6], b[7])))
	}
	for ; i+2 <= len(x); i += 2 {
		s0 += float64(float32(bf16(x[i], x[i+1]) * bf16(y[i], y[i+1])))
	}
	return float32((s0 + s1) + (s2 + s3))
}

// f32le reads a little-endian float32 from the first 4 bytes of b.
func f32le(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }

// f16 widens the little-endian binary16 value stored as the bytes lo, hi.
func f16(lo, hi byte) float32 { return quant.F16ToF32(uint16(lo) | uint16(hi)<<8) }

// bf16 widens the little-endian bfloat16 value stored as the bytes lo, hi.
func bf16(lo, hi byte) float32 { return math.Float32frombits(uint32(lo)<<16 | uint32(hi)<<24) }
