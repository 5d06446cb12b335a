//go:build amd64 && !purego

#include "textflag.h"

// AVX2+FMA+F16C Q5_0·Q8_0 dot product: dotQ4_0AVX2's loop (the macros of
// vecdot_amd64.s, repeated here since Go assembly headers would be shared
// with files this one does not own) with the fifth bit of each weight
// taken from qh. The weights q-16 are formed as llama.cpp's AVX2 does:
// nibble | (bit clear ? 0xF0 : 0), which is the int8 q-16 exactly.

// q5QhShuffle sends qh byte j/8 to byte j of each 128-bit lane: the low
// lane (elements 0..15) takes qh bytes 0 and 1, the high lane (16..31)
// bytes 2 and 3.
DATA q5QhShuffle<>+0(SB)/8, $0x0000000000000000
DATA q5QhShuffle<>+8(SB)/8, $0x0101010101010101
DATA q5QhShuffle<>+16(SB)/8, $0x0202020202020202
DATA q5QhShuffle<>+24(SB)/8, $0x0303030303030303
GLOBL q5QhShuffle<>(SB), RODATA|NOPTR, $32

// q5BitMask has every bit set but bit j%8 in byte j: OR-ed onto qh's
// byte, the result is all ones exactly when element j's bit is set.
DATA q5BitMask<>+0(SB)/8, $0x7fbfdfeff7fbfdfe
GLOBL q5BitMask<>(SB), RODATA|NOPTR, $8

#define Q5BLOCKSCALE \
	MOVWLZX (SI), AX        \
	MOVWLZX (DI), BX        \
	VMOVD   AX, X1          \
	VPINSRW $1, BX, X1, X1  \
	VCVTPH2PS X1, X1        \
	VMOVSHDUP X1, X2        \
	VMULSS  X2, X1, X1

// func dotQ5_0AVX2(x, y *byte, nb int) float32
TEXT ·dotQ5_0AVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ nb+16(FP), CX
	// Y7: 0x0f bytes; Y6: 0xf0 bytes; Y10: the shuffle; Y11: the bit
	// masks; Y12: all ones.
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X7
	VPBROADCASTD X7, Y7
	MOVL $0xf0f0f0f0, AX
	VMOVD AX, X6
	VPBROADCASTD X6, Y6
	VMOVDQU q5QhShuffle<>(SB), Y10
	VPBROADCASTQ q5BitMask<>(SB), Y11
	VPCMPEQB Y12, Y12, Y12
	VXORPS Y0, Y0, Y0

q5loop:
	Q5BLOCKSCALE
	VBROADCASTSS X1, Y1

	// Y8 byte j: 0xf0 where bit j of qh is clear, else 0.
	VPBROADCASTD 2(SI), Y8
	VPSHUFB  Y10, Y8, Y8
	VPOR     Y11, Y8, Y8
	VPCMPEQB Y12, Y8, Y8
	VPANDN   Y6, Y8, Y8
	VEXTRACTI128 $1, Y8, X9

	// X2: elements 0..15 (low nibbles), X3: 16..31 (high nibbles), as q-16.
	VMOVDQU   6(SI), X2
	VPSRLW    $4, X2, X3
	VPAND     X7, X2, X2
	VPAND     X7, X3, X3
	VPOR      X8, X2, X2
	VPOR      X9, X3, X3
	VPMOVSXBW X2, Y2
	VPMOVSXBW X3, Y3

	// Y2 lane l: the exact sum of the products of elements 4l..4l+3.
	VPMOVSXBW 2(DI), Y4
	VPMOVSXBW 18(DI), Y5
	VPMADDWD  Y4, Y2, Y2
	VPMADDWD  Y5, Y3, Y3
	VPHADDD   Y3, Y2, Y2
	VPERMQ    $0xD8, Y2, Y2

	VCVTDQ2PS   Y2, Y2
	VFMADD231PS Y1, Y2, Y0
	ADDQ $22, SI
	ADDQ $34, DI
	DECQ CX
	JNZ  q5loop

	// hsum8: ((a0+a4) + (a2+a6)) + ((a1+a5) + (a3+a7)).
	VEXTRACTF128 $1, Y0, X1
	VADDPS    X1, X0, X0
	VMOVHLPS  X0, X0, X1
	VADDPS    X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS    X1, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET
