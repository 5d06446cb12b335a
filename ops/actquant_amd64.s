//go:build amd64 && !purego

#include "textflag.h"

// AVX2 versions of the activation quantizers (activation_quant.go and
// quant.QuantizeQ8K) and of the Q4_0 tile kernels' activation copy
// (prepQ4_0Repacked). Each computes exactly the portable code's floats:
// the same divisions, products and round-to-even conversions, and F16C's
// round-to-nearest-even half conversion, which is quant.F32ToF16's.

DATA absMask<>+0(SB)/4, $0x7fffffff
GLOBL absMask<>(SB), RODATA|NOPTR, $4
DATA f127<>+0(SB)/4, $127.0
GLOBL f127<>(SB), RODATA|NOPTR, $4
DATA fm127<>+0(SB)/4, $-127.0
GLOBL fm127<>(SB), RODATA|NOPTR, $4
DATA f1<>+0(SB)/4, $1.0
GLOBL f1<>(SB), RODATA|NOPTR, $4
DATA i127<>+0(SB)/4, $127
GLOBL i127<>(SB), RODATA|NOPTR, $4
DATA signBytes<>+0(SB)/4, $0x80808080
GLOBL signBytes<>(SB), RODATA|NOPTR, $4
// packOrder puts the dwords of VPACKSSWB's in-lane result back in element
// order.
DATA packOrder<>+0(SB)/4, $0
DATA packOrder<>+4(SB)/4, $4
DATA packOrder<>+8(SB)/4, $1
DATA packOrder<>+12(SB)/4, $5
DATA packOrder<>+16(SB)/4, $2
DATA packOrder<>+20(SB)/4, $6
DATA packOrder<>+24(SB)/4, $3
DATA packOrder<>+28(SB)/4, $7
GLOBL packOrder<>(SB), RODATA|NOPTR, $32

// HMAX8 sets X(r)'s lane 0 to the largest of Y(r)'s eight lanes (the
// order does not matter: max is exact), using t.
#define HMAX8(y, x, t, tx) \
	VEXTRACTF128 $1, y, tx \
	VMAXPS    tx, x, x     \
	VPERMILPS $0x4e, x, tx \
	VMAXPS    tx, x, x     \
	VMOVSHDUP x, tx        \
	VMAXPS    tx, x, x

// PACK32 converts the 32 floats in Y0..Y3, already scaled, to int32 with
// rounding to even (the MXCSR default) and packs them to 32 int8 in
// element order in Y0. Y15 holds packOrder.
#define PACK32 \
	VCVTPS2DQ Y0, Y0       \
	VCVTPS2DQ Y1, Y1       \
	VCVTPS2DQ Y2, Y2       \
	VCVTPS2DQ Y3, Y3       \
	VPACKSSDW Y1, Y0, Y0   \
	VPACKSSDW Y3, Y2, Y2   \
	VPACKSSWB Y2, Y0, Y0   \
	VPERMD    Y0, Y15, Y0

// func quantizeQ8_0AVX2(dst *byte, src *float32, nb int)
//
// quantizeActQ8_0 of nb blocks of 32 floats: d = amax/127 (f16),
// q = round-to-even(x · (127/amax)), 0 for an all-zero block.
TEXT ·quantizeQ8_0AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	VBROADCASTSS absMask<>(SB), Y14
	VMOVDQU      packOrder<>(SB), Y15
	VMOVSS       f127<>(SB), X13
	VXORPS       X12, X12, X12

q80loop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VANDPS  Y14, Y0, Y4
	VANDPS  Y14, Y1, Y5
	VANDPS  Y14, Y2, Y6
	VANDPS  Y14, Y3, Y7
	VMAXPS  Y5, Y4, Y4
	VMAXPS  Y7, Y6, Y6
	VMAXPS  Y6, Y4, Y4
	HMAX8(Y4, X4, Y5, X5)

	// d = amax/127, id = 127/amax (0 when amax is 0).
	VDIVSS    X13, X4, X5
	VDIVSS    X4, X13, X6
	VCMPSS    $4, X12, X4, X7 // amax != 0
	VANDPS    X7, X6, X6
	VCVTPS2PH $0, X5, X5
	VPEXTRW   $0, X5, AX
	MOVW      AX, (DI)

	VBROADCASTSS X6, Y6
	VMULPS  Y6, Y0, Y0
	VMULPS  Y6, Y1, Y1
	VMULPS  Y6, Y2, Y2
	VMULPS  Y6, Y3, Y3
	PACK32
	VMOVDQU Y0, 2(DI)

	ADDQ $128, SI
	ADDQ $34, DI
	DECQ CX
	JNZ  q80loop
	VZEROUPPER
	RET

// func quantizeQ8KAVX2(dst *byte, src *float32, nb int)
//
// quant.QuantizeQ8K of nb blocks of 256 floats: maxv, the first element of
// the largest magnitude; iscale = -127/maxv; q = min(127,
// round-to-even(iscale·x)); bsums of each 16; d = 1/iscale. An all-zero
// block is all zero.
TEXT ·quantizeQ8KAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	VBROADCASTSS absMask<>(SB), Y14
	VMOVDQU      packOrder<>(SB), Y15
	VPBROADCASTD i127<>(SB), Y13
	VPBROADCASTD signBytes<>(SB), Y12

