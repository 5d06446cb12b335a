package ops

import (
	"encoding/binary"
	"math"

	"github.com/infer-go/infer/quant"
)

// Dot products of the float types. ggml's generic vec_dot_f32/f16/bf16 round
// each product to float and accumulate in double (ggml_float); these do the
// same with four double partial sums for instruction-level parallelism,
// which changes the result by far less than the final rounding to float32.
// The float32() around each product keeps it rounded: Go may otherwise fuse
// or widen a multiply feeding an add.

func vecDotF32(n int, x, y []byte) float32 {
	x, y = x[:4*n], y[:4*n]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+16 <= len(x); i += 16 {
		a := (*[16]byte)(x[i:])
		b := (*[16]byte)(y[i:])
		s0 += float64(float32(f32le(a[0:4]) * f32le(b[0:4])))
		s1 += float64(float32(f32le(a[4:8]) * f32le(b[4:8])))
		s2 += float64(float32(f32le(a[8:12]) * f32le(b[8:12])))
		s3 += float64(float32(f32le(a[12:16]) * f32le(b[12:16])))
	}
	for ; i < len(x); i += 4 {
		s0 += float64(float32(f32le(x[i:i+4]) * f32le(y[i:i+4])))
	}
	return float32((s0 + s1) + (s2 + s3))
}

func vecDotF16(n int, x, y []byte) float32 {
	x, y = x[:2*n], y[:2*n]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+8 <= len(x); i += 8 {
		a := (*[8]byte)(x[i:])
		b := (*[8]byte)(y[i:])
		s0 += float64(float32(f16(a[0], a[1]) * f16(b[0], b[1])))
		s1 += float64(float32(f16(a[2], a[3]) * f16(b[2], b[3])))
		s2 += float64(float32(f16(a[4], a[5]) * f16(b[4], b[5])))
		s3 += float64(float32(f16(a[6], a[7]) * f16(b[6], b[7])))
	}
	for ; i+2 <= len(x); i += 2 {
		s0 += float64(float32(f16(x[i], x[i+1]) * f16(y[i], y[i+1])))
	}
	return float32((s0 + s1) + (s2 + s3))
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
