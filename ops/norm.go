package ops

import (
	"fmt"
	"math"
)

// RMSNorm sets dst[i] = x[i] / sqrt(mean(x²) + eps) * weight[i], as ggml's
// rms_norm followed by mul: the squares (rounded to float) are summed in
// double, the mean rounded to float, scale = 1/sqrtf(mean+eps), and the
// scaling and the weight applied as two float multiplications. weight may
// be nil (no multiplication); dst may be x.
func RMSNorm(dst, x, weight []float32, eps float32) {
	n := len(x)
	if len(dst) != n || weight != nil && len(weight) != n {
		panic(fmt.Sprintf("ops: RMSNorm: len(dst)=%d len(x)=%d len(weight)=%d", len(dst), n, len(weight)))
	}
	if n == 0 {
		return
	}
	var sum float64
	for _, v := range x {
		sum += float64(float32(v * v))
	}
	mean := float32(sum / float64(n))
	scale := 1 / sqrtf(mean+eps)
	if weight == nil {
		for i, v := range x {
			dst[i] = v * scale
		}
		return
	}
	weight = weight[:n]
	for i, v := range x {
		dst[i] = float32(v*scale) * weight[i]
	}
}

// LayerNorm sets dst = (x - mean(x)) / sqrt(var(x) + eps) * weight + bias, as
// ggml's norm followed by mul and add: the mean is a double sum rounded to
// float and divided in float, the variance a double sum of rounded squares of
// the centred values, scale = 1/sqrtf(var+eps). weight and bias may be nil;
// dst may be x.
func LayerNorm(dst, x, weight, bias []float32, eps float32) {
	n := len(x)
	if len(dst) != n || weight != nil && len(weight) != n || bias != nil && len(bias) != n {
		panic(fmt.Sprintf("ops: LayerNorm: len(dst)=%d len(x)=%d len(weight)=%d len(bias)=%d",
			len(dst), n, len(weight), len(bias)))
	}
	if n == 0 {
		return
	}
	var sum float64
	for _, v := range x {
		sum += float64(v)
	}
	mean := float32(sum) / float32(n)
	var sum2 float64
	for i, v := range x {
		c := v - mean
		dst[i] = c
		sum2 += float64(float32(c * c))
	}
	variance := float32(sum2 / float64(n))
	scale := 1 / sqrtf(variance+eps)
	for i := range dst {
		dst[i] *= scale
	}
	if weight != nil {
		Mul(dst, dst, weight)
	}
	if bias != nil {
		Add(dst, dst, bias)
	}
}

// sqrtf is C's sqrtf: the double square root of a float is exact enough
// that rounding it to float gives the correctly rounded result.
func sqrtf(x float32) float32 { return float32(math.Sqrt(float64(x))) }