q8kblock:
	// amax over the block.
	VXORPS Y8, Y8, Y8
	XORQ   AX, AX
q8kmax:
	VANDPS (SI)(AX*4), Y14, Y0
	VANDPS 32(SI)(AX*4), Y14, Y1
	VANDPS 64(SI)(AX*4), Y14, Y2
	VANDPS 96(SI)(AX*4), Y14, Y3
	VMAXPS Y1, Y0, Y0
	VMAXPS Y3, Y2, Y2
	VMAXPS Y2, Y0, Y0
	VMAXPS Y0, Y8, Y8
	ADDQ   $32, AX
	CMPQ   AX, $256
	JNE    q8kmax
	HMAX8(Y8, X8, Y9, X9)
	VXORPS  X9, X9, X9
	VUCOMISS X9, X8
	JEQ     q8kzero

	// maxv: the first element whose magnitude is amax.
	VBROADCASTSS X8, Y8
	XORQ AX, AX
q8kfind:
	VANDPS   (SI)(AX*4), Y14, Y0
	VCMPPS   $0, Y8, Y0, Y0
	VMOVMSKPS Y0, BX
	TESTL    BX, BX
	JNZ      q8kfound
	ADDQ     $8, AX
	JMP      q8kfind
q8kfound:
	BSFL  BX, BX
	ADDQ  BX, AX
	VMOVSS (SI)(AX*4), X9

	// iscale = -127/maxv; d = 1/iscale.
	VMOVSS  fm127<>(SB), X10
	VDIVSS  X9, X10, X10
	VMOVSS  f1<>(SB), X11
	VDIVSS  X10, X11, X11
	VMOVSS  X11, (DI)
	VBROADCASTSS X10, Y10

	XORQ AX, AX // element
	XORQ DX, DX // bsum byte offset
q8kquant:
	VMULPS  (SI)(AX*4), Y10, Y0
	VMULPS  32(SI)(AX*4), Y10, Y1
	VMULPS  64(SI)(AX*4), Y10, Y2
	VMULPS  96(SI)(AX*4), Y10, Y3
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	VPMINSD Y13, Y0, Y0
	VPMINSD Y13, Y1, Y1
	VPMINSD Y13, Y2, Y2
	VPMINSD Y13, Y3, Y3
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD    Y0, Y15, Y0
	VMOVDQU   Y0, 4(DI)(AX*1)

	// bsums of the two runs of 16: VPSADBW sums q+128 over each eight
	// bytes; each run's sum less 16·128.
	VPXOR     Y12, Y0, Y0
	VPXOR     Y1, Y1, Y1
	VPSADBW   Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPSHUFD   $0x4e, X0, X2
	VPADDQ    X2, X0, X0
	VPSHUFD   $0x4e, X1, X2
	VPADDQ    X2, X1, X1
	VMOVQ     X0, R8
	VMOVQ     X1, R9
	SUBQ      $2048, R8
	SUBQ      $2048, R9
	MOVW      R8, 260(DI)(DX*1)
	MOVW      R9, 262(DI)(DX*1)

	ADDQ $32, AX
	ADDQ $4, DX
	CMPQ AX, $256
	JNE  q8kquant
	JMP  q8knext

q8kzero:
	VXORPS  Y0, Y0, Y0
	XORQ    AX, AX
q8kclear:
	VMOVDQU Y0, (DI)(AX*1)
	ADDQ    $32, AX
	CMPQ    AX, $288
	JNE     q8kclear
	MOVL    $0, 288(DI)

q8knext:
	ADDQ $1024, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q8kblock
	VZEROUPPER
	RET

// func prepQ4_0RAVX2(dst, src *byte, nb int)
//
// prepQ4_0Repacked of nb Q8_0 blocks at src: per block its 32 quants, -8
// times their sum (int32), its scale as a float32.
TEXT ·prepQ4_0RAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	VPBROADCASTD signBytes<>(SB), Y12
	VPXOR        Y11, Y11, Y11

p4rloop:
	VMOVDQU 2(SI), Y0
	VMOVDQU Y0, (DI)
	VPXOR   Y12, Y0, Y0
	VPSADBW Y11, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDQ  X1, X0, X0
	VPSHUFD $0x4e, X0, X1
	VPADDQ  X1, X0, X0
	VMOVQ   X0, AX
	SUBQ    $4096, AX // 32·128
	IMULQ   $-8, AX
	MOVL    AX, 32(DI)
	MOVWLZX (SI), AX
	VMOVD   AX, X0
	VCVTPH2PS X0, X0
	VMOVSS  X0, 36(DI)

	ADDQ $34, SI
	ADDQ $40, DI
	DECQ CX
	JNZ  p4rloop
	VZEROUPPER
	RET
