//go:build amd64 && !purego

#include "textflag.h"

// AVX2+FMA+F16C versions of the Q4_K and Q6_K dot products against Q8_K.
// Each computes exactly the integers and float operations of its portable
// kernel (see vecdot_kquants_amd64.go). The weights are at most 6 bits, so
// VPMADDUBSW (unsigned weight · int8 activation, pairs summed into int16)
// never saturates: |2·63·128| < 32768; VPMADDWD by the block's scales then
// gives each int32 lane exactly, for all inputs.

// KCONST broadcasts the 32-bit constant c into y (through AX and x, its
// low half).
#define KCONST(c, x, y) \
	MOVL c, AX            \
	VMOVD AX, x           \
	VPBROADCASTD x, y

// KHSUM8 adds the eight float lanes of Y0 into X0's lane 0 as hsum8 does:
// ((a0+a4) + (a2+a6)) + ((a1+a5) + (a3+a7)).
#define KHSUM8 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS    X1, X0, X0    \
	VMOVHLPS  X0, X0, X1    \
	VADDPS    X1, X0, X0    \
	VMOVSHDUP X0, X1        \
	VADDSS    X1, X0, X0

// KSCALE sets X1's lane 0 to d_y·f16(w), d_y the Q8_K block's float32
// scale at (DI) and w the f16 at off(SI), rounded once as the portable
// float32 product is, and broadcasts it to Y1.
#define KSCALE(off) \
	MOVWLZX off(SI), AX   \
	VMOVD   AX, X1        \
	VCVTPH2PS X1, X1      \
	VMULSS  (DI), X1, X1  \
	VBROADCASTSS X1, Y1

// Q4KGROUP adds to the int32 lanes in Y12 the 64-element group whose 32
// quant bytes are at qoff(SI) and whose activations are at yoff(DI) (low
// nibbles) and yoff+32 (high): lane l gets scale[2j]·Σ over the low-nibble
// elements 4l..4l+3 plus scale[2j+1]·Σ over the high-nibble ones. Y9 holds
// the eight scales as words in both halves, Y8 the VPSHUFB control that
// broadcasts scale[2j] (advanced by Y14 to the next scale after each use),
// Y7 0x0f bytes.
#define Q4KGROUP(qoff, yoff, yoff2) \
	VMOVDQU    qoff(SI), Y2   \
	VPSRLW     $4, Y2, Y3     \
	VPAND      Y7, Y2, Y2     \
	VPAND      Y7, Y3, Y3     \
	VPMADDUBSW yoff(DI), Y2, Y2  \
	VPMADDUBSW yoff2(DI), Y3, Y3 \
	VPSHUFB    Y8, Y9, Y4     \
	VPADDB     Y14, Y8, Y8    \
	VPSHUFB    Y8, Y9, Y5     \
	VPADDB     Y14, Y8, Y8    \
	VPMADDWD   Y4, Y2, Y2     \
	VPMADDWD   Y5, Y3, Y3     \
	VPADDD     Y2, Y12, Y12   \
	VPADDD     Y3, Y12, Y12

// func dotQ4KAVX2(x, y *byte, nb int) float32
TEXT ·dotQ4KAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ nb+16(FP), CX
	KCONST($0x0f0f0f0f, X7, Y7)
	KCONST($0x01000100, X13, Y13) // VPSHUFB control of word 0 in each half
	KCONST($0x02020202, X14, Y14) // step to the next word
	VXORPS Y0, Y0, Y0   // acc
	VXORPS X6, X6, X6   // accMin

q4kloop:
	// Unpack the 6-bit scales and mins as ggml's get_scale_min_k4 (the
	// four-bytes-at-once form): AX gets scales 0..7, R10 mins 0..7.
	MOVL 4(SI), AX
	MOVL 8(SI), BX
	MOVL 12(SI), DX
	MOVL DX, R8
	SHRL $4, R8
	ANDL $0x0f0f0f0f, R8
	MOVL BX, R9
	SHRL $6, R9
	ANDL $0x03030303, R9
	SHLL $4, R9
	ORL  R9, R8          // mins 4..7
	MOVL BX, R10
	ANDL $0x3f3f3f3f, R10 // mins 0..3
	ANDL $0x0f0f0f0f, DX
	MOVL AX, R9
	SHRL $6, R9
	ANDL $0x03030303, R9
	SHLL $4, R9
	ORL  R9, DX          // scales 4..7
	ANDL $0x3f3f3f3f, AX // scales 0..3
	SHLQ $32, DX
	ORQ  DX, AX
	SHLQ $32, R8
	ORQ  R8, R10

	VMOVQ AX, X9
	VPMOVZXBW X9, X9
	VINSERTI128 $1, X9, Y9, Y9

	// Min lanes: the words min0,min0,min1,min1,...,min7,min7 times the
	// sixteen bsums, pairs summed by VPMADDWD (dword k = min[k]·(bsum[2k] +
	// bsum[2k+1]), exact in int32), then neighbouring dwords added: lane m
	// = min[2m]·(bsum[4m]+bsum[4m+1]) + min[2m+1]·(bsum[4m+2]+bsum[4m+3]).
	VMOVQ R10, X10
	VPUNPCKLBW X10, X10, X10
	VPMOVZXBW X10, Y10
	VPMADDWD 260(DI), Y10, Y10
	VEXTRACTI128 $1, Y10, X11
	VPHADDD X11, X10, X10
	VCVTDQ2PS X10, X10

	// accMin = fma(-(d_y·dmin), min lane, accMin): VFNMADD231PS rounds the
	// same exact value once.
	KSCALE(2)
	VFNMADD231PS X1, X10, X6

	VMOVDQA Y13, Y8
	VPXOR   Y12, Y12, Y12
	Q4KGROUP(16, 4, 36)
	Q4KGROUP(48, 68, 100)
	Q4KGROUP(80, 132, 164)
	Q4KGROUP(112, 196, 228)

	KSCALE(0)
	VCVTDQ2PS   Y12, Y12
	VFMADD231PS Y1, Y12, Y0

	ADDQ $144, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q4kloop

	KHSUM8
	// + ((accMin0+accMin2) + (accMin1+accMin3))
	VMOVHLPS  X6, X6, X1
	VADDPS    X1, X6, X6
	VMOVSHDUP X6, X1
	VADDSS    X1, X6, X6
	VADDSS    X6, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// The Q6_K scales reordered so that VPMOVSXBW puts the even ones (the
