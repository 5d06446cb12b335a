//go:build amd64 && !purego

#include "textflag.h"
#include "tile_amd64.h"

// AVX-512 (F, BW, VL) + VNNI tile kernels: several weight rows against
// several activation rows at once, every output summed exactly as its
// portable dot function sums it (see tile_avx512_amd64.go). VPDPBUSD adds
// four exact products of unsigned weight bytes and signed activation bytes
// into each int32 lane, with no intermediate rounding or saturation, so
// every integer is exact for all inputs.

// q4rPerm maps the lanes of the Q4_0 repacked kernel to rows: after the
// in-lane 4x4 transpose, dword lane L holds row 4*(L%4) + L/4 (an
// involution, so the same table also puts the lanes back in row order).
DATA q4rPerm<>+0(SB)/4, $0
DATA q4rPerm<>+4(SB)/4, $4
DATA q4rPerm<>+8(SB)/4, $8
DATA q4rPerm<>+12(SB)/4, $12
DATA q4rPerm<>+16(SB)/4, $1
DATA q4rPerm<>+20(SB)/4, $5
DATA q4rPerm<>+24(SB)/4, $9
DATA q4rPerm<>+28(SB)/4, $13
DATA q4rPerm<>+32(SB)/4, $2
DATA q4rPerm<>+36(SB)/4, $6
DATA q4rPerm<>+40(SB)/4, $10
DATA q4rPerm<>+44(SB)/4, $14
DATA q4rPerm<>+48(SB)/4, $3
DATA q4rPerm<>+52(SB)/4, $7
DATA q4rPerm<>+56(SB)/4, $11
DATA q4rPerm<>+60(SB)/4, $15
GLOBL q4rPerm<>(SB), RODATA|NOPTR, $64

DATA nibbleMask<>+0(SB)/4, $0x0f0f0f0f
GLOBL nibbleMask<>(SB), RODATA|NOPTR, $4

// Q4RACT adds block b of one activation row (prepared by prepQ4_0Repacked:
// qs[32], then -8·Σqs as int32, then d as float32, at base) to the sixteen
// row lanes of acc: the exact integer Σ (q-8)·y = -8·Σy + Σ q·y of each
// row, formed in Z21 by eight VPDPBUSD of the row lanes' nibbles (Z12..Z15
// the low nibbles of groups 0..3, Z16..Z19 the high ones) against the
// activation's groups of four, then acc = fma(float(sum), d_w·d_y, acc),
// with Z20 holding the rows' d_w.
#define Q4RACT(acc, base) \
	VPBROADCASTD 32 base, Z21      \
	VMULPS.BCST  36 base, Z20, Z22 \
	VPDPBUSD.BCST 0 base, Z12, Z21  \
	VPDPBUSD.BCST 4 base, Z13, Z21  \
	VPDPBUSD.BCST 8 base, Z14, Z21  \
	VPDPBUSD.BCST 12 base, Z15, Z21 \
	VPDPBUSD.BCST 16 base, Z16, Z21 \
	VPDPBUSD.BCST 20 base, Z17, Z21 \
	VPDPBUSD.BCST 24 base, Z18, Z21 \
	VPDPBUSD.BCST 28 base, Z19, Z21 \
	VCVTDQ2PS    Z21, Z21          \
	VFMADD231PS  Z22, Z21, acc

// Q4RSTORE puts acc's lanes back in row order and stores them at base.
#define Q4RSTORE(acc, base) \
	VPERMPS acc, Z28, acc \
	VMOVUPS acc, base

