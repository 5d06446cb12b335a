//go:build amd64 && !purego

#include "textflag.h"
#include "expf_amd64.h"

// func expSum16AVX2(x *float32, groups int, mx float32) float64
//
// Softmax's groups of sixteen (softmax.go): each x[i] of the first
// 16*groups becomes vExpf(x[i] - mx) (VEXPF8, bit for bit), and the result
// is the double sum, in order, of each group's reduce16:
// t[i] = (a[i]+a[8+i]) + (a[4+i]+a[12+i]), then (t0+t2) + (t1+t3).
TEXT ·expSum16AVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ groups+8(FP), CX
	VBROADCASTSS mx+16(FP), Y0
	VMOVUPS shift<>(SB), Y15
	VMOVUPS log2e<>(SB), Y14
	VXORPS  Y13, Y13, Y13
	XORQ    AX, AX // the double sum's bits

loop:
	VMOVUPS (SI), Y1
	VSUBPS  Y0, Y1, Y1
	VEXPF8
	VMOVUPS Y8, (SI)
	VMOVUPS 32(SI), Y1
	VSUBPS  Y0, Y1, Y1
	VEXPF8
	VMOVUPS Y8, 32(SI)

	// reduce16 of the sixteen: s = lo + hi, then hsum8's order on s.
	VADDPS    (SI), Y8, Y1
	VEXTRACTF128 $1, Y1, X2
	VADDPS    X2, X1, X1
	VMOVHLPS  X1, X1, X2
	VADDPS    X2, X1, X1
	VMOVSHDUP X1, X2
	VADDSS    X2, X1, X1
	VCVTSS2SD X1, X1, X1
	MOVQ      AX, X2
	VADDSD    X1, X2, X2
	MOVQ      X2, AX

	ADDQ $64, SI
	DECQ CX
	JNZ  loop
	VZEROUPPER
	MOVQ AX, ret+24(FP)
	RET
