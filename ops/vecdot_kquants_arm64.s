//go:build arm64 && !purego

#include "textflag.h"

// ASIMD versions of the Q4_K and Q6_K dot products against Q8_K. Each
// computes exactly the integers and float operations of its portable kernel
// (see vecdot_kquants_arm64.go). The int8 products are widened to int16 by
// SMULL and summed in fours by ADDP while still int16: a Q4_K weight is at
// most 15 and a Q6_K weight minus 32 is in [-32, 31], so four products
// against int8 activations stay within 4·32·128 = 16384, exact. SMLAL by
// element then multiplies the four-element sums by the block's scales into
// exact int32 lanes. The WORDs are the instructions in the comments beside
// them (encoded with llvm-mc), as Go's assembler lacks these mnemonics.

// KHSUM8 adds the float lanes a0..a3 of V26 and a4..a7 of V27 into F0 as
// hsum8 does: ((a0+a4) + (a2+a6)) + ((a1+a5) + (a3+a7)).
#define KHSUM8 \
	WORD $0x4e3bd75a \ // fadd v26.4s, v26.4s, v27.4s
	WORD $0x6e1a435b \ // ext v27.16b, v26.16b, v26.16b, #8
	WORD $0x4e3bd75a \ // fadd v26.4s, v26.4s, v27.4s
	WORD $0x7e30db40 // faddp s0, v26.2s

