//go:build amd64 && !purego

#include "textflag.h"

// AVX2 tile kernels (see tile_avx2_amd64.go): several outputs at once, each
// summed exactly as its portable dot function sums it. Without VNNI the
// integer products go through VPMADDUBSW (unsigned weight bytes times
// signed activation bytes, pairs added into int16 lanes) and VPMADDWD (by
// ones: pairs of int16 added into int32 lanes); for 4-bit weights the
// int16 lanes cannot overflow even after eight of them are added:
// 8·2·15·128 = 30720 < 32768, so every integer is exact.

DATA avx2Nibbles<>+0(SB)/4, $0x0f0f0f0f
GLOBL avx2Nibbles<>(SB), RODATA|NOPTR, $4
DATA avx2Ones<>+0(SB)/8, $0x0001000100010001
DATA avx2Ones<>+8(SB)/8, $0x0001000100010001
DATA avx2Ones<>+16(SB)/8, $0x0001000100010001
DATA avx2Ones<>+24(SB)/8, $0x0001000100010001
GLOBL avx2Ones<>(SB), RODATA|NOPTR, $32

// q4rOrder8 puts the lanes of q4_0RVecAVX2 back in row order: lane L holds
// row 2*(L%4) + L/4, so row i is lane 4*(i%2) + i/2.
DATA q4rOrder8<>+0(SB)/4, $0
DATA q4rOrder8<>+4(SB)/4, $4
DATA q4rOrder8<>+8(SB)/4, $1
DATA q4rOrder8<>+12(SB)/4, $5
DATA q4rOrder8<>+16(SB)/4, $2
DATA q4rOrder8<>+20(SB)/4, $6
DATA q4rOrder8<>+24(SB)/4, $3
DATA q4rOrder8<>+28(SB)/4, $7
GLOBL q4rOrder8<>(SB), RODATA|NOPTR, $32

// Q4RGROUP adds to the int16 lanes of Y12 the products of the row lanes'
// nibbles in Y8 with the activation group of four at off(DI), broadcast.
#define Q4RGROUP(n, off) \
	VPBROADCASTD off(DI), Y10 \
	VPMADDUBSW   Y10, n, Y11  \
	VPADDW       Y11, Y12, Y12

// Q4RDWORD adds the two nibble groups of the transposed dword group t: the
// low nibbles (elements 4k..4k+3) against activation group k at lo(DI), the
// high ones (16+4k..) against group 4+k at hi(DI).
#define Q4RDWORD(t, lo, hi) \
	VPAND   Y15, t, Y8  \
	Q4RGROUP(Y8, lo)    \
	VPSRLW  $4, t, Y9   \
	VPAND   Y15, Y9, Y9 \
	Q4RGROUP(Y9, hi)

// func q4_0RVecAVX2(w *byte, rowSize int, act *byte, nb int, dst *float32)
//
// Eight rows of nb Q4_0 blocks (row i at w + i*rowSize) against one
// activation row prepared by prepQ4_0Repacked: dst[i] =
// vecDotQ4_0Q8_0Repacked of row i. The rows' qs are transposed so that
// each of eight lanes holds one row: per block the int16 lanes gather all
// 32 products q·y of the row, VPMADDWD adds their pairs, -8·Σy makes it
// Σ (q-8)·y exactly; then acc = fma(float(sum), d_w·d_y, acc).
TEXT ·q4_0RVecAVX2(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ rowSize+8(FP), BX
	MOVQ act+16(FP), DI
	MOVQ nb+24(FP), CX
	LEAQ (BX)(BX*2), DX    // 3 rows
	LEAQ (SI)(BX*4), R8    // rows 4..7
	LEAQ (R8)(BX*4), R9
	LEAQ (R9)(BX*8), R9    // eight rows past the next eight, prefetched as we go
	VPBROADCASTD avx2Nibbles<>(SB), Y15
	VXORPS       Y13, Y13, Y13

q4rvloop:
	// Rows 2m and 2m+1 in the lanes of Ym.
	VMOVDQU      2(SI), X0
	VINSERTI128  $1, 2(SI)(BX*1), Y0, Y0
	VMOVDQU      2(SI)(BX*2), X1
	VINSERTI128  $1, 2(SI)(DX*1), Y1, Y1
	VMOVDQU      2(R8), X2
	VINSERTI128  $1, 2(R8)(BX*1), Y2, Y2
	VMOVDQU      2(R8)(BX*2), X3
	VINSERTI128  $1, 2(R8)(DX*1), Y3, Y3

	// The scales in lane order (rows 0, 2, 4, 6, 1, 3, 5, 7).
	MOVWLZX   (SI), AX
	VMOVD     AX, X14
	VPINSRW   $1, (SI)(BX*2), X14, X14
	VPINSRW   $2, (R8), X14, X14
	VPINSRW   $3, (R8)(BX*2), X14, X14
	VPINSRW   $4, (SI)(BX*1), X14, X14
	VPINSRW   $5, (SI)(DX*1), X14, X14
	VPINSRW   $6, (R8)(BX*1), X14, X14
	VPINSRW   $7, (R8)(DX*1), X14, X14
	VCVTPH2PS X14, Y14

	// In-lane 4x4 transpose of dwords: Yk gets dword k of every row, lane
	// L from row 2*(L%4) + L/4.
	VPUNPCKLDQ  Y1, Y0, Y4
	VPUNPCKHDQ  Y1, Y0, Y5
	VPUNPCKLDQ  Y3, Y2, Y6
	VPUNPCKHDQ  Y3, Y2, Y7
	VPUNPCKLQDQ Y6, Y4, Y0
	VPUNPCKHQDQ Y6, Y4, Y1
	VPUNPCKLQDQ Y7, Y5, Y2
	VPUNPCKHQDQ Y7, Y5, Y3

	VPXOR Y12, Y12, Y12
	Q4RDWORD(Y0, 0, 16)
	Q4RDWORD(Y1, 4, 20)
	Q4RDWORD(Y2, 8, 24)
	Q4RDWORD(Y3, 12, 28)

	VPMADDWD     avx2Ones<>(SB), Y12, Y12
	VPBROADCASTD 32(DI), Y10
	VPADDD       Y10, Y12, Y12
	VCVTDQ2PS    Y12, Y12
	VBROADCASTSS 36(DI), Y10
	VMULPS       Y10, Y14, Y14
	VFMADD231PS  Y14, Y12, Y13

	PREFETCHT0 (R9)
	PREFETCHT0 64(R9)
	PREFETCHT0 128(R9)
	ADDQ $144, R9
	ADDQ $18, SI
	ADDQ $18, R8
	ADDQ $40, DI
	DECQ CX
	JNZ  q4rvloop

	MOVQ    dst+32(FP), SI
	VMOVDQU q4rOrder8<>(SB), Y0
	VPERMPS Y13, Y0, Y13
	VMOVUPS Y13, (SI)
	VZEROUPPER
	RET

// Q4AGROUP adds to the int16 lanes of Y12 (one per activation row) the
// products of one nibble group of the weight row, n (the same four
// weights in every lane), with the activation rows' groups at off(DI).
#define Q4AGROUP(n, off) \
	VPMADDUBSW off(DI), n, Y11 \
	VPADDW     Y11, Y12, Y12

// Q4ADWORD adds dword k of the weight row's qs (at qoff(SI)): its low
// nibbles against activation group k (at lo(DI)), its high ones against
// group 4+k (at hi(DI)).
#define Q4ADWORD(qoff, lo, hi) \
	VPBROADCASTD qoff(R8), Y8 \
	VPAND   Y15, Y8, Y9       \
	Q4AGROUP(Y9, lo)          \
	VPSRLW  $4, Y8, Y8        \
	VPAND   Y15, Y8, Y8       \
	Q4AGROUP(Y8, hi)

// func q4_0RActsAVX2(w *byte, rowSize, nrows int, act *byte, nb int, dst *float32, dstStride, nact int)
//
// nrows rows of nb Q4_0 blocks (row i at w + i*rowSize) against a group of
// up to eight activation rows laid out by q4_0ActGroups, one per lane:
// dst[r*dstStride + i] = vecDotQ4_0Q8_0Repacked of row i and activation r,
// for r < nact. Per block the int16 lanes gather the 32 products q·y of
// each activation row, VPMADDWD adds their pairs, -8·Σy makes it Σ (q-8)·y
// exactly; then acc = fma(float(sum), d_w·d_y, acc).
TEXT ·q4_0RActsAVX2(SB), NOSPLIT, $32-64
	MOVQ w+0(FP), SI
	MOVQ nrows+16(FP), R10
	MOVQ dst+40(FP), R11
	MOVQ dstStride+48(FP), R12
	SHLQ $2, R12
	VPBROADCASTD avx2Nibbles<>(SB), Y15
	VMOVDQU      avx2Ones<>(SB), Y14

q4arow:
	MOVQ act+24(FP), DI
	MOVQ nb+32(FP), CX
	MOVQ SI, R8
	VXORPS Y13, Y13, Y13

q4ablock:
	VPBROADCASTW (R8), X10
	VCVTPH2PS    X10, Y10
	VPXOR        Y12, Y12, Y12
	Q4ADWORD(2, 0, 128)
	Q4ADWORD(6, 32, 160)
	Q4ADWORD(10, 64, 192)
	Q4ADWORD(14, 96, 224)
	VPMADDWD     Y14, Y12, Y12
	VPADDD       256(DI), Y12, Y12
	VCVTDQ2PS    Y12, Y12
	VMULPS       288(DI), Y10, Y10
	VFMADD231PS  Y10, Y12, Y13
	ADDQ $18, R8
	ADDQ $320, DI
	DECQ CX
	JNZ  q4ablock

	// Lane r to dst[r*dstStride + i], r < nact.
	VMOVUPS Y13, (SP)
	MOVQ    nact+56(FP), CX
	MOVQ    R11, DX
	XORQ    AX, AX
q4astore:
	MOVL (SP)(AX*4), BX
	MOVL BX, (DX)
	ADDQ R12, DX
	INCQ AX
	CMPQ AX, CX
	JNE  q4astore
q4astored:
	ADDQ $4, R11
	ADDQ rowSize+8(FP), SI
	DECQ R10
	JNZ  q4arow
	VZEROUPPER
	RET

// Q8PAIR2 adds block b of one weight row (w in wr, |w| in ar, d_w in dr)
// against one activation row (y in Y12, d_y in Y14) to acc: VPSIGNB gives
// y·sign(w) and VPMADDUBSW |w|·(y·sign(w)) = w·y in pairs, exact in int16
// because the activations are within ±127 (the Q8_0 quantizer's range:
// |2·128·127| < 32768); VPMADDWD by ones adds the pairs, so lane l is Σ w·y
// over elements 4l..4l+3; then acc = fma(d_w·d_y, float(lane), acc).
#define Q8PAIR2(wr, ar, dr, acc) \
	VPSIGNB     wr, Y12, Y13           \
	VPMADDUBSW  Y13, ar, Y13           \
	VPMADDWD    avx2Ones<>(SB), Y13, Y13 \
	VCVTDQ2PS   Y13, Y13               \
	VMULPS      Y14, dr, Y15           \
	VFMADD231PS Y15, Y13, acc

// Q8ACT2 adds block b of the activation row at base to both rows'
// accumulators aa and ab.
#define Q8ACT2(base, aa, ab) \
	VMOVDQU      2 base, Y12   \
	VPBROADCASTW base, X14     \
	VCVTPH2PS    X14, Y14      \
	Q8PAIR2(Y6, Y7, Y10, aa)   \
	Q8PAIR2(Y8, Y9, Y11, ab)

// Q8HSUM stores hsum8 of acc (x its low half) at base:
// ((a0+a4) + (a2+a6)) + ((a1+a5) + (a3+a7)).
#define Q8HSUM(acc, x, base) \
	VEXTRACTF128 $1, acc, X13 \
	VADDPS    X13, x, x       \
	VMOVHLPS  x, x, X13       \
	VADDPS    X13, x, x       \
	VMOVSHDUP x, X13          \
	VADDSS    X13, x, x       \
	VMOVSS    x, base

// func q8_0TileAVX2(w *byte, rowSize int, act *byte, actStride, nact, nb int, dst *float32, dstStride int)
//
// Two rows of nb Q8_0 blocks (at w and w + rowSize) against nact <= 3 Q8_0
// activation rows (row r at act + r*actStride), whose quants are within
// ±127: dst[r*dstStride + i] = vecDotQ8_0Q8_0 of row i and activation r.
// Row 0's accumulators are Y0..Y2, row 1's Y3..Y5.
TEXT ·q8_0TileAVX2(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), SI
	MOVQ rowSize+8(FP), BX
	MOVQ act+16(FP), DI
	MOVQ actStride+24(FP), R11
	MOVQ nact+32(FP), AX
	MOVQ nb+40(FP), CX
	LEAQ (SI)(BX*2), R9 // the next two rows, prefetched as we go
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5

q8t2loop:
	VMOVDQU      2(SI), Y6
	VPABSB       Y6, Y7
	VMOVDQU      2(SI)(BX*1), Y8
	VPABSB       Y8, Y9
	VPBROADCASTW (SI), X10
	VCVTPH2PS    X10, Y10
	VPBROADCASTW (SI)(BX*1), X11
	VCVTPH2PS    X11, Y11

	Q8ACT2((DI), Y0, Y3)
	CMPQ AX, $1
	JEQ  q8t2next
	Q8ACT2((DI)(R11*1), Y1, Y4)
	CMPQ AX, $2
	JEQ  q8t2next
	Q8ACT2((DI)(R11*2), Y2, Y5)

q8t2next:
	PREFETCHT0 (R9)
	PREFETCHT0 (R9)(BX*1)
	ADDQ $34, R9
	ADDQ $34, SI
	ADDQ $34, DI
	DECQ CX
	JNZ  q8t2loop

	MOVQ dst+48(FP), DX
	MOVQ dstStride+56(FP), BX
	SHLQ $2, BX
	Q8HSUM(Y0, X0, (DX))
	Q8HSUM(Y3, X3, 4(DX))
	CMPQ AX, $1
	JEQ  q8t2done
	ADDQ BX, DX
	Q8HSUM(Y1, X1, (DX))
	Q8HSUM(Y4, X4, 4(DX))
	CMPQ AX, $2
	JEQ  q8t2done
	ADDQ BX, DX
	Q8HSUM(Y2, X2, (DX))
	Q8HSUM(Y5, X5, 4(DX))

q8t2done:
	VZEROUPPER
	RET
