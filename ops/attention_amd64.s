//go:build amd64 && !purego

#include "textflag.h"

// AVX2+FMA+F16C versions of WeightedSumF16/F32's lane accumulation (see
// attention_amd64.go). One pass handles eight outputs (one YMM register of
// dims): the lanes live in memory at acc, lane l's eight dims at 32*l(acc),
// and position p updates lane p&(lanes-1) with one rounded addition (F16: of
// the exact product) or one fused multiply-add (F32), in increasing p, as the
// portable loop does. A weight equal to zero contributes +0 (its product is
// masked off), which leaves a lane unchanged: a lane starts at +0 and so is
// never -0, and x + +0 = x for every other x, NaN included.

// FOLD64ALL then FOLD16ALL fold the lanes at acc (R12) into dst (DI) as reduce64
// (lanes = 64; FOLD16ALL alone for reduce16, lanes = 16) does, dim by dim:
// reduce64: r[l] = (a[l]+a[32+l]) + (a[16+l]+a[48+l]) for l < 16, into a[l];
// reduce16: t[i] = (a[i]+a[8+i]) + (a[4+i]+a[12+i]) for i < 4, then
// (t0+t2) + (t1+t3).
#define FOLD64(l) \
	VMOVUPS (32*(l))(R12), Y0      \
	VADDPS  (32*(32+(l)))(R12), Y0, Y0 \
	VMOVUPS (32*(16+(l)))(R12), Y1 \
	VADDPS  (32*(48+(l)))(R12), Y1, Y1 \
	VADDPS  Y1, Y0, Y0             \
	VMOVUPS Y0, (32*(l))(R12)

#define FOLD16(i, t) \
	VMOVUPS (32*(i))(R12), t       \
	VADDPS  (32*(8+(i)))(R12), t, t \
	VMOVUPS (32*(4+(i)))(R12), Y5  \
	VADDPS  (32*(12+(i)))(R12), Y5, Y5 \
	VADDPS  Y5, t, t

#define FOLD64ALL \
	FOLD64(0)  \
	FOLD64(1)  \
	FOLD64(2)  \
	FOLD64(3)  \
	FOLD64(4)  \
	FOLD64(5)  \
	FOLD64(6)  \
	FOLD64(7)  \
	FOLD64(8)  \
	FOLD64(9)  \
	FOLD64(10) \
	FOLD64(11) \
	FOLD64(12) \
	FOLD64(13) \
	FOLD64(14) \
	FOLD64(15)

#define FOLD16ALL \
	FOLD16(0, Y0)     \
	FOLD16(1, Y1)     \
	FOLD16(2, Y2)     \
	FOLD16(3, Y3)     \
	VADDPS Y2, Y0, Y0 \
	VADDPS Y3, Y1, Y1 \
	VADDPS Y1, Y0, Y0 \
	VMOVUPS Y0, (DI)

// func weightedSumF16AVX2(dst, w *float32, nw int, rows *uint16, stride, nblk, lanes int, acc *float32)
TEXT ·weightedSumF16AVX2(SB), NOSPLIT, $0-64
	MOVQ dst+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ nw+16(FP), CX
	MOVQ rows+24(FP), R8
	MOVQ stride+32(FP), R9
	SHLQ $1, R9
	MOVQ nblk+40(FP), R10
	MOVQ lanes+48(FP), R11
	MOVQ acc+56(FP), R12
	LEAQ -1(R11), R13
	VXORPS Y15, Y15, Y15

f16block:
	MOVQ R11, AX
	MOVQ R12, BX
f16zero:
	VMOVUPS Y15, (BX)
	ADDQ    $32, BX
	DECQ    AX
	JNZ     f16zero

	XORQ AX, AX
	MOVQ R8, BX
	TESTQ CX, CX
	JZ   f16reduce
f16pos:
	MOVQ AX, DX
	ANDQ R13, DX
	SHLQ $5, DX
	ADDQ R12, DX
	VBROADCASTSS (SI)(AX*4), Y1
	VCMPPS    $4, Y15, Y1, Y2 // NEQ_UQ: all ones unless w[p] == 0
	VCVTPH2PS (BX), Y3
	VMULPS    Y1, Y3, Y3      // exact: an f16 value times an f16-rounded weight
	VANDPS    Y2, Y3, Y3
	VMOVUPS   (DX), Y4
	VADDPS    Y3, Y4, Y4
	VMOVUPS   Y4, (DX)
	ADDQ R9, BX
	INCQ AX
	CMPQ AX, CX
	JLT  f16pos

f16reduce:
	CMPQ R11, $16
	JEQ  f16fold16
	FOLD64ALL
f16fold16:
	FOLD16ALL
	ADDQ $32, DI
	ADDQ $16, R8
	DECQ R10
	JNZ  f16block
	VZEROUPPER
	RET

// func weightedSumF32AVX2(dst, w *float32, nw int, rows *float32, stride, nblk, lanes int, acc *float32)
TEXT ·weightedSumF32AVX2(SB), NOSPLIT, $0-64
	MOVQ dst+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ nw+16(FP), CX
	MOVQ rows+24(FP), R8
	MOVQ stride+32(FP), R9
	SHLQ $2, R9
	MOVQ nblk+40(FP), R10
	MOVQ lanes+48(FP), R11
	MOVQ acc+56(FP), R12
	LEAQ -1(R11), R13
	VXORPS Y15, Y15, Y15

f32block:
	MOVQ R11, AX
	MOVQ R12, BX
f32zero:
	VMOVUPS Y15, (BX)
	ADDQ    $32, BX
	DECQ    AX
	JNZ     f32zero

	XORQ AX, AX
	MOVQ R8, BX
	TESTQ CX, CX
	JZ   f32reduce
f32pos:
	MOVQ AX, DX
	ANDQ R13, DX
	SHLQ $5, DX
	ADDQ R12, DX
	VBROADCASTSS (SI)(AX*4), Y1
	VCMPPS      $4, Y15, Y1, Y2 // NEQ_UQ: all ones unless w[p] == 0
	VMOVUPS     (BX), Y3
	VANDPS      Y2, Y3, Y3      // a zero weight multiplies +0
	VMOVUPS     (DX), Y4
	VFMADD231PS Y1, Y3, Y4      // lane = fma(row, w[p], lane)
	VMOVUPS     Y4, (DX)
	ADDQ R9, BX
	INCQ AX
	CMPQ AX, CX
	JLT  f32pos

f32reduce:
	CMPQ R11, $16
	JEQ  f32fold16
	FOLD64ALL
f32fold16:
	FOLD16ALL
	ADDQ $32, DI
	ADDQ $32, R8
	DECQ R10
	JNZ  f32block
	VZEROUPPER
	RET
