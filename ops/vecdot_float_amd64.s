//go:build amd64 && !purego

#include "textflag.h"

// AVX2+FMA+F16C versions of the F16 and F32 dot products (see
// vecdot_float_amd64.go). The portable kernels' 64 lanes (ggml_vec_dot on
// AVX-512) live in eight YMM registers, Y0..Y7, register k holding lanes
// 8k..8k+7; their 16 lanes (tinyBLAS) in two, Y0 and Y1. Every lane gets the
// same fused multiply-adds in the same order as its portable lane, so the
// results are the same bits. The product of two f16 values is exact in
// float32, so for F16 the fused multiply-add is the portable code's exact
// product followed by one rounded addition.

// FHSUM8 adds the eight float lanes of Y0 into X0's lane 0 as hsum8 (and
// reduce16's last steps) do: ((a0+a4) + (a2+a6)) + ((a1+a5) + (a3+a7)).
#define FHSUM8 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS    X1, X0, X0    \
	VMOVHLPS  X0, X0, X1    \
	VADDPS    X1, X0, X0    \
	VMOVSHDUP X0, X1        \
	VADDSS    X1, X0, X0

// REDUCE16 adds the sixteen lanes in Y0 (lanes 0..7) and Y1 (8..15) into
// X0's lane 0 as reduce16 does: t[i] = (a[i]+a[8+i]) + (a[4+i]+a[12+i]),
// then (t0+t2) + (t1+t3).
#define REDUCE16 \
	VADDPS Y1, Y0, Y0 \
	FHSUM8

// REDUCE64 adds the 64 lanes in Y0..Y7 into X0's lane 0 as reduce64 does:
// r[l] = (a[l]+a[32+l]) + (a[16+l]+a[48+l]) for l < 16, in Y0 (r[0..7])
// and Y1 (r[8..15]), then REDUCE16.
#define REDUCE64 \
	VADDPS Y4, Y0, Y0 \
	VADDPS Y6, Y2, Y2 \
	VADDPS Y2, Y0, Y0 \
	VADDPS Y5, Y1, Y1 \
	VADDPS Y7, Y3, Y3 \
	VADDPS Y3, Y1, Y1 \
	REDUCE16

// F16FMA8 adds the products of the eight halves at off(SI) and off(DI) into
// the lanes of acc, using t1 and t2.
#define F16FMA8(off, acc, t1, t2) \
	VCVTPH2PS off(SI), t1 \
	VCVTPH2PS off(DI), t2 \
	VFMADD231PS t2, t1, acc

// F32FMA8 adds the products of the eight floats at off(SI) and off(DI) into
// the lanes of acc, using t.
#define F32FMA8(off, acc, t) \
	VMOVUPS off(SI), t \
	VFMADD231PS off(DI), t, acc

#define ZERO64 \
	VXORPS Y0, Y0, Y0 \
	VXORPS Y1, Y1, Y1 \
	VXORPS Y2, Y2, Y2 \
	VXORPS Y3, Y3, Y3 \
	VXORPS Y4, Y4, Y4 \
	VXORPS Y5, Y5, Y5 \
	VXORPS Y6, Y6, Y6 \
	VXORPS Y7, Y7, Y7

// func dotF16VecAVX2(x, y *byte, runs int) float32
TEXT ·dotF16VecAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ runs+16(FP), CX
	ZERO64

f16vloop:
	F16FMA8(0, Y0, Y8, Y9)
	F16FMA8(16, Y1, Y10, Y11)
	F16FMA8(32, Y2, Y12, Y13)
	F16FMA8(48, Y3, Y14, Y15)
	F16FMA8(64, Y4, Y8, Y9)
	F16FMA8(80, Y5, Y10, Y11)
	F16FMA8(96, Y6, Y12, Y13)
	F16FMA8(112, Y7, Y14, Y15)
	ADDQ $128, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  f16vloop

	REDUCE64
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotF16BatchAVX2(x, y *byte, runs int) float32
TEXT ·dotF16BatchAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ runs+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1

f16bloop:
	F16FMA8(0, Y0, Y8, Y9)
	F16FMA8(16, Y1, Y10, Y11)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  f16bloop

	REDUCE16
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotF32VecAVX2(x, y *byte, runs int) float32
TEXT ·dotF32VecAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ runs+16(FP), CX
	ZERO64

f32vloop:
	F32FMA8(0, Y0, Y8)
	F32FMA8(32, Y1, Y9)
	F32FMA8(64, Y2, Y10)
	F32FMA8(96, Y3, Y11)
	F32FMA8(128, Y4, Y12)
	F32FMA8(160, Y5, Y13)
	F32FMA8(192, Y6, Y14)
	F32FMA8(224, Y7, Y15)
	ADDQ $256, SI
	ADDQ $256, DI
	DECQ CX
	JNZ  f32vloop

	REDUCE64
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotF32BatchAVX2(x, y *byte, runs int) float32
TEXT ·dotF32BatchAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ runs+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1

f32bloop:
	F32FMA8(0, Y0, Y8)
	F32FMA8(32, Y1, Y9)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  f32bloop

	REDUCE16
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET
