package ops

import (
	"fmt"

	"github.com/infer-go/infer/quant"
)

// Helpers for f16 vectors, such as a key/value cache stored as binary16.

// ConvertF32ToF16 rounds src to binary16 (nearest, ties to even) into dst,
// which has the same length.
func ConvertF32ToF16(dst []uint16, src []float32) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("ops: ConvertF32ToF16: lengths %d and %d differ", len(dst), len(src)))
	}
	for i, v := range src {
		dst[i] = quant.F32ToF16(v)
	}
}

// ConvertF16ToF32 widens src into dst, which has the same length.
func ConvertF16ToF32(dst []float32, src []uint16) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("ops: ConvertF16ToF32: lengths %d and %d differ", len(dst), len(src)))
	}
	for i, h := range src {
		dst[i] = quant.F16ToF32(h)
	}
}

// DotF16 is the dot product of two binary16 vectors of the same length,
// as ggml_vec_dot_f16: products rounded to float, summed in double.
func DotF16(a, b []uint16) float32 {
	if len(a) != len(b) {
		panic(fmt.Sprintf("ops: DotF16: lengths %d and %d differ", len(a), len(b)))
	}
	b = b[:len(a)]
	var s0, s1 float64
	i := 0
	for ; i+2 <= len(a); i += 2 {
		s0 += float64(float32(quant.F16ToF32(a[i]) * quant.F16ToF32(b[i])))
		s1 += float64(float32(quant.F16ToF32(a[i+1]) * quant.F16ToF32(b[i+1])))
	}
	if i < len(a) {
		s0 += float64(float32(quant.F16ToF32(a[i]) * quant.F16ToF32(b[i])))
	}
	return float32(s0 + s1)
}

// AxpyF16 adds alpha times the binary16 vector x to dst (same length):
// dst[i] += alpha*x[i], the product rounded to float before the addition.
func AxpyF16(dst []float32, alpha float32, x []uint16) {
	if len(dst) != len(x) {
		panic(fmt.Sprintf("ops: AxpyF16: lengths %d and %d differ", len(dst), len(x)))
	}
	x = x[:len(dst)]
	for i := range dst {
		dst[i] += float32(alpha * quant.F16ToF32(x[i]))
	}
}
