package ops

import "math"

// vExpf is ggml_v_expf, the vectorised expf of llama.cpp's reference build
// in its AVX-512 form (adapted from ARM's optimized routines), lane by lane.
// Its results differ from a correctly rounded expf by up to about 1.5 ulp,
// and ggml uses it wherever it takes exponentials sixteen at a time
// (softmax, SiLU), so matching it bit for bit matters: a last-bit difference
// in an attention weight can flip a rounding of the next Q8 activation
// quantization.
//
// With n = round(x/ln2) and b = x - n·ln2 (in two fused steps), it evaluates
// a degree-5 polynomial j ≈ e^b by fused multiply-adds and scales it by 2^n
// in one rounding (_mm512_scalef_ps); |n| > 192 gives 0 or +Inf.
func vExpf(x float32) float32 {
	const (
		shift float32 = 0x1.8p23
		log2e float32 = 0x1.715476p+0
		ln2hi float32 = 0x1.62e4p-1
		ln2lo float32 = 0x1.7f7d1cp-20
		c0    float32 = 0x1.ffffecp-1
		c1    float32 = 0x1.fffdb6p-2
		c2    float32 = 0x1.555e66p-3
		c3    float32 = 0x1.573e2ep-5
		c4    float32 = 0x1.0e4020p-7
	)
	z := fma32(x, log2e, shift)
	n := z - shift
	b := fma32(-n, ln2lo, fma32(-n, ln2hi, x))
	if math.Abs(float64(n)) > 192 {
		if n <= 0 {
			return 0
		}
		return float32(math.Inf(1))
	}
	u := b * b
	j := fma32(fma32(fma32(c4, b, c3), u, fma32(c2, b, c1)), u, fma32(c0, b, 1))
	// scalef: j·2^n rounded once (exact unless the result is subnormal).
	return float32(math.Ldexp(float64(j), int(n)))
}

// expf is C's expf up to its last-bit rounding: exp in double, rounded.
// ggml uses libm's expf where it works one element at a time (the tails of
// rows whose length is not a multiple of 16).
func expf(x float32) float32 { return float32(math.Exp(float64(x))) }
