//go:build arm64 && !purego

#include "textflag.h"

// ASIMD versions of the Q8_0 and Q4_0 dot products. Each computes exactly
// the integers and float operations of its portable kernel (see
// vecdot_arm64.go): the int8 products are widened to int16 by SMULL (exact,
// -128·-128 included) and summed in pairs by SADDLP, so every integer is
// exact for all inputs. Go's assembler has no mnemonic for most of these
// instructions, so they are encoded with WORD, the instruction in the
// comment beside it.

// BLOCKSCALE sets F0 to f16(x)*f16(y), the f16 scales at (R0) and (R1),
// and moves both pointers past them. The product of two halves is exact in
// float32.
#define BLOCKSCALE \
	MOVHU.P 2(R0), R4     \
	MOVHU.P 2(R1), R5     \
	FMOVS   R4, F0        \
	FMOVS   R5, F1        \
	WORD    $0x1ee24000   \ // fcvt s0, h0
	WORD    $0x1ee24021   \ // fcvt s1, h1
	WORD    $0x1e210800     // fmul s0, s0, s1

// PRODUCTS sets V5..V8 to the int16 products of the weights in V1 (elements
// 0..15) and V2 (16..31) with the activations in V3 and V4: V5 elements
// 0..7, V6 8..15, V7 16..23, V8 24..31.
#define PRODUCTS \
	WORD $0x0e23c025 \ // smull  v5.8h, v1.8b, v3.8b
	WORD $0x4e23c026 \ // smull2 v6.8h, v1.16b, v3.16b
	WORD $0x0e24c047 \ // smull  v7.8h, v2.8b, v4.8b
	WORD $0x4e24c048   // smull2 v8.8h, v2.16b, v4.16b

// LANES8 turns the products V5..V8 into V5's int32 lanes 0..3 and V7's
// lanes 4..7, lane l the exact sum of the products of elements 4l..4l+3,
// converts them to float and adds them into V20 (float lanes 0..3) and V21
// (4..7) with one fused multiply-add each by F0.
#define LANES8 \
	WORD $0x4e6028a5 \ // saddlp v5.4s, v5.8h
	WORD $0x4e6028c6 \ // saddlp v6.4s, v6.8h
	WORD $0x4e6028e7 \ // saddlp v7.4s, v7.8h
	WORD $0x4e602908 \ // saddlp v8.4s, v8.8h
	WORD $0x4ea6bca5 \ // addp   v5.4s, v5.4s, v6.4s
	WORD $0x4ea8bce7 \ // addp   v7.4s, v7.4s, v8.4s
	WORD $0x4e21d8a5 \ // scvtf  v5.4s, v5.4s
	WORD $0x4e21d8e7 \ // scvtf  v7.4s, v7.4s
	WORD $0x4f8010b4 \ // fmla   v20.4s, v5.4s, v0.s[0]
	WORD $0x4f8010f5   // fmla   v21.4s, v7.4s, v0.s[0]

// HSUM8 adds the float lanes a0..a3 of V20 and a4..a7 of V21 into F0 as
// hsum8 does: ((a0+a4) + (a2+a6)) + ((a1+a5) + (a3+a7)).
#define HSUM8 \
	WORD $0x4e35d694 \ // fadd  v20.4s, v20.4s, v21.4s
	WORD $0x6e144295 \ // ext   v21.16b, v20.16b, v20.16b, #8
	WORD $0x4e35d694 \ // fadd  v20.4s, v20.4s, v21.4s
	WORD $0x7e30da80   // faddp s0, v20.2s

// Q4WEIGHTS loads the Q4_0 quants at (R0), moving R0 past them, and
// unpacks them into the int8 weights q-8: V1 holds elements 0..15 (low
// nibbles), V2 elements 16..31 (high nibbles). V30 holds 0x0f bytes, V31
// 0x08 bytes.
#define Q4WEIGHTS \
	VLD1.P 16(R0), [V1.B16] \
	WORD $0x6f0c0422 \ // ushr v2.16b, v1.16b, #4
	WORD $0x4e3e1c21 \ // and  v1.16b, v1.16b, v30.16b
	WORD $0x6e3f8421 \ // sub  v1.16b, v1.16b, v31.16b
	WORD $0x6e3f8442   // sub  v2.16b, v2.16b, v31.16b

#define Q4CONSTS \
	WORD $0x4f00e5fe \ // movi v30.16b, #0x0f
	WORD $0x4f00e51f   // movi v31.16b, #0x08

#define ZEROACC \
	WORD $0x6f00e414 \ // movi v20.2d, #0
	WORD $0x6f00e415   // movi v21.2d, #0

// func dotQ8_0NEON(x, y *byte, nb int) float32
TEXT ·dotQ8_0NEON(SB), NOSPLIT, $0-28
	MOVD x+0(FP), R0
	MOVD y+8(FP), R1
	MOVD nb+16(FP), R2
	ZEROACC

q8loop:
	BLOCKSCALE
	VLD1.P 32(R0), [V1.B16, V2.B16]
	VLD1.P 32(R1), [V3.B16, V4.B16]
	PRODUCTS
	LANES8
	SUBS $1, R2, R2
	BNE  q8loop

	HSUM8
	FMOVS F0, ret+24(FP)
	RET

// func dotQ4_0NEON(x, y *byte, nb int) float32
TEXT ·dotQ4_0NEON(SB), NOSPLIT, $0-28
	MOVD x+0(FP), R0
	MOVD y+8(FP), R1
	MOVD nb+16(FP), R2
	Q4CONSTS
	ZEROACC

q4loop:
	BLOCKSCALE
	Q4WEIGHTS
	VLD1.P 32(R1), [V3.B16, V4.B16]
	PRODUCTS
	LANES8
	SUBS $1, R2, R2
	BNE  q4loop

	HSUM8
	FMOVS F0, ret+24(FP)
	RET

// func dotQ4_0RepackedNEON(x, y *byte, nb int) float32
TEXT ·dotQ4_0RepackedNEON(SB), NOSPLIT, $0-28
	MOVD x+0(FP), R0
	MOVD y+8(FP), R1
	MOVD nb+16(FP), R2
	Q4CONSTS
	ZEROACC

q4rloop:
	BLOCKSCALE
	Q4WEIGHTS
	VLD1.P 32(R1), [V3.B16, V4.B16]
	PRODUCTS
	WORD $0x4e6028a5 // saddlp v5.4s, v5.8h
	WORD $0x4e6068c5 // sadalp v5.4s, v6.8h
	WORD $0x4e6068e5 // sadalp v5.4s, v7.8h
	WORD $0x4e606905 // sadalp v5.4s, v8.8h
	WORD $0x4eb1b8a5 // addv   s5, v5.4s
	WORD $0x5e21d8a5 // scvtf  s5, s5
	WORD $0x1f0050b4 // fmadd  s20, s5, s0, s20
	SUBS $1, R2, R2
	BNE  q4rloop

	FMOVS F20, ret+24(FP)
	RET
