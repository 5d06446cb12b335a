//go:build amd64 && !purego

#include "textflag.h"
#include "expf_amd64.h"

// AVX2+FMA version of SwiGLU's groups of sixteen (see swiglu_amd64.go):
// eight lanes at a time, each lane computing vExpf exactly as expf.go does
// (the same fused multiply-adds in the same order) and then
// (v / (1 + e)) * up with one rounding per operation.
//
// vExpf is the VEXPF8 macro of expf_amd64.h.

// func swiGLUAVX2(dst, gate, up *float32, n int)
// n is a positive multiple of 8.
TEXT ·swiGLUAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ gate+8(FP), SI
	MOVQ up+16(FP), DX
	MOVQ n+24(FP), CX
	VMOVUPS shift<>(SB), Y15
	VMOVUPS log2e<>(SB), Y14
	VXORPS  Y13, Y13, Y13

loop:
	VMOVUPS (SI), Y0                // v
	VSUBPS  Y0, Y13, Y1             // x = 0 - v
	VEXPF8
	VMOVUPS one<>(SB), Y9
	VADDPS  Y8, Y9, Y9              // 1 + e
	VDIVPS  Y9, Y0, Y0              // v / (1 + e)
	VMULPS  (DX), Y0, Y0            // times up
	VMOVUPS Y0, (DI)

	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  loop
	VZEROUPPER
	RET
