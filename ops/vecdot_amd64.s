//go:build amd64 && !purego

#include "textflag.h"

// AVX2+FMA+F16C versions of the Q8_0 and Q4_0 dot products. Each computes
// exactly the integers and float operations of its portable kernel (see
// vecdot_amd64.go): the int8 products are widened to int16 (VPMOVSXBW) and
// summed in pairs by VPMADDWD, so every integer is exact for all inputs,
// -128 included, where _mm256_maddubs_epi16's sign trick would not be.

// BLOCKSCALE sets X1's lane 0 to f16(x)*f16(y), the f16 scales at (SI) and
// (DI). The product of two halves is exact in float32.
#define BLOCKSCALE \
	MOVWLZX (SI), AX        \
	MOVWLZX (DI), BX        \
	VMOVD   AX, X1          \
	VPINSRW $1, BX, X1, X1  \
	VCVTPH2PS X1, X1        \
	VMOVSHDUP X1, X2        \
	VMULSS  X2, X1, X1

// HSUM8 adds the eight float lanes of Y0 into X0's lane 0 as hsum8 does:
// ((a0+a4) + (a2+a6)) + ((a1+a5) + (a3+a7)).
#define HSUM8 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS    X1, X0, X0    \
	VMOVHLPS  X0, X0, X1    \
	VADDPS    X1, X0, X0    \
	VMOVSHDUP X0, X1        \
	VADDSS    X1, X0, X0

// LANES4 turns the 16-bit weights in Y2 (elements 0..15) and Y3 (16..31)
// and the activation bytes at 2(DI) into Y2's eight int32 lanes, lane l the
// exact sum of the products of elements 4l..4l+3.
#define LANES4 \
	VPMOVSXBW 2(DI), Y4     \
	VPMOVSXBW 18(DI), Y5    \
	VPMADDWD  Y4, Y2, Y2    \
	VPMADDWD  Y5, Y3, Y3    \
	VPHADDD   Y3, Y2, Y2    \
	VPERMQ    $0xD8, Y2, Y2

// Q4WEIGHTS unpacks the Q4_0 block at SI into 16-bit weights q-8: Y2 holds
// elements 0..15 (low nibbles), Y3 elements 16..31 (high nibbles). X7 holds
// 0x0f bytes, X6 0x08 bytes.
#define Q4WEIGHTS \
	VMOVDQU   2(SI), X2     \
	VPSRLW    $4, X2, X3    \
	VPAND     X7, X2, X2    \
	VPAND     X7, X3, X3    \
	VPSUBB    X6, X2, X2    \
	VPSUBB    X6, X3, X3    \
	VPMOVSXBW X2, Y2        \
	VPMOVSXBW X3, Y3

#define Q4CONSTS \
	MOVL $0x0f0f0f0f, AX    \
	VMOVD AX, X7            \
	VPBROADCASTD X7, X7     \
	MOVL $0x08080808, AX    \
	VMOVD AX, X6            \
	VPBROADCASTD X6, X6

// func dotQ8_0AVX2(x, y *byte, nb int) float32
TEXT ·dotQ8_0AVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ nb+16(FP), CX
	VXORPS Y0, Y0, Y0

q8loop:
	BLOCKSCALE
	VBROADCASTSS X1, Y1
	VPMOVSXBW 2(SI), Y2
	VPMOVSXBW 18(SI), Y3
	LANES4
	VCVTDQ2PS   Y2, Y2
	VFMADD231PS Y1, Y2, Y0
	ADDQ $34, SI
	ADDQ $34, DI
	DECQ CX
	JNZ  q8loop

	HSUM8
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotQ4_0AVX2(x, y *byte, nb int) float32
TEXT ·dotQ4_0AVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ nb+16(FP), CX
	Q4CONSTS
	VXORPS Y0, Y0, Y0

q4loop:
	BLOCKSCALE
	VBROADCASTSS X1, Y1
	Q4WEIGHTS
	LANES4
	VCVTDQ2PS   Y2, Y2
	VFMADD231PS Y1, Y2, Y0
	ADDQ $18, SI
	ADDQ $34, DI
	DECQ CX
	JNZ  q4loop

	HSUM8
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotQ4_0RepackedAVX2(x, y *byte, nb int) float32
TEXT ·dotQ4_0RepackedAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ nb+16(FP), CX
	Q4CONSTS
	VXORPS X0, X0, X0

q4rloop:
	BLOCKSCALE
	Q4WEIGHTS
	VPMOVSXBW 2(DI), Y4
	VPMOVSXBW 18(DI), Y5
	VPMADDWD  Y4, Y2, Y2
	VPMADDWD  Y5, Y3, Y3
	VPADDD    Y3, Y2, Y2
	VEXTRACTI128 $1, Y2, X3
	VPADDD    X3, X2, X2
	VPSHUFD   $0x4e, X2, X3
	VPADDD    X3, X2, X2
	VPSHUFD   $0xb1, X2, X3
	VPADDD    X3, X2, X2
	VCVTDQ2PS X2, X2
	VFMADD231SS X1, X2, X0
	ADDQ $18, SI
	ADDQ $34, DI
	DECQ CX
	JNZ  q4rloop

	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET
