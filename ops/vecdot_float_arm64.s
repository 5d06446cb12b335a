//go:build arm64 && !purego

#include "textflag.h"

// ASIMD version of the F16 dot product's single-row route (see
// vecdot_float_arm64.go). The portable kernel's 64 lanes (ggml_vec_dot_f16
// on AVX-512) live in sixteen registers, V0..V15, register k holding lanes
// 4k..4k+3. FCVTL widens the halves exactly, and the product of two halves
// is exact in float32, so FMLA is the portable code's exact product followed
// by one rounded addition, lane by lane in the same order. The WORDs are the
// instructions in the comments beside them (encoded with llvm-mc), as Go's
// assembler lacks these mnemonics.

// F16HALFRUN adds the products of 32 halves at (R0) and (R1), moving both
// pointers past them, into the lanes of V0..V7 (first) or V8..V15 (second
// half of a run of 64).
#define F16LO \
	VLD1.P 64(R0), [V16.H8, V17.H8, V18.H8, V19.H8] \
	VLD1.P 64(R1), [V20.H8, V21.H8, V22.H8, V23.H8] \
	WORD $0x0e217a1c \ // fcvtl v28.4s, v16.4h
	WORD $0x4e217a1d \ // fcvtl2 v29.4s, v16.8h
	WORD $0x0e217a9e \ // fcvtl v30.4s, v20.4h
	WORD $0x4e217a9f \ // fcvtl2 v31.4s, v20.8h
	WORD $0x4e3ecf80 \ // fmla v0.4s, v28.4s, v30.4s
	WORD $0x4e3fcfa1 \ // fmla v1.4s, v29.4s, v31.4s
	WORD $0x0e217a3c \ // fcvtl v28.4s, v17.4h
	WORD $0x4e217a3d \ // fcvtl2 v29.4s, v17.8h
	WORD $0x0e217abe \ // fcvtl v30.4s, v21.4h
	WORD $0x4e217abf \ // fcvtl2 v31.4s, v21.8h
	WORD $0x4e3ecf82 \ // fmla v2.4s, v28.4s, v30.4s
	WORD $0x4e3fcfa3 \ // fmla v3.4s, v29.4s, v31.4s
	WORD $0x0e217a5c \ // fcvtl v28.4s, v18.4h
	WORD $0x4e217a5d \ // fcvtl2 v29.4s, v18.8h
	WORD $0x0e217ade \ // fcvtl v30.4s, v22.4h
	WORD $0x4e217adf \ // fcvtl2 v31.4s, v22.8h
	WORD $0x4e3ecf84 \ // fmla v4.4s, v28.4s, v30.4s
	WORD $0x4e3fcfa5 \ // fmla v5.4s, v29.4s, v31.4s
	WORD $0x0e217a7c \ // fcvtl v28.4s, v19.4h
	WORD $0x4e217a7d \ // fcvtl2 v29.4s, v19.8h
	WORD $0x0e217afe \ // fcvtl v30.4s, v23.4h
	WORD $0x4e217aff \ // fcvtl2 v31.4s, v23.8h
	WORD $0x4e3ecf86 \ // fmla v6.4s, v28.4s, v30.4s
	WORD $0x4e3fcfa7 // fmla v7.4s, v29.4s, v31.4s

#define F16HI \
	VLD1.P 64(R0), [V16.H8, V17.H8, V18.H8, V19.H8] \
	VLD1.P 64(R1), [V20.H8, V21.H8, V22.H8, V23.H8] \
	WORD $0x0e217a1c \ // fcvtl v28.4s, v16.4h
	WORD $0x4e217a1d \ // fcvtl2 v29.4s, v16.8h
	WORD $0x0e217a9e \ // fcvtl v30.4s, v20.4h
	WORD $0x4e217a9f \ // fcvtl2 v31.4s, v20.8h
	WORD $0x4e3ecf88 \ // fmla v8.4s, v28.4s, v30.4s
	WORD $0x4e3fcfa9 \ // fmla v9.4s, v29.4s, v31.4s
	WORD $0x0e217a3c \ // fcvtl v28.4s, v17.4h
	WORD $0x4e217a3d \ // fcvtl2 v29.4s, v17.8h
	WORD $0x0e217abe \ // fcvtl v30.4s, v21.4h
	WORD $0x4e217abf \ // fcvtl2 v31.4s, v21.8h
	WORD $0x4e3ecf8a \ // fmla v10.4s, v28.4s, v30.4s
	WORD $0x4e3fcfab \ // fmla v11.4s, v29.4s, v31.4s
	WORD $0x0e217a5c \ // fcvtl v28.4s, v18.4h
	WORD $0x4e217a5d \ // fcvtl2 v29.4s, v18.8h
	WORD $0x0e217ade \ // fcvtl v30.4s, v22.4h
	WORD $0x4e217adf \ // fcvtl2 v31.4s, v22.8h
	WORD $0x4e3ecf8c \ // fmla v12.4s, v28.4s, v30.4s
	WORD $0x4e3fcfad \ // fmla v13.4s, v29.4s, v31.4s
	WORD $0x0e217a7c \ // fcvtl v28.4s, v19.4h
	WORD $0x4e217a7d \ // fcvtl2 v29.4s, v19.8h
	WORD $0x0e217afe \ // fcvtl v30.4s, v23.4h
	WORD $0x4e217aff \ // fcvtl2 v31.4s, v23.8h
	WORD $0x4e3ecf8e \ // fmla v14.4s, v28.4s, v30.4s
	WORD $0x4e3fcfaf // fmla v15.4s, v29.4s, v31.4s

// func dotF16VecNEON(x, y *byte, runs int) float32
TEXT ·dotF16VecNEON(SB), NOSPLIT, $0-28
	MOVD x+0(FP), R0
	MOVD y+8(FP), R1
	MOVD runs+16(FP), R2
	WORD $0x6f00e400 // movi v0.2d, #0
	WORD $0x6f00e401 // movi v1.2d, #0
	WORD $0x6f00e402 // movi v2.2d, #0
	WORD $0x6f00e403 // movi v3.2d, #0
	WORD $0x6f00e404 // movi v4.2d, #0
	WORD $0x6f00e405 // movi v5.2d, #0
	WORD $0x6f00e406 // movi v6.2d, #0
	WORD $0x6f00e407 // movi v7.2d, #0
	WORD $0x6f00e408 // movi v8.2d, #0
	WORD $0x6f00e409 // movi v9.2d, #0
	WORD $0x6f00e40a // movi v10.2d, #0
	WORD $0x6f00e40b // movi v11.2d, #0
	WORD $0x6f00e40c // movi v12.2d, #0
	WORD $0x6f00e40d // movi v13.2d, #0
	WORD $0x6f00e40e // movi v14.2d, #0
	WORD $0x6f00e40f // movi v15.2d, #0

f16vloop:
	F16LO
	F16HI
	SUBS $1, R2, R2
	BNE  f16vloop

	// reduce64: r[l] = (a[l]+a[32+l]) + (a[16+l]+a[48+l]) in V0..V3 (r[4k..4k+3]
	// in Vk), then reduce16: t = (r[0..3]+r[8..11]) + (r[4..7]+r[12..15]),
	// (t0+t2) + (t1+t3).
	WORD $0x4e28d400 // fadd v0.4s, v0.4s, v8.4s
	WORD $0x4e2cd484 // fadd v4.4s, v4.4s, v12.4s
	WORD $0x4e24d400 // fadd v0.4s, v0.4s, v4.4s
	WORD $0x4e29d421 // fadd v1.4s, v1.4s, v9.4s
	WORD $0x4e2dd4a5 // fadd v5.4s, v5.4s, v13.4s
	WORD $0x4e25d421 // fadd v1.4s, v1.4s, v5.4s
	WORD $0x4e2ad442 // fadd v2.4s, v2.4s, v10.4s
	WORD $0x4e2ed4c6 // fadd v6.4s, v6.4s, v14.4s
	WORD $0x4e26d442 // fadd v2.4s, v2.4s, v6.4s
	WORD $0x4e2bd463 // fadd v3.4s, v3.4s, v11.4s
	WORD $0x4e2fd4e7 // fadd v7.4s, v7.4s, v15.4s
	WORD $0x4e27d463 // fadd v3.4s, v3.4s, v7.4s
	WORD $0x4e22d400 // fadd v0.4s, v0.4s, v2.4s
	WORD $0x4e23d421 // fadd v1.4s, v1.4s, v3.4s
	WORD $0x4e21d400 // fadd v0.4s, v0.4s, v1.4s
	WORD $0x6e004001 // ext v1.16b, v0.16b, v0.16b, #8
	WORD $0x4e21d400 // fadd v0.4s, v0.4s, v1.4s
	WORD $0x7e30d800 // faddp s0, v0.2s
	FMOVS F0, ret+24(FP)
	RET
