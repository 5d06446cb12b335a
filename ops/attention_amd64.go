//go:build amd64 && !purego

package ops

import (
	"unsafe"

	"github.com/infer-go/infer/quant"
)

// Assembly versions of the attention helpers in f16.go (DotF16,
// WeightedSumF16, WeightedSumF32) for CPUs with AVX2, FMA3 and F16C. init
// installs them as f16.go's hooks when simdAvailable; f16.go calls them
// only while SIMD() is on, so SetSIMD(false) and INFER_NOSIMD fall back to
// the portable code, which stays the reference they match bit for bit.

func init() {
	if !simdAvailable() {
		return
	}
	dotF16SIMD = dotF16AVX2
	weightedSumF16SIMD = weightedSumF16Blocks
	weightedSumF32SIMD = weightedSumF32Blocks
}

// weightedSumF16AVX2 computes WeightedSumF16's lanes for nblk blocks of 8
// outputs (dst[8b+k], rows at 8b+k, b < nblk), positions p < nw: for each
// block, lanes (16 or 64) lanes of eight dims at acc (scratch of at least
// 8*lanes floats), all +0; for p = 0, 1, ..., nw-1 in order, lane
// l = p&(lanes-1) gets lane += float32(f16(rows[p*stride+8b+k]) * w[p]) for
// each dim k, skipped when w[p] == 0; then dst[8b+k] = reduce64 (lanes 64)
// or reduce16 (lanes 16) of lane l's dim k over l. The rows of every
// position p < nw must hold 8*nblk elements from p*stride.
//
//go:noescape
func weightedSumF16AVX2(dst, w *float32, nw int, rows *uint16, stride, nblk, lanes int, acc *float32)

// weightedSumF32AVX2 is weightedSumF16AVX2 for float rows, each lane
// updated as lane = fma32(rows[p*stride+8b+k], w[p], lane).
//
//go:noescape
func weightedSumF32AVX2(dst, w *float32, nw int, rows *float32, stride, nblk, lanes int, acc *float32)

// weightedSumF16Blocks is WeightedSumF16's hook: for the shape
// weightedSumShape checked and returned (np positions through lanes lanes),
// it computes dst[d] for every d in whole blocks of eight, the VecOrder tail
// past np included, and returns how many outputs it did; WeightedSumF16
// does the rest.
func weightedSumF16Blocks(dst, w []float32, rows []uint16, stride, np, lanes int) int {
	nblk, nw := len(dst)/8, min(np, len(w))
	if nblk == 0 {
		return 0
	}
	if nw > 0 {
		_ = rows[(nw-1)*stride+8*nblk-1] // every load in bounds
	}
	var acc [8 * vecLanes]float32
	weightedSumF16AVX2(&dst[0], unsafe.SliceData(w), nw, unsafe.SliceData(rows), stride, nblk, lanes, &acc[0])
	// The VecOrder tail in double, each product rounded to float.
	for d := range 8 * nblk {
		if len(w) <= np {
			break
		}
		sum := float64(dst[d])
		for p := np; p < len(w); p++ {
			sum += float64(float32(w[p] * quant.F16ToF32(rows[p*stride+d])))
		}
		dst[d] = float32(sum)
	}
	return 8 * nblk
}

// weightedSumF32Blocks is weightedSumF16Blocks for WeightedSumF32: the
// VecOrder tail fused into a float sum.
func weightedSumF32Blocks(dst, w, rows []float32, stride, np, lanes int) int {
	nblk, nw := len(dst)/8, min(np, len(w))
	if nblk == 0 {
		return 0
	}
	if nw > 0 {
		_ = rows[(nw-1)*stride+8*nblk-1]
	}
	var acc [8 * vecLanes]float32
	weightedSumF32AVX2(&dst[0], unsafe.SliceData(w), nw, unsafe.SliceData(rows), stride, nblk, lanes, &acc[0])
	for d := range 8 * nblk {
		if len(w) <= np {
			break
		}
		sum := dst[d]
		for p := np; p < len(w); p++ {
			sum = fma32(rows[p*stride+d], w[p], sum)
		}
		dst[d] = sum
	}
	return 8 * nblk
}

// dotF16AVX2 is DotF16's hook (a and b of the same length, checked): the
// F16 matrix kernels' assembly on the halves' bytes.
func dotF16AVX2(a, b []uint16, o DotOrder) float32 {
	n := len(a)
	if n == 0 {
		return 0
	}
	x := unsafe.Slice((*byte)(unsafe.Pointer(&a[0])), 2*n)
	y := unsafe.Slice((*byte)(unsafe.Pointer(&b[0])), 2*n)
	if o == BatchOrder {
		return vecDotF16BatchAVX2(n, x, y)
	}
	return vecDotF16AVX2(n, x, y)
}