// Q6KHALF adds to the int32 lanes in V24 (lanes 0..3) and V25 (4..7) one
// half (128 elements, four runs of 32) of a Q6_K block: its 64 ql bytes at
// (R0), 32 qh bytes at (R3), 8 scales at (R4) and 128 activations at (R1),
// all four pointers moved past them. Run r takes the low nibbles of
// ql[0..31] (r = 0), ql[32..63] (1), then their high nibbles (2, 3), with
// qh bits 2r, 2r+1 as bits 4, 5; lane l gets scale[2r]·Σ (q-32)·y over
// elements 4l..4l+3 for l < 4 and scale[2r+1]·Σ for l >= 4. V28 holds 0x0f
// bytes, V29 0x30, V30 0x20.
#define Q6KHALF \
	VLD1.P 64(R0), [V0.B16, V1.B16, V2.B16, V3.B16] \
	VLD1.P 32(R3), [V4.B16, V5.B16] \
	VLD1.P 8(R4), [V6.B8] \
	VLD1.P 64(R1), [V16.B16, V17.B16, V18.B16, V19.B16] \
	VLD1.P 64(R1), [V20.B16, V21.B16, V22.B16, V23.B16] \
	WORD $0x0f08a4c6 \ // sxtl v6.8h, v6.8b
	WORD $0x4e3c1c07 \ // and v7.16b, v0.16b, v28.16b
	WORD $0x4e3c1c28 \ // and v8.16b, v1.16b, v28.16b
	WORD $0x4f0c5489 \ // shl v9.16b, v4.16b, #4
	WORD $0x4f0c54aa \ // shl v10.16b, v5.16b, #4
	WORD $0x4e3d1d29 \ // and v9.16b, v9.16b, v29.16b
	WORD $0x4e3d1d4a \ // and v10.16b, v10.16b, v29.16b
	WORD $0x4ea91ce7 \ // orr v7.16b, v7.16b, v9.16b
	WORD $0x4eaa1d08 \ // orr v8.16b, v8.16b, v10.16b
	WORD $0x6e3e84e7 \ // sub v7.16b, v7.16b, v30.16b
	WORD $0x6e3e8508 \ // sub v8.16b, v8.16b, v30.16b
	WORD $0x0e30c0eb \ // smull v11.8h, v7.8b, v16.8b
	WORD $0x4e30c0ec \ // smull2 v12.8h, v7.16b, v16.16b
	WORD $0x0e31c10d \ // smull v13.8h, v8.8b, v17.8b
	WORD $0x4e31c10e \ // smull2 v14.8h, v8.16b, v17.16b
	WORD $0x4e6cbd6b \ // addp v11.8h, v11.8h, v12.8h
	WORD $0x4e6ebdad \ // addp v13.8h, v13.8h, v14.8h
	WORD $0x4e6dbd6b \ // addp v11.8h, v11.8h, v13.8h
	WORD $0x0f462178 \ // smlal v24.4s, v11.4h, v6.h[0]
	WORD $0x4f562179 \ // smlal2 v25.4s, v11.8h, v6.h[1]
	WORD $0x4e3c1c47 \ // and v7.16b, v2.16b, v28.16b
	WORD $0x4e3c1c68 \ // and v8.16b, v3.16b, v28.16b
	WORD $0x4f0a5489 \ // shl v9.16b, v4.16b, #2
	WORD $0x4f0a54aa \ // shl v10.16b, v5.16b, #2
	WORD $0x4e3d1d29 \ // and v9.16b, v9.16b, v29.16b
	WORD $0x4e3d1d4a \ // and v10.16b, v10.16b, v29.16b
	WORD $0x4ea91ce7 \ // orr v7.16b, v7.16b, v9.16b
	WORD $0x4eaa1d08 \ // orr v8.16b, v8.16b, v10.16b
	WORD $0x6e3e84e7 \ // sub v7.16b, v7.16b, v30.16b
	WORD $0x6e3e8508 \ // sub v8.16b, v8.16b, v30.16b
	WORD $0x0e32c0eb \ // smull v11.8h, v7.8b, v18.8b
	WORD $0x4e32c0ec \ // smull2 v12.8h, v7.16b, v18.16b
	WORD $0x0e33c10d \ // smull v13.8h, v8.8b, v19.8b
	WORD $0x4e33c10e \ // smull2 v14.8h, v8.16b, v19.16b
	WORD $0x4e6cbd6b \ // addp v11.8h, v11.8h, v12.8h
	WORD $0x4e6ebdad \ // addp v13.8h, v13.8h, v14.8h
	WORD $0x4e6dbd6b \ // addp v11.8h, v11.8h, v13.8h
	WORD $0x0f662178 \ // smlal v24.4s, v11.4h, v6.h[2]
	WORD $0x4f762179 \ // smlal2 v25.4s, v11.8h, v6.h[3]
	WORD $0x6f0c0407 \ // ushr v7.16b, v0.16b, #4
	WORD $0x6f0c0428 \ // ushr v8.16b, v1.16b, #4
	WORD $0x4e3d1c89 \ // and v9.16b, v4.16b, v29.16b
	WORD $0x4e3d1caa \ // and v10.16b, v5.16b, v29.16b
	WORD $0x4ea91ce7 \ // orr v7.16b, v7.16b, v9.16b
	WORD $0x4eaa1d08 \ // orr v8.16b, v8.16b, v10.16b
	WORD $0x6e3e84e7 \ // sub v7.16b, v7.16b, v30.16b
	WORD $0x6e3e8508 \ // sub v8.16b, v8.16b, v30.16b
	WORD $0x0e34c0eb \ // smull v11.8h, v7.8b, v20.8b
	WORD $0x4e34c0ec \ // smull2 v12.8h, v7.16b, v20.16b
	WORD $0x0e35c10d \ // smull v13.8h, v8.8b, v21.8b
	WORD $0x4e35c10e \ // smull2 v14.8h, v8.16b, v21.16b
	WORD $0x4e6cbd6b \ // addp v11.8h, v11.8h, v12.8h
	WORD $0x4e6ebdad \ // addp v13.8h, v13.8h, v14.8h
	WORD $0x4e6dbd6b \ // addp v11.8h, v11.8h, v13.8h
	WORD $0x0f462978 \ // smlal v24.4s, v11.4h, v6.h[4]
	WORD $0x4f562979 \ // smlal2 v25.4s, v11.8h, v6.h[5]
	WORD $0x6f0c0447 \ // ushr v7.16b, v2.16b, #4
	WORD $0x6f0c0468 \ // ushr v8.16b, v3.16b, #4
	WORD $0x6f0e0489 \ // ushr v9.16b, v4.16b, #2
	WORD $0x6f0e04aa \ // ushr v10.16b, v5.16b, #2
	WORD $0x4e3d1d29 \ // and v9.16b, v9.16b, v29.16b
	WORD $0x4e3d1d4a \ // and v10.16b, v10.16b, v29.16b
	WORD $0x4ea91ce7 \ // orr v7.16b, v7.16b, v9.16b
	WORD $0x4eaa1d08 \ // orr v8.16b, v8.16b, v10.16b
	WORD $0x6e3e84e7 \ // sub v7.16b, v7.16b, v30.16b
	WORD $0x6e3e8508 \ // sub v8.16b, v8.16b, v30.16b
	WORD $0x0e36c0eb \ // smull v11.8h, v7.8b, v22.8b
	WORD $0x4e36c0ec \ // smull2 v12.8h, v7.16b, v22.16b
	WORD $0x0e37c10d \ // smull v13.8h, v8.8b, v23.8b
	WORD $0x4e37c10e \ // smull2 v14.8h, v8.16b, v23.16b
	WORD $0x4e6cbd6b \ // addp v11.8h, v11.8h, v12.8h
	WORD $0x4e6ebdad \ // addp v13.8h, v13.8h, v14.8h
	WORD $0x4e6dbd6b \ // addp v11.8h, v11.8h, v13.8h
	WORD $0x0f662978 \ // smlal v24.4s, v11.4h, v6.h[6]
	WORD $0x4f762979 // smlal2 v25.4s, v11.8h, v6.h[7]

