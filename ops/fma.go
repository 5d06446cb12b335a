package ops

import "math"

// Float32 building blocks of llama.cpp's x86 kernels. The reference build
// (commit c392e509, GGML_NATIVE on an AMD EPYC) has AVX2, FMA, F16C and
// AVX-512 (F, DQ, VNNI...), so ggml compiles its AVX-512 paths where it has
// them (float dot products, tinyBLAS on float types, expf) and its AVX2
// paths elsewhere (the quantized dot products, tinyBLAS_Q0_AVX). The
// kernels in this package reproduce what that build computes bit for bit:
// where it keeps 8 or 16 float lanes in a register and adds them up at the
// end, so do they, lane by lane, and where it uses a fused multiply-add,
// they use fma32. The Go compiler may fuse a multiply and an add by itself
// (on arm64, and on amd64 with GOAMD64=v3), even across statements, so
// every product that ggml rounds before an addition is either wrapped in an
// explicit float32() conversion, which the language forbids fusing away, or
// exact (the product of two f16 values, of two float32 values in float64),
// where fusing changes nothing: the results are the same on every GOARCH.

// fma32 returns a*b+c rounded once to float32, as a hardware fused
// multiply-add (VFMADD231PS) does.
//
// Computing a*b+c in float64 and rounding the result to float32 would round
// twice, and be wrong whenever the float64 lands exactly halfway between two
// float32 values without a*b+c being there. fma32 avoids that with round to
// odd: the product of two float32 values is exact in float64, the sum is
// rounded once and its exact remainder recovered (TwoSum), an inexact sum
// with an even last bit is moved to its odd neighbour towards the exact
// value, and rounding that to float32 is correct (53 bits >= 24 + 2). The
// function stays small enough for the compiler to inline it.
func fma32(a, b, c float32) float32 {
	// The float64 product is exact, so p+c is rounded only once, to s, and
	// e is exactly what that rounding dropped (TwoSum).
	p := float64(a) * float64(b)
	s := p + float64(c)
	bb := s - p
	e := (p - (s - bb)) + (float64(c) - bb)
	// Round to odd instead: an inexact s with an even last bit moves one
	// step towards the exact value. Rounding that to float32 is then
	// correct (53 bits >= 24 + 2).
	bits := math.Float64bits(s)
	if e != 0 && bits&1 == 0 {
		if e*s > 0 { // same signs: away from zero (|e|, |s| >= 2^-298: no underflow)
			bits++
		} else {
			bits--
		}
	}
	return float32(math.Float64frombits(bits))
}

// hsum8 adds eight float lanes the way ggml's hsum_float_8 and tinyBLAS's
// hsum reduce an AVX register: the upper four lanes onto the lower four, then
// lanes 0+2 and 1+3, then those two sums:
//
//	((a0+a4) + (a2+a6)) + ((a1+a5) + (a3+a7))
func hsum8(a *[8]float32) float32 {
	t0, t1, t2, t3 := a[0]+a[4], a[1]+a[5], a[2]+a[6], a[3]+a[7]
	return (t0 + t2) + (t1 + t3)
}

// reduce16 adds sixteen float lanes as _mm512_reduce_add_ps does (GCC's
// and clang's alike): halves folded onto each other down to four lanes, then
// lanes 0+2 and 1+3, then those two sums:
//
//	t[i] = (a[i]+a[8+i]) + (a[4+i]+a[12+i])   for i < 4
//	(t0+t2) + (t1+t3)
func reduce16(a *[16]float32) float32 {
	var t [4]float32
	for i := range t {
		t[i] = (a[i] + a[8+i]) + (a[4+i] + a[12+i])
	}
	return (t[0] + t[2]) + (t[1] + t[3])
}

// reduce64 adds four 16-lane registers the way GGML_F32x16_REDUCE does (the
// end of ggml_vec_dot_f16 and ggml_vec_dot_f32 on AVX-512): registers 0+2
// and 1+3, then those two, then reduce16 of the result:
//
//	r[l] = (a[l]+a[32+l]) + (a[16+l]+a[48+l])   for l < 16
func reduce64(a *[64]float32) float32 {
	var r [16]float32
	for l := range r {
		r[l] = (a[l] + a[32+l]) + (a[16+l] + a[48+l])
	}
	return reduce16(&r)
}