// first 16 elements of each run) in the low half, the odd ones in the high.
DATA q6kScaleOrder<>+0(SB)/8, $0x0e0c0a0806040200
DATA q6kScaleOrder<>+8(SB)/8, $0x0f0d0b0907050301
GLOBL q6kScaleOrder<>(SB), RODATA|NOPTR, $16

// Q6KRUN adds to the int32 lanes in Y12 the run of 32 elements whose 6-bit
// weights are in Y5 and whose activations are at yoff(DI): lane l gets
// scale·Σ (q-32)·y over elements 4l..4l+3, the scale from Y10 through the
// VPSHUFB control Y8 (advanced by Y14). (q-32)·y is formed as q·y - 32·y
// on int16 pairs: both VPMADDUBSW sums and their difference fit in int16.
// Y13 holds 0x20 bytes.
#define Q6KRUN(yoff) \
	VPMADDUBSW yoff(DI), Y5, Y5  \
	VPMADDUBSW yoff(DI), Y13, Y1 \
	VPSUBW     Y1, Y5, Y5     \
	VPSHUFB    Y8, Y10, Y9    \
	VPADDB     Y14, Y8, Y8    \
	VPMADDWD   Y9, Y5, Y5     \
	VPADDD     Y5, Y12, Y12

// Q6KHALF adds the half (128 elements) whose ql bytes are at loff(SI) and
// qh bytes at hoff(SI), activations from yoff(DI): runs 0, 1 take the low
// nibbles of ql[0..31] and ql[32..63], runs 2, 3 the high nibbles, with qh
// bits 0-1, 2-3, 4-5, 6-7 on top. Y7 holds 0x0f bytes, Y6 0x30 bytes.
#define Q6KHALF(loff, loff2, hoff, y0, y1, y2, y3) \
	VMOVDQU loff(SI), Y2      \
	VMOVDQU loff2(SI), Y3     \
	VMOVDQU hoff(SI), Y4      \
	VPAND   Y7, Y2, Y5        \
	VPSLLW  $4, Y4, Y9        \
	VPAND   Y6, Y9, Y9        \
	VPOR    Y9, Y5, Y5        \
	Q6KRUN(y0)                \
	VPAND   Y7, Y3, Y5        \
	VPSLLW  $2, Y4, Y9        \
	VPAND   Y6, Y9, Y9        \
	VPOR    Y9, Y5, Y5        \
	Q6KRUN(y1)                \
	VPSRLW  $4, Y2, Y5        \
	VPAND   Y7, Y5, Y5        \
	VPAND   Y6, Y4, Y9        \
	VPOR    Y9, Y5, Y5        \
	Q6KRUN(y2)                \
	VPSRLW  $4, Y3, Y5        \
	VPAND   Y7, Y5, Y5        \
	VPSRLW  $2, Y4, Y9        \
	VPAND   Y6, Y9, Y9        \
	VPOR    Y9, Y5, Y5        \
	Q6KRUN(y3)

// func dotQ6KAVX2(x, y *byte, nb int) float32
TEXT ·dotQ6KAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ nb+16(FP), CX
	KCONST($0x0f0f0f0f, X7, Y7)
	KCONST($0x30303030, X6, Y6)
	KCONST($0x20202020, X13, Y13)
	KCONST($0x01000100, X11, Y11) // VPSHUFB control of word 0 in each half
	KCONST($0x02020202, X14, Y14) // step to the next word
	VXORPS Y0, Y0, Y0

q6kloop:
	// Y10: words scale[0], scale[2], ..., scale[14] in the low half,
	// scale[1], ..., scale[15] in the high; run c's control picks word c,
	// so lanes 0..3 get scale[2c] and lanes 4..7 scale[2c+1].
	VMOVDQU 192(SI), X10
	VPSHUFB q6kScaleOrder<>(SB), X10, X10
	VPMOVSXBW X10, Y10

	VMOVDQA Y11, Y8
	VPXOR   Y12, Y12, Y12
	Q6KHALF(0, 32, 128, 4, 36, 68, 100)
	Q6KHALF(64, 96, 160, 132, 164, 196, 228)

	KSCALE(208)
	VCVTDQ2PS   Y12, Y12
	VFMADD231PS Y1, Y12, Y0

	ADDQ $210, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q6kloop

	KHSUM8
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET
