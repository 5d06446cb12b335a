//go:build amd64 && !purego

#include "textflag.h"
#include "tile_amd64.h"

// AVX-512 + VNNI tile kernels for the K-quants: one weight row against up
// to eight Q8_K activation rows, each output in its own register with
// exactly the lanes and operations of the portable kernel. Weights of at
// most 6 bits keep VPMADDUBSW exact (|2·63·128| < 32768); VPDPWSSD then
// multiplies those pair sums by the scales into int32 lanes, exactly.

DATA nibbleMask<>+0(SB)/4, $0x0f0f0f0f
GLOBL nibbleMask<>(SB), RODATA|NOPTR, $4

// q4kScaleCtrl: for group j < 4, the VPSHUFB control that makes words of
// scale[2j] (low half) and scale[2j+1] (high half) from the unpacked
// scales [sc0..3, m0..3, sc4..7, m4..7] in every 128-bit lane.
DATA q4kScaleCtrl<>+0(SB)/8, $0x8000800080008000
DATA q4kScaleCtrl<>+8(SB)/8, $0x8000800080008000
DATA q4kScaleCtrl<>+16(SB)/8, $0x8000800080008000
DATA q4kScaleCtrl<>+24(SB)/8, $0x8000800080008000
DATA q4kScaleCtrl<>+32(SB)/8, $0x8001800180018001
DATA q4kScaleCtrl<>+40(SB)/8, $0x8001800180018001
DATA q4kScaleCtrl<>+48(SB)/8, $0x8001800180018001
DATA q4kScaleCtrl<>+56(SB)/8, $0x8001800180018001
DATA q4kScaleCtrl<>+64(SB)/8, $0x8002800280028002
DATA q4kScaleCtrl<>+72(SB)/8, $0x8002800280028002
DATA q4kScaleCtrl<>+80(SB)/8, $0x8002800280028002
DATA q4kScaleCtrl<>+88(SB)/8, $0x8002800280028002
DATA q4kScaleCtrl<>+96(SB)/8, $0x8003800380038003
DATA q4kScaleCtrl<>+104(SB)/8, $0x8003800380038003
DATA q4kScaleCtrl<>+112(SB)/8, $0x8003800380038003
DATA q4kScaleCtrl<>+120(SB)/8, $0x8003800380038003
DATA q4kScaleCtrl<>+128(SB)/8, $0x8008800880088008
DATA q4kScaleCtrl<>+136(SB)/8, $0x8008800880088008
DATA q4kScaleCtrl<>+144(SB)/8, $0x8008800880088008
DATA q4kScaleCtrl<>+152(SB)/8, $0x8008800880088008
DATA q4kScaleCtrl<>+160(SB)/8, $0x8009800980098009
DATA q4kScaleCtrl<>+168(SB)/8, $0x8009800980098009
DATA q4kScaleCtrl<>+176(SB)/8, $0x8009800980098009
DATA q4kScaleCtrl<>+184(SB)/8, $0x8009800980098009
DATA q4kScaleCtrl<>+192(SB)/8, $0x800a800a800a800a
DATA q4kScaleCtrl<>+200(SB)/8, $0x800a800a800a800a
DATA q4kScaleCtrl<>+208(SB)/8, $0x800a800a800a800a
DATA q4kScaleCtrl<>+216(SB)/8, $0x800a800a800a800a
DATA q4kScaleCtrl<>+224(SB)/8, $0x800b800b800b800b
DATA q4kScaleCtrl<>+232(SB)/8, $0x800b800b800b800b
DATA q4kScaleCtrl<>+240(SB)/8, $0x800b800b800b800b
DATA q4kScaleCtrl<>+248(SB)/8, $0x800b800b800b800b
GLOBL q4kScaleCtrl<>(SB), RODATA|NOPTR, $256

// q4kMinCtrl: the VPSHUFB control that makes the words m0, m0, m1, m1,
// ..., m7, m7 from the unpacked scales.
DATA q4kMinCtrl<>+0(SB)/8, $0x8005800580048004
DATA q4kMinCtrl<>+8(SB)/8, $0x8007800780068006
DATA q4kMinCtrl<>+16(SB)/8, $0x800d800d800c800c
DATA q4kMinCtrl<>+24(SB)/8, $0x800f800f800e800e
GLOBL q4kMinCtrl<>(SB), RODATA|NOPTR, $32

// q4kNibShift: VPSRLVW shifts that take the low nibbles into the low half
// and the high nibbles into the high half of [qs | qs].
DATA q4kNibShift<>+0(SB)/8, $0x0000000000000000
DATA q4kNibShift<>+8(SB)/8, $0x0000000000000000
DATA q4kNibShift<>+16(SB)/8, $0x0000000000000000
DATA q4kNibShift<>+24(SB)/8, $0x0000000000000000
DATA q4kNibShift<>+32(SB)/8, $0x0004000400040004
DATA q4kNibShift<>+40(SB)/8, $0x0004000400040004
DATA q4kNibShift<>+48(SB)/8, $0x0004000400040004
DATA q4kNibShift<>+56(SB)/8, $0x0004000400040004
GLOBL q4kNibShift<>(SB), RODATA|NOPTR, $64

// q4kUnpack: the VPSRLVD shifts and VPAND masks of get_scale_min_k4 on
// [c, c, a, b] (dwords of scales[12]: a = bytes 0..3, b = 4..7, c = 8..11).
DATA q4kUnpackShift<>+0(SB)/8, $0x0000000400000000
DATA q4kUnpackShift<>+8(SB)/8, $0x0000000200000002
GLOBL q4kUnpackShift<>(SB), RODATA|NOPTR, $16
DATA q4kUnpackMask<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q4kUnpackMask<>+8(SB)/8, $0x3030303030303030
GLOBL q4kUnpackMask<>(SB), RODATA|NOPTR, $16

// q4kDIndex and q4kDSign make [d ×8 | -dmin ×4 | 0 ×4] from [d, dmin, 0, 0].
DATA q4kDIndex<>+0(SB)/8, $0x0000000000000000
DATA q4kDIndex<>+8(SB)/8, $0x0000000000000000
DATA q4kDIndex<>+16(SB)/8, $0x0000000000000000
DATA q4kDIndex<>+24(SB)/8, $0x0000000000000000
DATA q4kDIndex<>+32(SB)/8, $0x0000000100000001
DATA q4kDIndex<>+40(SB)/8, $0x0000000100000001
DATA q4kDIndex<>+48(SB)/8, $0x0000000200000002
DATA q4kDIndex<>+56(SB)/8, $0x0000000200000002
GLOBL q4kDIndex<>(SB), RODATA|NOPTR, $64
DATA q4kDSign<>+0(SB)/8, $0x0000000000000000
DATA q4kDSign<>+8(SB)/8, $0x0000000000000000
DATA q4kDSign<>+16(SB)/8, $0x0000000000000000
DATA q4kDSign<>+24(SB)/8, $0x0000000000000000
DATA q4kDSign<>+32(SB)/8, $0x8000000080000000
DATA q4kDSign<>+40(SB)/8, $0x8000000080000000
DATA q4kDSign<>+48(SB)/8, $0x0000000000000000
DATA q4kDSign<>+56(SB)/8, $0x0000000000000000
GLOBL q4kDSign<>(SB), RODATA|NOPTR, $64

DATA bytes3f<>+0(SB)/4, $0x3f3f3f3f
GLOBL bytes3f<>(SB), RODATA|NOPTR, $4

// Q4KACT adds block b of the Q8_K activation row at base to acc (lanes
// 0..7: vecDotQ4KQ8K's acc, lanes 8..11 its accMin, lanes 12..15 zero),
// from the block's unpacked weights: Z16..Z19 the nibbles of groups 0..3
// ([low | high] nibbles of its 32 bytes), Z20..Z23 their scale words, Y25
// the min words, Z24 [d_w ×8 | -dmin_w ×4 | 0 ×4]. Lane l of the integer
// vector is Σ_j scale[2j]·Σ q·y (low elements 64j+4l..+3) + scale[2j+1]·Σ
// q·y (high elements 64j+32+4l..+3) once the halves are folded, lane 8+m
// the min lane m; then acc = fma(d_y·[d_w | -dmin_w], float(lanes), acc).
#define Q4KACT(base, acc) \
	VPXORD       Z9, Z9, Z9      \
	VPMADDUBSW   4 base, Z16, Z8   \
	VPDPWSSD     Z20, Z8, Z9      \
	VPMADDUBSW   68 base, Z17, Z8  \
	VPDPWSSD     Z21, Z8, Z9      \
	VPMADDUBSW   132 base, Z18, Z8 \
	VPDPWSSD     Z22, Z8, Z9      \
	VPMADDUBSW   196 base, Z19, Z8 \
	VPDPWSSD     Z23, Z8, Z9      \
	VEXTRACTI64X4 $1, Z9, Y10      \
	VPADDD       Y10, Y9, Y9      \
	VPMADDWD     260 base, Y25, Y11 \
	VEXTRACTI128 $1, Y11, X10       \
	VPHADDD      X10, X11, X11      \
	VINSERTI32X4 $2, X11, Z9, Z9  \
	VCVTDQ2PS    Z9, Z9           \
	VMULPS.BCST  0 base, Z24, Z10   \
	VFMADD231PS  Z10, Z9, acc

// Q4KNIBBLES sets n to [low | high] nibbles of the 32 quant bytes at
// off(SI).
#define Q4KNIBBLES(off, n) \
	VBROADCASTI64X4 off(SI), n \
	VPSRLVW         Z30, n, n  \
	VPANDD          Z31, n, n

// Q4KSTORE stores hsum8(lanes 0..7) + ((m0+m2) + (m1+m3)) of acc at base.
#define Q4KSTORE(acc, x, base) \
	HSUM8X2(acc, Z8)          \
	VEXTRACTF32X4 $2, acc, X8 \
	VADDSS        X8, x, x    \
	VMOVSS        x, base

// func q4KTileAVX512(w *byte, rowSize, nrows int, act *byte, actStride, nact, nb int, dst *float32, dstStride int)
//
// nrows rows of nb Q4_K blocks (row i at w + i*rowSize), one after the
// other, against nact <= 8 Q8_K activation rows (row r at act +
// r*actStride): dst[r*dstStride + i] = vecDotQ4KQ8K.
TEXT ·q4KTileAVX512(SB), NOSPLIT, $0-72
	MOVQ w+0(FP), R8
	MOVQ rowSize+8(FP), DX
	MOVQ nrows+16(FP), R9
	MOVQ dst+56(FP), R10
	MOVQ act+24(FP), DI
	MOVQ actStride+32(FP), R11
	MOVQ nact+40(FP), AX
	LEAQ (R11)(R11*2), R12
	LEAQ (R11)(R11*4), R13
	LEAQ (R12)(R11*4), R14

	VMOVDQU32    q4kNibShift<>(SB), Z30
	VPBROADCASTD nibbleMask<>(SB), Z31

q4krow:
	// One weight row at a time: its accumulators from zero, its blocks
	// from R8.
	MOVQ R8, SI
	MOVQ act+24(FP), DI
	MOVQ nb+48(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7

q4kloop:
	// Scales and mins as get_scale_min_k4: X8 = [sc0..3, m0..3, sc4..7,
	// m4..7] bytes, then in every 128-bit lane of Z8.
	VMOVDQU      4(SI), X8
	VPSHUFD      $0x4a, X8, X9
	VPSRLVD      q4kUnpackShift<>(SB), X9, X9
	VPAND        q4kUnpackMask<>(SB), X9, X9
	VPSHUFD      $0x0e, X9, X10
	VPOR         X10, X9, X9
	VPANDD.BCST  bytes3f<>(SB), X8, X8
	VPUNPCKLQDQ  X9, X8, X8
	VSHUFI32X4   $0, Z8, Z8, Z8
	VPSHUFB      q4kScaleCtrl<>+0(SB), Z8, Z20
	VPSHUFB      q4kScaleCtrl<>+64(SB), Z8, Z21
	VPSHUFB      q4kScaleCtrl<>+128(SB), Z8, Z22
	VPSHUFB      q4kScaleCtrl<>+192(SB), Z8, Z23
	VPSHUFB      q4kMinCtrl<>(SB), Y8, Y25

	Q4KNIBBLES(16, Z16)
	Q4KNIBBLES(48, Z17)
	Q4KNIBBLES(80, Z18)
	Q4KNIBBLES(112, Z19)

	VMOVD       (SI), X10
	VCVTPH2PS   X10, X10
	VMOVDQU32   q4kDIndex<>(SB), Z11
	VPERMPS     Z10, Z11, Z24
	VPXORD      q4kDSign<>(SB), Z24, Z24

	Q4KACT((DI), Z0)
	CMPQ AX, $1
	JEQ  q4knext
	Q4KACT((DI)(R11*1), Z1)
	CMPQ AX, $2
	JEQ  q4knext
	Q4KACT((DI)(R11*2), Z2)
	CMPQ AX, $3
	JEQ  q4knext
	Q4KACT((DI)(R12*1), Z3)
	CMPQ AX, $4
	JEQ  q4knext
	Q4KACT((DI)(R11*4), Z4)
	CMPQ AX, $5
	JEQ  q4knext
	Q4KACT((DI)(R13*1), Z5)
	CMPQ AX, $6
	JEQ  q4knext
	Q4KACT((DI)(R12*2), Z6)
	CMPQ AX, $7
	JEQ  q4knext
	Q4KACT((DI)(R14*1), Z7)

q4knext:
	// Rows are read one after another: fetch ahead of the hardware
	// prefetchers, which do not run far enough ahead to cover the latency
	// of memory on their own.
	PREFETCHT0 4096(SI)
	PREFETCHT0 4160(SI)
	PREFETCHT0 4224(SI)
	ADDQ $144, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q4kloop

	MOVQ R10, SI
	MOVQ dstStride+64(FP), BX
	SHLQ $2, BX
	Q4KSTORE(Z0, X0, (SI))
	CMPQ AX, $1
	JEQ  q4kdone
	ADDQ BX, SI
	Q4KSTORE(Z1, X1, (SI))
	CMPQ AX, $2
	JEQ  q4kdone
	ADDQ BX, SI
	Q4KSTORE(Z2, X2, (SI))
	CMPQ AX, $3
	JEQ  q4kdone
	ADDQ BX, SI
	Q4KSTORE(Z3, X3, (SI))
	CMPQ AX, $4
	JEQ  q4kdone
	ADDQ BX, SI
	Q4KSTORE(Z4, X4, (SI))
	CMPQ AX, $5
	JEQ  q4kdone
	ADDQ BX, SI
	Q4KSTORE(Z5, X5, (SI))
	CMPQ AX, $6
	JEQ  q4kdone
	ADDQ BX, SI
	Q4KSTORE(Z6, X6, (SI))
	CMPQ AX, $7
	JEQ  q4kdone
	ADDQ BX, SI
	Q4KSTORE(Z7, X7, (SI))

q4kdone:
	ADDQ $4, R10
	ADDQ DX, R8
	DECQ R9
	JNZ  q4krow
	VZEROUPPER
	RET

// q6kScaleCtrl: for groups j with j%2 = 0 and 1, the VPSHUFB control that
// spreads the words sc[4j..4j+3] (words 4(j%2).. of a 128-bit lane) over
// the four 128-bit lanes, eight copies each.
DATA q6kScaleCtrl<>+0(SB)/8, $0x0100010001000100
DATA q6kScaleCtrl<>+8(SB)/8, $0x0100010001000100
DATA q6kScaleCtrl<>+16(SB)/8, $0x0302030203020302
DATA q6kScaleCtrl<>+24(SB)/8, $0x0302030203020302
DATA q6kScaleCtrl<>+32(SB)/8, $0x0504050405040504
DATA q6kScaleCtrl<>+40(SB)/8, $0x0504050405040504
DATA q6kScaleCtrl<>+48(SB)/8, $0x0706070607060706
DATA q6kScaleCtrl<>+56(SB)/8, $0x0706070607060706
DATA q6kScaleCtrl<>+64(SB)/8, $0x0908090809080908
DATA q6kScaleCtrl<>+72(SB)/8, $0x0908090809080908
DATA q6kScaleCtrl<>+80(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA q6kScaleCtrl<>+88(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA q6kScaleCtrl<>+96(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA q6kScaleCtrl<>+104(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA q6kScaleCtrl<>+112(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA q6kScaleCtrl<>+120(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL q6kScaleCtrl<>(SB), RODATA|NOPTR, $128

// q6kHighShiftL / q6kHighShiftR: the word shifts that bring the qh bits
// of runs 0, 1 (left by 4, 2) and runs 2, 3 (right by 0, 2) to bits 4..5.
DATA q6kHighShiftL<>+0(SB)/8, $0x0004000400040004
DATA q6kHighShiftL<>+8(SB)/8, $0x0004000400040004
DATA q6kHighShiftL<>+16(SB)/8, $0x0004000400040004
DATA q6kHighShiftL<>+24(SB)/8, $0x0004000400040004
DATA q6kHighShiftL<>+32(SB)/8, $0x0002000200020002
DATA q6kHighShiftL<>+40(SB)/8, $0x0002000200020002
DATA q6kHighShiftL<>+48(SB)/8, $0x0002000200020002
DATA q6kHighShiftL<>+56(SB)/8, $0x0002000200020002
GLOBL q6kHighShiftL<>(SB), RODATA|NOPTR, $64
DATA q6kHighShiftR<>+0(SB)/8, $0x0000000000000000
DATA q6kHighShiftR<>+8(SB)/8, $0x0000000000000000
DATA q6kHighShiftR<>+16(SB)/8, $0x0000000000000000
DATA q6kHighShiftR<>+24(SB)/8, $0x0000000000000000
DATA q6kHighShiftR<>+32(SB)/8, $0x0002000200020002
DATA q6kHighShiftR<>+40(SB)/8, $0x0002000200020002
DATA q6kHighShiftR<>+48(SB)/8, $0x0002000200020002
DATA q6kHighShiftR<>+56(SB)/8, $0x0002000200020002
GLOBL q6kHighShiftR<>(SB), RODATA|NOPTR, $64

DATA bytes30<>+0(SB)/4, $0x30303030
GLOBL bytes30<>(SB), RODATA|NOPTR, $4

DATA bytes20<>+0(SB)/4, $0x20202020
GLOBL bytes20<>(SB), RODATA|NOPTR, $4

// Q6KQUANTS sets Z16..Z19 to the 6-bit weights of the half (128 elements)
// whose ql bytes are at loff(SI) and qh bytes at hoff(SI): qa the runs 0
// and 1 of the half (low nibbles of ql[0..63] with qh bits 0-1, 2-3), qb
// runs 2 and 3 (high nibbles, qh bits 4-5, 6-7). Z26 holds 0x0f bytes,
// Z27 0x30 bytes; Z28, Z29 the shifts.
#define Q6KQUANTS(loff, hoff, qa, qb) \
	VBROADCASTI64X4 hoff(SI), Z8        \
	VPSLLVW         Z28, Z8, qa         \
	VPANDD          Z27, qa, qa         \
	VPTERNLOGD      $0xf8, loff(SI), Z26, qa \
	VPSRLVW         Z29, Z8, qb         \
	VPANDD          Z27, qb, qb         \
	VPSRLW          $4, loff(SI), Z9    \
	VPTERNLOGD      $0xf8, Z9, Z26, qb

// Q6KACT adds block b of the Q8_K activation row at base to the eight
// float lanes of acc (its low register): lane l of the integer vector is
// Σ over the runs c of scale·Σ (q-32)·y over elements 32c+4l..+3, the
// 64-element groups j in Z16..Z19 (two runs each, one per half) and their
// scale words in Z20..Z23, (q-32)·y formed as q·y - 32·y on VPMADDUBSW's
// exact int16 pairs; the halves folded; then acc = fma(d_y·d_w, float(lane),
// acc) with d_w in Z24.
#define Q6KACT(base, acc) \
	VPXORD       Z11, Z11, Z11      \
	VPMADDUBSW   4 base, Z16, Z9    \
	VPMADDUBSW   4 base, Z25, Z10   \
	VPSUBW       Z10, Z9, Z9        \
	VPDPWSSD     Z20, Z9, Z11       \
	VPMADDUBSW   68 base, Z17, Z9   \
	VPMADDUBSW   68 base, Z25, Z10  \
	VPSUBW       Z10, Z9, Z9        \
	VPDPWSSD     Z21, Z9, Z11       \
	VPMADDUBSW   132 base, Z18, Z9  \
	VPMADDUBSW   132 base, Z25, Z10 \
	VPSUBW       Z10, Z9, Z9        \
	VPDPWSSD     Z22, Z9, Z11       \
	VPMADDUBSW   196 base, Z19, Z9  \
	VPMADDUBSW   196 base, Z25, Z10 \
	VPSUBW       Z10, Z9, Z9        \
	VPDPWSSD     Z23, Z9, Z11       \
	VEXTRACTI64X4 $1, Z11, Y10      \
	VPADDD       Y10, Y11, Y11      \
	VCVTDQ2PS    Y11, Y11           \
	VMULPS.BCST  0 base, Y24, Y10   \
	VFMADD231PS  Y10, Y11, acc

// Q6KSTORE stores hsum8 of acc's eight lanes (z the whole register, x its
// low 128 bits) at base.
#define Q6KSTORE(z, x, base) \
	HSUM8X2(z, Z8)    \
	VMOVSS   x, base

// func q6KTileAVX512(w *byte, rowSize, nrows int, act *byte, actStride, nact, nb int, dst *float32, dstStride int)
//
// nrows rows of nb Q6_K blocks (row i at w + i*rowSize) against nact <= 8
// Q8_K activation rows (row r at act + r*actStride): dst[r*dstStride + i]
// = vecDotQ6KQ8K.
TEXT ·q6KTileAVX512(SB), NOSPLIT, $0-72
	MOVQ w+0(FP), R8
	MOVQ rowSize+8(FP), DX
	MOVQ nrows+16(FP), R9
	MOVQ dst+56(FP), R10
	MOVQ act+24(FP), DI
	MOVQ actStride+32(FP), R11
	MOVQ nact+40(FP), AX
	LEAQ (R11)(R11*2), R12
	LEAQ (R11)(R11*4), R13
	LEAQ (R12)(R11*4), R14

	VPBROADCASTD bytes20<>(SB), Z25
	VPBROADCASTD nibbleMask<>(SB), Z26
	VPBROADCASTD bytes30<>(SB), Z27
	VMOVDQU32    q6kHighShiftL<>(SB), Z28
	VMOVDQU32    q6kHighShiftR<>(SB), Z29

q6krow:
	// One weight row at a time: its accumulators from zero, its blocks
	// from R8.
	MOVQ R8, SI
	MOVQ act+24(FP), DI
	MOVQ nb+48(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7

q6kloop:
	Q6KQUANTS(0, 128, Z16, Z17)
	Q6KQUANTS(64, 160, Z18, Z19)

	// Scale words: group j gets sc[4j] ×8, sc[4j+1] ×8, sc[4j+2] ×8,
	// sc[4j+3] ×8 (runs 2j and 2j+1, sixteen elements per scale).
	VPMOVSXBW    192(SI), Y8
	VSHUFI32X4   $0x00, Z8, Z8, Z9
	VPSHUFB      q6kScaleCtrl<>+0(SB), Z9, Z20
	VPSHUFB      q6kScaleCtrl<>+64(SB), Z9, Z21
	VSHUFI32X4   $0x55, Z8, Z8, Z9
	VPSHUFB      q6kScaleCtrl<>+0(SB), Z9, Z22
	VPSHUFB      q6kScaleCtrl<>+64(SB), Z9, Z23

	VPBROADCASTW 208(SI), X8
	VCVTPH2PS    X8, Y24

	Q6KACT((DI), Y0)
	CMPQ AX, $1
	JEQ  q6knext
	Q6KACT((DI)(R11*1), Y1)
	CMPQ AX, $2
	JEQ  q6knext
	Q6KACT((DI)(R11*2), Y2)
	CMPQ AX, $3
	JEQ  q6knext
	Q6KACT((DI)(R12*1), Y3)
	CMPQ AX, $4
	JEQ  q6knext
	Q6KACT((DI)(R11*4), Y4)
	CMPQ AX, $5
	JEQ  q6knext
	Q6KACT((DI)(R13*1), Y5)
	CMPQ AX, $6
	JEQ  q6knext
	Q6KACT((DI)(R12*2), Y6)
	CMPQ AX, $7
	JEQ  q6knext
	Q6KACT((DI)(R14*1), Y7)

q6knext:
	PREFETCHT0 4096(SI) // as in q4KTileAVX512
	PREFETCHT0 4160(SI)
	PREFETCHT0 4224(SI)
	PREFETCHT0 4288(SI)
	ADDQ $210, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q6kloop

	MOVQ R10, SI
	MOVQ dstStride+64(FP), BX
	SHLQ $2, BX
	Q6KSTORE(Z0, X0, (SI))
	CMPQ AX, $1
	JEQ  q6kdone
	ADDQ BX, SI
	Q6KSTORE(Z1, X1, (SI))
	CMPQ AX, $2
	JEQ  q6kdone
	ADDQ BX, SI
	Q6KSTORE(Z2, X2, (SI))
	CMPQ AX, $3
	JEQ  q6kdone
	ADDQ BX, SI
	Q6KSTORE(Z3, X3, (SI))
	CMPQ AX, $4
	JEQ  q6kdone
	ADDQ BX, SI
	Q6KSTORE(Z4, X4, (SI))
	CMPQ AX, $5
	JEQ  q6kdone
	ADDQ BX, SI
	Q6KSTORE(Z5, X5, (SI))
	CMPQ AX, $6
	JEQ  q6kdone
	ADDQ BX, SI
	Q6KSTORE(Z6, X6, (SI))
	CMPQ AX, $7
	JEQ  q6kdone
	ADDQ BX, SI
	Q6KSTORE(Z7, X7, (SI))

q6kdone:
	ADDQ $4, R10
	ADDQ DX, R8
	DECQ R9
	JNZ  q6krow
	VZEROUPPER
	RET

// q5kDIndex and q5kDSign make [d ×8 | -dmin | 0 ×7] from [d, dmin, 0, 0]:
// Q5_K keeps its mins in one float, in lane 8.
DATA q5kDIndex<>+0(SB)/8, $0x0000000000000000
DATA q5kDIndex<>+8(SB)/8, $0x0000000000000000
DATA q5kDIndex<>+16(SB)/8, $0x0000000000000000
DATA q5kDIndex<>+24(SB)/8, $0x0000000000000000
DATA q5kDIndex<>+32(SB)/8, $0x0000000200000001
DATA q5kDIndex<>+40(SB)/8, $0x0000000200000002
DATA q5kDIndex<>+48(SB)/8, $0x0000000200000002
DATA q5kDIndex<>+56(SB)/8, $0x0000000200000002
GLOBL q5kDIndex<>(SB), RODATA|NOPTR, $64
DATA q5kDSign<>+0(SB)/8, $0x0000000000000000
DATA q5kDSign<>+8(SB)/8, $0x0000000000000000
DATA q5kDSign<>+16(SB)/8, $0x0000000000000000
DATA q5kDSign<>+24(SB)/8, $0x0000000000000000
DATA q5kDSign<>+32(SB)/8, $0x0000000080000000
DATA q5kDSign<>+40(SB)/8, $0x0000000000000000
DATA q5kDSign<>+48(SB)/8, $0x0000000000000000
DATA q5kDSign<>+56(SB)/8, $0x0000000000000000
GLOBL q5kDSign<>(SB), RODATA|NOPTR, $64

// q5kHighShift: for group j < 4, the word shifts that bring bit 2j of
// each qh byte to bit 0 in the low half and bit 2j+1 in the high half.
DATA q5kHighShift<>+0(SB)/8, $0x0000000000000000
DATA q5kHighShift<>+8(SB)/8, $0x0000000000000000
DATA q5kHighShift<>+16(SB)/8, $0x0000000000000000
DATA q5kHighShift<>+24(SB)/8, $0x0000000000000000
DATA q5kHighShift<>+32(SB)/8, $0x0001000100010001
DATA q5kHighShift<>+40(SB)/8, $0x0001000100010001
DATA q5kHighShift<>+48(SB)/8, $0x0001000100010001
DATA q5kHighShift<>+56(SB)/8, $0x0001000100010001
DATA q5kHighShift<>+64(SB)/8, $0x0002000200020002
DATA q5kHighShift<>+72(SB)/8, $0x0002000200020002
DATA q5kHighShift<>+80(SB)/8, $0x0002000200020002
DATA q5kHighShift<>+88(SB)/8, $0x0002000200020002
DATA q5kHighShift<>+96(SB)/8, $0x0003000300030003
DATA q5kHighShift<>+104(SB)/8, $0x0003000300030003
DATA q5kHighShift<>+112(SB)/8, $0x0003000300030003
DATA q5kHighShift<>+120(SB)/8, $0x0003000300030003
DATA q5kHighShift<>+128(SB)/8, $0x0004000400040004
DATA q5kHighShift<>+136(SB)/8, $0x0004000400040004
DATA q5kHighShift<>+144(SB)/8, $0x0004000400040004
DATA q5kHighShift<>+152(SB)/8, $0x0004000400040004
DATA q5kHighShift<>+160(SB)/8, $0x0005000500050005
DATA q5kHighShift<>+168(SB)/8, $0x0005000500050005
DATA q5kHighShift<>+176(SB)/8, $0x0005000500050005
DATA q5kHighShift<>+184(SB)/8, $0x0005000500050005
DATA q5kHighShift<>+192(SB)/8, $0x0006000600060006
DATA q5kHighShift<>+200(SB)/8, $0x0006000600060006
DATA q5kHighShift<>+208(SB)/8, $0x0006000600060006
DATA q5kHighShift<>+216(SB)/8, $0x0006000600060006
DATA q5kHighShift<>+224(SB)/8, $0x0007000700070007
DATA q5kHighShift<>+232(SB)/8, $0x0007000700070007
DATA q5kHighShift<>+240(SB)/8, $0x0007000700070007
DATA q5kHighShift<>+248(SB)/8, $0x0007000700070007
GLOBL q5kHighShift<>(SB), RODATA|NOPTR, $256

DATA bytes10<>+0(SB)/4, $0x10101010
GLOBL bytes10<>(SB), RODATA|NOPTR, $4

// Q5KBITS adds the fifth bits of group j (qh bits 2j and 2j+1, from the
// qh bytes in both halves of Z25) to the nibbles n: n |= ((qh >> s) << 4)
// & 0x10, s the group's shifts at off(q5kHighShift).
#define Q5KBITS(off, n) \
	VPSRLVW    q5kHighShift<>+off(SB), Z25, Z8 \
	VPSLLW     $4, Z8, Z8                      \
	VPTERNLOGD $0xf8, Z8, Z28, n

// Q5KACT adds block b of the Q8_K activation row at base to acc (lanes
// 0..7: vecDotQ5KQ8K's acc; lane 8: its summs; the rest zero), from the
// block's unpacked weights as in Q4KACT: Z16..Z19 the 5-bit weights, Z20..Z23
// their scale words, Y26 the min words, Z24 [d_w ×8 | -dmin_w | 0 ×7].
// Lane 8 of the integer vector is Σ_j min[j]·(bsum[2j]+bsum[2j+1]), so one
// fused multiply-add by d_y·Z24 does both of the portable kernel's.
#define Q5KACT(base, acc) \
	VPXORD       Z9, Z9, Z9        \
	VPMADDUBSW   4 base, Z16, Z8   \
	VPDPWSSD     Z20, Z8, Z9       \
	VPMADDUBSW   68 base, Z17, Z8  \
	VPDPWSSD     Z21, Z8, Z9       \
	VPMADDUBSW   132 base, Z18, Z8 \
	VPDPWSSD     Z22, Z8, Z9       \
	VPMADDUBSW   196 base, Z19, Z8 \
	VPDPWSSD     Z23, Z8, Z9       \
	VEXTRACTI64X4 $1, Z9, Y10      \
	VPADDD       Y10, Y9, Y9       \
	VPMADDWD     260 base, Y26, Y11 \
	VEXTRACTI128 $1, Y11, X10      \
	VPADDD       X10, X11, X11     \
	VPXOR        X10, X10, X10     \
	VPHADDD      X10, X11, X11     \
	VPHADDD      X10, X11, X11     \
	VINSERTI32X4 $2, X11, Z9, Z9   \
	VCVTDQ2PS    Z9, Z9            \
	VMULPS.BCST  0 base, Z24, Z10  \
	VFMADD231PS  Z10, Z9, acc

// func q5KTileAVX512(w *byte, rowSize, nrows int, act *byte, actStride, nact, nb int, dst *float32, dstStride int)
//
// nrows rows of nb Q5_K blocks (row i at w + i*rowSize) against nact <= 8
// Q8_K activation rows (row r at act + r*actStride): dst[r*dstStride + i]
// = vecDotQ5KQ8K.
TEXT ·q5KTileAVX512(SB), NOSPLIT, $0-72
	MOVQ w+0(FP), R8
	MOVQ rowSize+8(FP), DX
	MOVQ nrows+16(FP), R9
	MOVQ dst+56(FP), R10
	MOVQ act+24(FP), DI
	MOVQ actStride+32(FP), R11
	MOVQ nact+40(FP), AX
	LEAQ (R11)(R11*2), R12
	LEAQ (R11)(R11*4), R13
	LEAQ (R12)(R11*4), R14

	VMOVDQU32    q4kNibShift<>(SB), Z30
	VPBROADCASTD nibbleMask<>(SB), Z31
	VPBROADCASTD bytes10<>(SB), Z28

q5krow:
	// One weight row at a time: its accumulators from zero, its blocks
	// from R8.
	MOVQ R8, SI
	MOVQ act+24(FP), DI
	MOVQ nb+48(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7

q5kloop:
	// Scales and mins as in q4KTileAVX512.
	VMOVDQU      4(SI), X8
	VPSHUFD      $0x4a, X8, X9
	VPSRLVD      q4kUnpackShift<>(SB), X9, X9
	VPAND        q4kUnpackMask<>(SB), X9, X9
	VPSHUFD      $0x0e, X9, X10
	VPOR         X10, X9, X9
	VPANDD.BCST  bytes3f<>(SB), X8, X8
	VPUNPCKLQDQ  X9, X8, X8
	VSHUFI32X4   $0, Z8, Z8, Z8
	VPSHUFB      q4kScaleCtrl<>+0(SB), Z8, Z20
	VPSHUFB      q4kScaleCtrl<>+64(SB), Z8, Z21
	VPSHUFB      q4kScaleCtrl<>+128(SB), Z8, Z22
	VPSHUFB      q4kScaleCtrl<>+192(SB), Z8, Z23
	VPSHUFB      q4kMinCtrl<>(SB), Y8, Y26

	VBROADCASTI64X4 16(SI), Z25
	Q4KNIBBLES(48, Z16)
	Q5KBITS(0, Z16)
	Q4KNIBBLES(80, Z17)
	Q5KBITS(64, Z17)
	Q4KNIBBLES(112, Z18)
	Q5KBITS(128, Z18)
	Q4KNIBBLES(144, Z19)
	Q5KBITS(192, Z19)

	VMOVD       (SI), X10
	VCVTPH2PS   X10, X10
	VMOVDQU32   q5kDIndex<>(SB), Z11
	VPERMPS     Z10, Z11, Z24
	VPXORD      q5kDSign<>(SB), Z24, Z24

	Q5KACT((DI), Z0)
	CMPQ AX, $1
	JEQ  q5knext
	Q5KACT((DI)(R11*1), Z1)
	CMPQ AX, $2
	JEQ  q5knext
	Q5KACT((DI)(R11*2), Z2)
	CMPQ AX, $3
	JEQ  q5knext
	Q5KACT((DI)(R12*1), Z3)
	CMPQ AX, $4
	JEQ  q5knext
	Q5KACT((DI)(R11*4), Z4)
	CMPQ AX, $5
	JEQ  q5knext
	Q5KACT((DI)(R13*1), Z5)
	CMPQ AX, $6
	JEQ  q5knext
	Q5KACT((DI)(R12*2), Z6)
	CMPQ AX, $7
	JEQ  q5knext
	Q5KACT((DI)(R14*1), Z7)

q5knext:
	PREFETCHT0 4096(SI) // as in q4KTileAVX512
	PREFETCHT0 4160(SI)
	PREFETCHT0 4224(SI)
	ADDQ $176, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q5kloop

	// hsum8(lanes 0..7) + lane 8, as Q4KSTORE (the other lanes are zero).
	MOVQ R10, SI
	MOVQ dstStride+64(FP), BX
	SHLQ $2, BX
	Q4KSTORE(Z0, X0, (SI))
	CMPQ AX, $1
	JEQ  q5kdone
	ADDQ BX, SI
	Q4KSTORE(Z1, X1, (SI))
	CMPQ AX, $2
	JEQ  q5kdone
	ADDQ BX, SI
	Q4KSTORE(Z2, X2, (SI))
	CMPQ AX, $3
	JEQ  q5kdone
	ADDQ BX, SI
	Q4KSTORE(Z3, X3, (SI))
	CMPQ AX, $4
	JEQ  q5kdone
	ADDQ BX, SI
	Q4KSTORE(Z4, X4, (SI))
	CMPQ AX, $5
	JEQ  q5kdone
	ADDQ BX, SI
	Q4KSTORE(Z5, X5, (SI))
	CMPQ AX, $6
	JEQ  q5kdone
	ADDQ BX, SI
	Q4KSTORE(Z6, X6, (SI))
	CMPQ AX, $7
	JEQ  q5kdone
	ADDQ BX, SI
	Q4KSTORE(Z7, X7, (SI))

q5kdone:
	ADDQ $4, R10
	ADDQ DX, R8
	DECQ R9
	JNZ  q5krow
	VZEROUPPER
	RET