// func dotQ6KNEON(x, y *byte, nb int) float32
TEXT ·dotQ6KNEON(SB), NOSPLIT, $0-28
	MOVD x+0(FP), R0
	MOVD y+8(FP), R1
	MOVD nb+16(FP), R2
	WORD $0x4f00e5fc // movi v28.16b, #0x0f
	WORD $0x4f01e61d // movi v29.16b, #0x30
	WORD $0x4f01e41e // movi v30.16b, #0x20
	WORD $0x6f00e41a // movi v26.2d, #0
	WORD $0x6f00e41b // movi v27.2d, #0

q6kloop:
	MOVHU 208(R0), R5 // d_w
	ADD   $128, R0, R3 // qh
	ADD   $192, R0, R4 // scales
	FMOVS.P 4(R1), F31 // d_y
	WORD $0x6f00e418 // movi v24.2d, #0
	WORD $0x6f00e419 // movi v25.2d, #0
	Q6KHALF
	Q6KHALF
	// acc = fma(d_y·d_w, float(lane), acc)
	FMOVS R5, F15
	WORD $0x1ee241ef // fcvt s15, h15
	WORD $0x1e2f0bef // fmul s15, s31, s15
	WORD $0x4e21db18 // scvtf v24.4s, v24.4s
	WORD $0x4e21db39 // scvtf v25.4s, v25.4s
	WORD $0x4f8f131a // fmla v26.4s, v24.4s, v15.s[0]
	WORD $0x4f8f133b // fmla v27.4s, v25.4s, v15.s[0]
	ADD  $82, R0      // from qh to the next block
	ADD  $32, R1      // past the bsums
	SUBS $1, R2, R2
	BNE  q6kloop

	KHSUM8
	FMOVS F0, ret+24(FP)
	RET

// Q4KGROUP adds to the int32 lanes in V24 (lanes 0..3) and V25 (4..7) one
// 64-element group of a Q4_K block: its 32 quant bytes at (R0) and 64
// activations at (R1), both pointers moved past them. Lane l gets
// scale·Σ q·y over the low-nibble elements 4l..4l+3 plus scale'·Σ over the
// high-nibble elements 32+4l..32+4l+3, scale and scale' the int16 words 0
// and 1 of V6, which is then rotated to the next pair. V28 holds 0x0f bytes.
#define Q4KGROUP \
	VLD1.P 32(R0), [V0.B16, V1.B16] \
	VLD1.P 64(R1), [V16.B16, V17.B16, V18.B16, V19.B16] \
	WORD $0x4e3c1c02 \ // and v2.16b, v0.16b, v28.16b
	WORD $0x4e3c1c23 \ // and v3.16b, v1.16b, v28.16b
	WORD $0x6f0c0404 \ // ushr v4.16b, v0.16b, #4
	WORD $0x6f0c0425 \ // ushr v5.16b, v1.16b, #4
	WORD $0x0e30c048 \ // smull v8.8h, v2.8b, v16.8b
	WORD $0x4e30c049 \ // smull2 v9.8h, v2.16b, v16.16b
	WORD $0x0e31c06a \ // smull v10.8h, v3.8b, v17.8b
	WORD $0x4e31c06b \ // smull2 v11.8h, v3.16b, v17.16b
	WORD $0x0e32c08c \ // smull v12.8h, v4.8b, v18.8b
	WORD $0x4e32c08d \ // smull2 v13.8h, v4.16b, v18.16b
	WORD $0x0e33c0ae \ // smull v14.8h, v5.8b, v19.8b
	WORD $0x4e33c0af \ // smull2 v15.8h, v5.16b, v19.16b
	WORD $0x4e69bd08 \ // addp v8.8h, v8.8h, v9.8h
	WORD $0x4e6bbd4a \ // addp v10.8h, v10.8h, v11.8h
	WORD $0x4e6abd08 \ // addp v8.8h, v8.8h, v10.8h
	WORD $0x4e6dbd8c \ // addp v12.8h, v12.8h, v13.8h
	WORD $0x4e6fbdce \ // addp v14.8h, v14.8h, v15.8h
	WORD $0x4e6ebd8c \ // addp v12.8h, v12.8h, v14.8h
	WORD $0x0f462118 \ // smlal v24.4s, v8.4h, v6.h[0]
	WORD $0x4f462119 \ // smlal2 v25.4s, v8.8h, v6.h[0]
	WORD $0x0f562198 \ // smlal v24.4s, v12.4h, v6.h[1]
	WORD $0x4f562199 \ // smlal2 v25.4s, v12.8h, v6.h[1]
	WORD $0x6e0620c6 // ext v6.16b, v6.16b, v6.16b, #4

// func dotQ4KNEON(x, y *byte, nb int) float32
TEXT ·dotQ4KNEON(SB), NOSPLIT, $0-28
	MOVD x+0(FP), R0
	MOVD y+8(FP), R1
	MOVD nb+16(FP), R2
	WORD $0x4f00e5fc // movi v28.16b, #0x0f
	WORD $0x6f00e41a // movi v26.2d, #0
	WORD $0x6f00e41b // movi v27.2d, #0
	WORD $0x6f00e41f // movi v31.2d, #0

q4kloop:
	// Unpack the 6-bit scales and mins as ggml's get_scale_min_k4 (four
	// bytes at once): R9 gets scales 0..7, R12 mins 0..7, one per byte.
	MOVWU 4(R0), R6
	MOVWU 8(R0), R7
	MOVWU 12(R0), R8
	ANDW  $0x3f3f3f3f, R6, R9
	LSRW  $6, R6, R10
	ANDW  $0x03030303, R10, R10
	ANDW  $0x0f0f0f0f, R8, R11
	ORRW  R10<<4, R11, R11
	ORR   R11<<32, R9, R9
	ANDW  $0x3f3f3f3f, R7, R12
	LSRW  $6, R7, R10
	ANDW  $0x03030303, R10, R10
	LSRW  $4, R8, R11
	ANDW  $0x0f0f0f0f, R11, R11
	ORRW  R10<<4, R11, R11
	ORR   R11<<32, R12, R12
	FMOVD R9, F6
	FMOVD R12, F22
	MOVHU 0(R0), R4   // d_w
	MOVHU 2(R0), R5   // dmin_w
	ADD   $16, R0
	FMOVS.P 4(R1), F30 // d_y
	WORD $0x2f08a4c6 // uxtl v6.8h, v6.8b
	WORD $0x2f08a6d6 // uxtl v22.8h, v22.8b
	WORD $0x6f10a6d7 // uxtl2 v23.4s, v22.8h
	WORD $0x2f10a6d6 // uxtl v22.4s, v22.4h
	WORD $0x6f00e418 // movi v24.2d, #0
	WORD $0x6f00e419 // movi v25.2d, #0
	Q4KGROUP
	Q4KGROUP
	Q4KGROUP
	Q4KGROUP

	// Min lanes: the pair sums bsum[2k]+bsum[2k+1] in int32 (exact for any
	// int16 bsums), times min[k], neighbours added: lane m =
	// min[2m]·(bsum[4m]+bsum[4m+1]) + min[2m+1]·(bsum[4m+2]+bsum[4m+3]).
	VLD1.P 32(R1), [V16.H8, V17.H8]
	WORD $0x4e602a10 // saddlp v16.4s, v16.8h
	WORD $0x4e602a31 // saddlp v17.4s, v17.8h
	WORD $0x4eb69e10 // mul v16.4s, v16.4s, v22.4s
	WORD $0x4eb79e31 // mul v17.4s, v17.4s, v23.4s
	WORD $0x4eb1be10 // addp v16.4s, v16.4s, v17.4s
	WORD $0x4e21da10 // scvtf v16.4s, v16.4s
	FMOVS R4, F14
	FMOVS R5, F15
	WORD $0x1ee241ce // fcvt s14, h14
	WORD $0x1ee241ef // fcvt s15, h15
	WORD $0x1e2e0bce // fmul s14, s30, s14
	WORD $0x1e2f0bcf // fmul s15, s30, s15
	WORD $0x1e2141ef // fneg s15, s15
	// accMin = fma(-(d_y·dmin_w), float(min lane), accMin)
	WORD $0x4f8f121f // fmla v31.4s, v16.4s, v15.s[0]
	// acc = fma(d_y·d_w, float(lane), acc)
	WORD $0x4e21db18 // scvtf v24.4s, v24.4s
	WORD $0x4e21db39 // scvtf v25.4s, v25.4s
	WORD $0x4f8e131a // fmla v26.4s, v24.4s, v14.s[0]
	WORD $0x4f8e133b // fmla v27.4s, v25.4s, v14.s[0]
	SUBS $1, R2, R2
	BNE  q4kloop

	KHSUM8
	// + ((accMin0+accMin2) + (accMin1+accMin3))
	WORD $0x6e1f43fd // ext v29.16b, v31.16b, v31.16b, #8
	WORD $0x4e3dd7ff // fadd v31.4s, v31.4s, v29.4s
	WORD $0x7e30dbe1 // faddp s1, v31.2s
	WORD $0x1e212800 // fadd s0, s0, s1
	FMOVS F0, ret+24(FP)
	RET