// func q4_0RTileAVX512(w *byte, rowSize int, act *byte, actStride, nact, nb int, dst *float32, dstStride int)
TEXT ·q4_0RTileAVX512(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), SI
	MOVQ rowSize+8(FP), BX
	MOVQ act+16(FP), DI
	MOVQ actStride+24(FP), R11
	MOVQ nact+32(FP), AX
	// K2..K4 select the 128-bit lanes 1..3: a masked broadcast loads a
	// row into its lane without a shuffle.
	MOVL  $0x00f0, CX
	KMOVW CX, K2
	MOVL  $0x0f00, CX
	KMOVW CX, K3
	MOVL  $0xf000, CX
	KMOVW CX, K4
	MOVQ nb+40(FP), CX
	LEAQ (BX)(BX*2), DX   // 3 rows
	LEAQ (SI)(BX*4), R8   // rows 4..7
	LEAQ (SI)(BX*8), R9   // rows 8..11
	LEAQ (R8)(BX*8), R10  // rows 12..15
	LEAQ (R11)(R11*2), R12 // 3 activation rows
	LEAQ (DI)(R11*4), R13  // activation rows 4..7
	LEAQ (R10)(BX*4), R14  // the next 16 rows, prefetched as we go

	// Z29: the gather offsets of the lanes' rows; Z28: the lane order.
	VMOVDQU32    q4rPerm<>(SB), Z28
	VPBROADCASTD BX, Z29
	VPMULLD      Z28, Z29, Z29
	VPBROADCASTD nibbleMask<>(SB), Z23
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7

q4rloop:
	// The sixteen rows' qs: Z8 rows 0..3 (one per 128-bit lane), Z9 rows
	// 4..7, Z10 8..11, Z11 12..15.
	VMOVDQU      2(SI), X8
	VBROADCASTI32X4 2(SI)(BX*1), K2, Z8
	VBROADCASTI32X4 2(SI)(BX*2), K3, Z8
	VBROADCASTI32X4 2(SI)(DX*1), K4, Z8
	VMOVDQU      2(R8), X9
	VBROADCASTI32X4 2(R8)(BX*1), K2, Z9
	VBROADCASTI32X4 2(R8)(BX*2), K3, Z9
	VBROADCASTI32X4 2(R8)(DX*1), K4, Z9
	VMOVDQU      2(R9), X10
	VBROADCASTI32X4 2(R9)(BX*1), K2, Z10
	VBROADCASTI32X4 2(R9)(BX*2), K3, Z10
	VBROADCASTI32X4 2(R9)(DX*1), K4, Z10
	VMOVDQU      2(R10), X11
	VBROADCASTI32X4 2(R10)(BX*1), K2, Z11
	VBROADCASTI32X4 2(R10)(BX*2), K3, Z11
	VBROADCASTI32X4 2(R10)(DX*1), K4, Z11

	// The rows' f16 scales, in lane order, as floats.
	// A gather merges into its destination and clears its mask: both are
	// made anew (zero idiom, K2) so that no block waits for the last one's.
	VPXORD     Z20, Z20, Z20
	KXNORW     K2, K2, K1
	VPGATHERDD (SI)(Z29*1), K1, Z20
	VPMOVDW    Z20, Y20
	VCVTPH2PS  Y20, Z20

	// In-lane 4x4 transpose of dwords: Z8+k gets group k (qs bytes
	// 4k..4k+3) of every row, lane L from row 4*(L%4) + L/4.
	VPUNPCKLDQ  Z9, Z8, Z24
	VPUNPCKHDQ  Z9, Z8, Z25
	VPUNPCKLDQ  Z11, Z10, Z26
	VPUNPCKHDQ  Z11, Z10, Z27
	VPUNPCKLQDQ Z26, Z24, Z8
	VPUNPCKHQDQ Z26, Z24, Z9
	VPUNPCKLQDQ Z27, Z25, Z10
	VPUNPCKHQDQ Z27, Z25, Z11

	// Low nibbles: elements 4k..4k+3; high nibbles: 16+4k..16+4k+3.
	VPANDD Z23, Z8, Z12
	VPANDD Z23, Z9, Z13
	VPANDD Z23, Z10, Z14
	VPANDD Z23, Z11, Z15
	VPSRLW $4, Z8, Z16
	VPSRLW $4, Z9, Z17
	VPSRLW $4, Z10, Z18
	VPSRLW $4, Z11, Z19
	VPANDD Z23, Z16, Z16
	VPANDD Z23, Z17, Z17
	VPANDD Z23, Z18, Z18
	VPANDD Z23, Z19, Z19

	Q4RACT(Z0, (DI))
	CMPQ AX, $1
	JEQ  q4rnext
	Q4RACT(Z1, (DI)(R11*1))
	CMPQ AX, $2
	JEQ  q4rnext
	Q4RACT(Z2, (DI)(R11*2))
	CMPQ AX, $3
	JEQ  q4rnext
	Q4RACT(Z3, (DI)(R12*1))
	CMPQ AX, $4
	JEQ  q4rnext
	Q4RACT(Z4, (R13))
	CMPQ AX, $5
	JEQ  q4rnext
	Q4RACT(Z5, (R13)(R11*1))
	CMPQ AX, $6
	JEQ  q4rnext
	Q4RACT(Z6, (R13)(R11*2))
	CMPQ AX, $7
	JEQ  q4rnext
	Q4RACT(Z7, (R13)(R12*1))

q4rnext:
	// The rows are read sixteen at a time, 18 bytes from each per block:
	// too many streams for the hardware prefetchers, so the next sixteen
	// rows (one contiguous run of 16*rowSize bytes) are fetched in order,
	// 288 bytes per block, while these are multiplied.
	PREFETCHT0 (R14)
	PREFETCHT0 64(R14)
	PREFETCHT0 128(R14)
	PREFETCHT0 192(R14)
	PREFETCHT0 256(R14)
	ADDQ $288, R14
	ADDQ $18, SI
	ADDQ $18, R8
	ADDQ $18, R9
	ADDQ $18, R10
	ADDQ $40, DI
	ADDQ $40, R13
	DECQ CX
	JNZ  q4rloop

	MOVQ dst+48(FP), SI
	MOVQ dstStride+56(FP), BX
	SHLQ $2, BX
	Q4RSTORE(Z0, (SI))
	CMPQ AX, $1
	JEQ  q4rdone
	ADDQ BX, SI
	Q4RSTORE(Z1, (SI))
	CMPQ AX, $2
	JEQ  q4rdone
	ADDQ BX, SI
	Q4RSTORE(Z2, (SI))
	CMPQ AX, $3
	JEQ  q4rdone
	ADDQ BX, SI
	Q4RSTORE(Z3, (SI))
	CMPQ AX, $4
	JEQ  q4rdone
	ADDQ BX, SI
	Q4RSTORE(Z4, (SI))
	CMPQ AX, $5
	JEQ  q4rdone
	ADDQ BX, SI
	Q4RSTORE(Z5, (SI))
	CMPQ AX, $6
	JEQ  q4rdone
	ADDQ BX, SI
	Q4RSTORE(Z6, (SI))
	CMPQ AX, $7
	JEQ  q4rdone
	ADDQ BX, SI
	Q4RSTORE(Z7, (SI))

q4rdone:
	VZEROUPPER
	RET

DATA bytes80<>+0(SB)/4, $0x80808080
GLOBL bytes80<>(SB), RODATA|NOPTR, $4

// q8Pairs: for p < 4, the VPERMPS index that spreads lanes 2p and 2p+1 of
// an 8-float vector of row scales over the two halves of a register.
DATA q8Pairs<>+0(SB)/8, $0x0000000000000000
DATA q8Pairs<>+8(SB)/8, $0x0000000000000000
DATA q8Pairs<>+16(SB)/8, $0x0000000000000000
DATA q8Pairs<>+24(SB)/8, $0x0000000000000000
DATA q8Pairs<>+32(SB)/8, $0x0000000100000001
DATA q8Pairs<>+40(SB)/8, $0x0000000100000001
DATA q8Pairs<>+48(SB)/8, $0x0000000100000001
DATA q8Pairs<>+56(SB)/8, $0x0000000100000001
DATA q8Pairs<>+64(SB)/8, $0x0000000200000002
DATA q8Pairs<>+72(SB)/8, $0x0000000200000002
DATA q8Pairs<>+80(SB)/8, $0x0000000200000002
DATA q8Pairs<>+88(SB)/8, $0x0000000200000002
DATA q8Pairs<>+96(SB)/8, $0x0000000300000003
DATA q8Pairs<>+104(SB)/8, $0x0000000300000003
DATA q8Pairs<>+112(SB)/8, $0x0000000300000003
DATA q8Pairs<>+120(SB)/8, $0x0000000300000003
DATA q8Pairs<>+128(SB)/8, $0x0000000400000004
DATA q8Pairs<>+136(SB)/8, $0x0000000400000004
DATA q8Pairs<>+144(SB)/8, $0x0000000400000004
DATA q8Pairs<>+152(SB)/8, $0x0000000400000004
DATA q8Pairs<>+160(SB)/8, $0x0000000500000005
DATA q8Pairs<>+168(SB)/8, $0x0000000500000005
DATA q8Pairs<>+176(SB)/8, $0x0000000500000005
DATA q8Pairs<>+184(SB)/8, $0x0000000500000005
DATA q8Pairs<>+192(SB)/8, $0x0000000600000006
DATA q8Pairs<>+200(SB)/8, $0x0000000600000006
DATA q8Pairs<>+208(SB)/8, $0x0000000600000006
DATA q8Pairs<>+216(SB)/8, $0x0000000600000006
DATA q8Pairs<>+224(SB)/8, $0x0000000700000007
DATA q8Pairs<>+232(SB)/8, $0x0000000700000007
DATA q8Pairs<>+240(SB)/8, $0x0000000700000007
DATA q8Pairs<>+248(SB)/8, $0x0000000700000007
GLOBL q8Pairs<>(SB), RODATA|NOPTR, $256

// rowIndex: dword i = i, to make gather offsets.
DATA rowIndex<>+0(SB)/8, $0x0000000100000000
DATA rowIndex<>+8(SB)/8, $0x0000000300000002
DATA rowIndex<>+16(SB)/8, $0x0000000500000004
DATA rowIndex<>+24(SB)/8, $0x0000000700000006
GLOBL rowIndex<>(SB), RODATA|NOPTR, $32

// Q8PAIR adds block b of the row pair p (its weights w+128 in both halves
// of wp, its scales d_w in both halves of dp) against activation row r
// (block in both halves of Z27, Z28 = 128·Σ of each lane's four
// activations, Z29 = d_y) to acc, the lanes of vecDotQ8_0Q8_0: VPDPBUSD
// less Z28 is exactly Σ w·y over elements 4l..4l+3 in lane l, then
// acc = fma(d_w·d_y, float(lane), acc).
#define Q8PAIR(wp, dp, acc) \
	VPXORD      Z30, Z30, Z30 \
	VPDPBUSD    Z27, wp, Z30  \
	VPSUBD      Z28, Z30, Z30 \
	VCVTDQ2PS   Z30, Z30      \
	VMULPS      Z29, dp, Z31  \
	VFMADD231PS Z31, Z30, acc

// Q8ACT adds block b of the activation row at base to the four row pairs'
// accumulators a0..a3.
#define Q8ACT(base, a0, a1, a2, a3) \
	VBROADCASTI64X4 2 base, Z27    \
	VPXORD          Z28, Z28, Z28  \
	VPDPBUSD        Z27, Z16, Z28  \
	VPBROADCASTW    base, Y29      \
	VCVTPH2PS       Y29, Z29       \
	Q8PAIR(Z17, Z23, a0)           \
	Q8PAIR(Z18, Z24, a1)           \
	Q8PAIR(Z19, Z25, a2)           \
	Q8PAIR(Z20, Z26, a3)

// Q8W loads block b of rows ra and rb into the halves of wp as w+128 (a
// masked broadcast, K5 the upper half, puts rb in without a shuffle).
#define Q8W(ra, rb, wp) \
	VMOVDQU32       2 ra, Y30       \
	VBROADCASTI64X4 2 rb, K5, Z30   \
	VPXORD          Z16, Z30, wp

// Q8OUT stores the two results of acc (rows 2p and 2p+1; x is acc's low
// register) at base and 4+base.
#define Q8OUT(acc, x, base) \
	HSUM8X2(acc, Z30)          \
	VMOVSS        x, base      \
	VEXTRACTF32X4 $2, acc, X30 \
	VMOVSS        X30, 4+base

// Q8STORE stores the outputs of one activation row, accumulators a0..a3,
// at (DX) and advances DX by BX.
#define Q8STORE(a0, x0, a1, x1, a2, x2, a3, x3) \
	Q8OUT(a0, x0, 0(DX))  \
	Q8OUT(a1, x1, 8(DX))  \
	Q8OUT(a2, x2, 16(DX)) \
	Q8OUT(a3, x3, 24(DX)) \
	ADDQ BX, DX

