package ops

import "math"

// This file holds the element-wise functions that only some architectures
// need (gemma2's soft-capping), kept apart from the kernels every model uses.

// Tanh replaces each x[i] by tanhf(x[i]), as ggml's tanh op computes it on
// llama.cpp's reference build: one libm tanhf call per element (Tanhf).
func Tanh(x []float32) {
	for i, v := range x {
		x[i] = Tanhf(v)
	}
}

// SoftCap replaces each x[i] by tanh(x[i]/c)·c the way llama.cpp's graph
// spells it (gemma2's attention and final-logit soft-capping): a ggml_scale
// by the float 1/c, ggml_tanh, a ggml_scale by c, each rounded to float.
func SoftCap(x []float32, c float32) {
	inv := 1 / c
	for i, v := range x {
		x[i] = Tanhf(v*inv) * c
	}
}

// The explicit float32 conversions keep the compiler from fusing a product
// into a later addition (which Go may do on arm64, even across statements:
// only a conversion rounds), so every operation is rounded as C's float
// arithmetic without contraction rounds it.

// Tanhf is glibc's tanhf (sysdeps/ieee754/flt-32, the fdlibm algorithm, as
// statically linked into llama.cpp's reference build), reproduced in float
// arithmetic so that the results agree bit for bit rather than to an ulp:
// soft-capped attention scores feed a softmax and then F16 and Q8
// roundings, where one ulp can flip a rounding. It is not correctly
// rounded (errors up to about 2 ulp), and neither is the original.
func Tanhf(x float32) float32 {
	const (
		one  float32 = 1
		two  float32 = 2
		tiny float32 = 1e-30
	)
	jx := math.Float32bits(x)
	ix := jx & 0x7fffffff
	if ix >= 0x7f800000 { // Inf or NaN
		if jx>>31 == 0 {
			return one/x + one
		}
		return one/x - one
	}
	var z float32
	switch {
	case ix >= 0x41b00000: // |x| >= 22: ±1
		z = one - tiny
	case ix == 0:
		return x
	case ix < 0x24000000: // |x| < 2^-55
		return x * (one + x)
	case ix >= 0x3f800000: // |x| >= 1
		t := expm1f(two * abs32(x))
		z = one - two/(t+two)
	default:
		t := expm1f(-two * abs32(x))
		z = -t / (t + two)
	}
	if jx>>31 == 0 {
		return z
	}
	return -z
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

// expm1f is glibc's expm1f (fdlibm's s_expm1f.c) in float arithmetic, the
// part Tanhf needs: arguments are finite and |x| < 44.
func expm1f(x float32) float32 {
	const (
		one        float32 = 1
		huge       float32 = 1e30
		tiny       float32 = 1e-30
		oThreshold float32 = 8.8721679688e+01 // 0x42b17180
		ln2Hi      float32 = 6.9313812256e-01 // 0x3f317180
		ln2Lo      float32 = 9.0580006145e-06 // 0x3717f7d1
		invLn2     float32 = 1.4426950216e+00 // 0x3fb8aa3b
		// glibc keeps fdlibm's original five coefficients (FreeBSD's
		// s_expm1f.c has since moved to two, which rounds differently).
		q1 float32 = -3.3333335072e-02 // 0xbd088889
		q2 float32 = 1.5873016091e-03  // 0x3ad00d01
		q3 float32 = -7.9365076090e-05 // 0xb8a670cd
		q4 float32 = 4.0082177293e-06  // 0x36867e54
		q5 float32 = -2.0109921195e-07 // 0xb457edbb
	)
	hx := math.Float32bits(x)
	negative := hx>>31 != 0
	hx &= 0x7fffffff

	// Huge and non-finite arguments.
	if hx >= 0x4195b844 { // |x| >= 27·ln2
		if hx >= 0x42b17218 { // |x| >= 88.72...
			if hx > 0x7f800000 {
				return x + x // NaN
			}
			if hx == 0x7f800000 {
				if negative {
					return -1
				}
				return x
			}
			if x > oThreshold {
				return float32(math.Inf(1))
			}
		}
		if negative { // x < -27·ln2: -1 (inexact)
			return tiny - one
		}
	}

	// Argument reduction: x = k·ln2 + hi - lo, |hi - lo| <= 0.5·ln2.
	var hi, lo, c float32
	var k int32
	switch {
	case hx > 0x3eb17218: // |x| > 0.5·ln2
		if hx < 0x3F851592 { // and |x| < 1.5·ln2
			if !negative {
				hi, lo, k = x-ln2Hi, ln2Lo, 1
			} else {
				hi, lo, k = x+ln2Hi, -ln2Lo, -1
			}
		} else {
			half := float32(0.5)
			if negative {
				half = -0.5
			}
			k = int32(float32(invLn2*x) + half)
			t := float32(k)
			hi = x - float32(t*ln2Hi) // exact
			lo = float32(t * ln2Lo)
		}
		x = hi - lo
		c = (hi - x) - lo
	case hx < 0x33000000: // |x| < 2^-25: x itself
		t := huge + x
		return x - (t - (huge + x))
	default:
		k = 0
	}

	// x is now in the primary range.
	hfx := float32(float32(0.5) * x)
	hxs := float32(x * hfx)
	r1 := one + float32(hxs*(q1+float32(hxs*(q2+float32(hxs*(q3+float32(hxs*(q4+float32(hxs*q5)))))))))
	t := float32(3) - float32(r1*hfx)
	e := float32(hxs * ((r1 - t) / (float32(6) - float32(x*t))))
	if k == 0 {
		return x - (float32(x*e) - hxs) // c is 0
	}
	twopk := math.Float32frombits(uint32(0x7f+k) << 23) // 2^k
	e = float32(x*(e-c)) - c
	e -= hxs
	if k == -1 {
		return float32(0.5*(x-e)) - 0.5
	}
	if k == 1 {
		if x < float32(-0.25) {
			return -float32(2) * (e - (x + float32(0.5)))
		}
		return one + float32(2*(x-e))
	}
	if k <= -2 || k > 56 { // exp(x)-1 suffices
		y := one - (e - x)
		if k == 128 {
			y = float32(float32(y*2) * 0x1p127)
		} else {
			y = float32(y * twopk)
		}
		return y - one
	}
	var y float32
	if k < 23 {
		t := math.Float32frombits(0x3f800000 - (0x1000000 >> k)) // 1 - 2^-k
		y = t - (e - x)
		y = float32(y * twopk)
	} else {
		t := math.Float32frombits(uint32(0x7f-k) << 23) // 2^-k
		y = x - (e + t)
		y += one
		y = float32(y * twopk)
	}
	return y
}