// func q8_0TileAVX512(w *byte, rowSize int, act *byte, actStride, nact, nb int, dst *float32, dstStride int)
//
// Eight rows of nb Q8_0 blocks (row i at w + i*rowSize) against nact <= 4
// Q8_0 activation rows (row r at act + r*actStride): dst[r*dstStride + i]
// = vecDotQ8_0Q8_0 of row i and activation r. Rows 2p and 2p+1 share a
// register, one in each half; activation r's accumulators are Z(4r)..Z(4r+3).
TEXT ·q8_0TileAVX512(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), SI
	MOVQ rowSize+8(FP), BX
	MOVQ act+16(FP), DI
	MOVQ actStride+24(FP), R11
	MOVQ nact+32(FP), AX
	MOVQ nb+40(FP), CX
	LEAQ (BX)(BX*2), DX
	LEAQ (SI)(BX*4), R8
	LEAQ (R11)(R11*2), R12
	LEAQ (R8)(BX*4), R9 // the next eight rows, prefetched as we go
	MOVL  $0xf0, R10 // qwords 4..7
	KMOVW R10, K5

	VPBROADCASTD bytes80<>(SB), Z16
	VPBROADCASTD BX, Y21
	VPMULLD      rowIndex<>(SB), Y21, Y21
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15

q8tloop:
	Q8W((SI), (SI)(BX*1), Z17)
	Q8W((SI)(BX*2), (SI)(DX*1), Z18)
	Q8W((R8), (R8)(BX*1), Z19)
	Q8W((R8)(BX*2), (R8)(DX*1), Z20)

	// The eight rows' d_w, then each pair's in the halves of Z23..Z26.
	VPXORD     Y22, Y22, Y22 // no wait for the last block's gather
	KXNORW     K2, K2, K1
	VPGATHERDD (SI)(Y21*1), K1, Y22
	VPMOVDW    Y22, X22
	VCVTPH2PS  X22, Y22
	VMOVDQU32  q8Pairs<>+0(SB), Z30
	VPERMPS    Z22, Z30, Z23
	VMOVDQU32  q8Pairs<>+64(SB), Z30
	VPERMPS    Z22, Z30, Z24
	VMOVDQU32  q8Pairs<>+128(SB), Z30
	VPERMPS    Z22, Z30, Z25
	VMOVDQU32  q8Pairs<>+192(SB), Z30
	VPERMPS    Z22, Z30, Z26

	Q8ACT((DI), Z0, Z1, Z2, Z3)
	CMPQ AX, $1
	JEQ  q8tnext
	Q8ACT((DI)(R11*1), Z4, Z5, Z6, Z7)
	CMPQ AX, $2
	JEQ  q8tnext
	Q8ACT((DI)(R11*2), Z8, Z9, Z10, Z11)
	CMPQ AX, $3
	JEQ  q8tnext
	Q8ACT((DI)(R12*1), Z12, Z13, Z14, Z15)

q8tnext:
	// Eight rows are read at once, 34 bytes from each per block: the next
	// eight (one contiguous run of 8*rowSize bytes) are fetched in order,
	// 272 bytes per block, for the hardware prefetchers cannot follow so
	// many streams.
	PREFETCHT0 (R9)
	PREFETCHT0 64(R9)
	PREFETCHT0 128(R9)
	PREFETCHT0 192(R9)
	PREFETCHT0 256(R9)
	ADDQ $272, R9
	ADDQ $34, SI
	ADDQ $34, R8
	ADDQ $34, DI
	DECQ CX
	JNZ  q8tloop

	MOVQ dst+48(FP), DX
	MOVQ dstStride+56(FP), BX
	SHLQ $2, BX
	Q8STORE(Z0, X0, Z1, X1, Z2, X2, Z3, X3)
	CMPQ AX, $1
	JEQ  q8tdone
	Q8STORE(Z4, X4, Z5, X5, Z6, X6, Z7, X7)
	CMPQ AX, $2
	JEQ  q8tdone
	Q8STORE(Z8, X8, Z9, X9, Z10, X10, Z11, X11)
	CMPQ AX, $3
	JEQ  q8tdone
	Q8STORE(Z12, X12, Z13, X13, Z14, X14, Z15, X15)

q8tdone:
	VZEROUPPER
	RET
