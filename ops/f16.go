package ops

import (
	"fmt"

	"github.com/infer-go/infer/quant"
)

// Helpers for f16 vectors, such as a key/value cache stored as binary16.

// ConvertF32ToF16 rounds src to binary16 (nearest, ties to even) into dst,
// which has the same length.
func ConvertF32ToF16(dst []uint16, src []float32) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("ops: ConvertF32ToF16: lengths %d and %d differ", len(dst), len(src)))
	}
	for i, v := range src {
		dst[i] = quant.F32ToF16(v)
	}
}

// ConvertF16ToF32 widens src into dst, which has the same length.
func ConvertF16ToF32(dst []float32, src []uint16) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("ops: ConvertF16ToF32: lengths %d and %d differ", len(dst), len(src)))
	}
	for i, h := range src {
		dst[i] = quant.F16ToF32(h)
	}
}

// DotOrder is one of the two orders in which llama.cpp's reference build
// (AVX-512 + FMA) sums an element of a product of F16 (or F32) matrices.
type DotOrder uint8

const (
	// VecOrder is ggml_vec_dot_f16's (and _f32's), used when the product has
	// a single activation column (one token): 64 float lanes, element i
	// accumulated into lane i%64 by a fused multiply-add over each full run
	// of 64, the lanes reduced by reduce64; a tail past the last full run is
	// added product by product, in double for F16 (each product rounded to
	// float) and in float for F32 (each product fused into the sum).
	VecOrder DotOrder = iota
	// BatchOrder is llamafile tinyBLAS's, used when the product has two
	// columns or more and tinyBLAS accepts the shape (a row count that is a
	// multiple of 4, a row length that is a multiple of 16): 16 float lanes,
	// element i into lane i%16 by fused multiply-adds, added by reduce16.
	BatchOrder
)

// Assembly versions of DotF16 and the first outputs of WeightedSumF16/F32,
// installed by an architecture's init where it has them (attention_amd64.go)
// and used only while SIMD() is on; they give the portable code's bits.
// The WeightedSum hooks take weightedSumShape's np and lanes and return how
// many of the first outputs they computed.
var (
	dotF16SIMD         func(a, b []uint16, o DotOrder) float32
	weightedSumF16SIMD func(dst, w []float32, rows []uint16, stride, np, lanes int) int
	weightedSumF32SIMD func(dst, w, rows []float32, stride, np, lanes int) int
)

// Lanes of the two orders.
const (
	vecLanes   = 64
	batchLanes = 16
)

// DotF16 is the dot product of two binary16 vectors of the same length as
// llama.cpp computes one element of a product of F16 matrices, in order o.
// BatchOrder needs a length that is a multiple of 16.
func DotF16(a, b []uint16, o DotOrder) float32 {
	if len(a) != len(b) || o == BatchOrder && len(a)%batchLanes != 0 {
		panic(fmt.Sprintf("ops: DotF16: lengths %d and %d, order %d", len(a), len(b), o))
	}
	b = b[:len(a)]
	if simdOn && dotF16SIMD != nil {
		return dotF16SIMD(a, b, o)
	}
	if o == BatchOrder {
		var acc [batchLanes]float32
		for i := 0; i < len(a); i += batchLanes {
			for l := range acc {
				acc[l] += float32(quant.F16ToF32(a[i+l]) * quant.F16ToF32(b[i+l])) // exact: see vecDotF16
			}
		}
		return reduce16(&acc)
	}
	var acc [vecLanes]float32
	i := 0
	for ; i+vecLanes <= len(a); i += vecLanes {
		for l := range acc {
			acc[l] += float32(quant.F16ToF32(a[i+l]) * quant.F16ToF32(b[i+l])) // exact: see vecDotF16
		}
	}
	sum := float64(reduce64(&acc))
	for ; i < len(a); i++ {
		sum += float64(quant.F16ToF32(a[i]) * quant.F16ToF32(b[i]))
	}
	return float32(sum)
}

// DotF32 is DotF16 for float32 vectors (ggml_vec_dot_f32 and tinyBLAS on
// float): the same lanes, a VecOrder tail fused into a float sum.
func DotF32(a, b []float32, o DotOrder) float32 {
	if len(a) != len(b) || o == BatchOrder && len(a)%batchLanes != 0 {
		panic(fmt.Sprintf("ops: DotF32: lengths %d and %d, order %d", len(a), len(b), o))
	}
	b = b[:len(a)]
	if o == BatchOrder {
		var acc [batchLanes]float32
		for i := 0; i < len(a); i += batchLanes {
			for l := range acc {
				acc[l] = fma32(a[i+l], b[i+l], acc[l])
			}
		}
		return reduce16(&acc)
	}
	var acc [vecLanes]float32
	i := 0
	for ; i+vecLanes <= len(a); i += vecLanes {
		for l := range acc {
			acc[l] = fma32(a[i+l], b[i+l], acc[l])
		}
	}
	sum := reduce64(&acc)
	for ; i < len(a); i++ {
		sum = fma32(a[i], b[i], sum)
	}
	return sum
}

// WeightedSumF16 sets dst[d] = Σ_p w[p]·rows[p*stride+d] for d < len(dst),
// p < len(w): the product of the transposed rows with the column w, each
// element summed over p as DotF16 sums a vector of length padded in order o,
// the positions from len(w) to padded having weight zero. This is llama.cpp's
// attention-times-values product V^T·softmax with its F16 cache, whose
// inner length is the number of cache cells it attends over (padded to a
// multiple of 32); w must hold values already rounded to f16 (which makes
// each fused product exact, as in vecDotF16). Weights that are exactly zero
// (masked positions) are skipped: they add nothing to any lane.
func WeightedSumF16(dst, w []float32, rows []uint16, stride, padded int, o DotOrder) {
	np, lanes := weightedSumShape("WeightedSumF16", len(dst), len(w), len(rows), stride, padded, o)
	d0 := 0
	if simdOn && weightedSumF16SIMD != nil {
		d0 = weightedSumF16SIMD(dst, w, rows, stride, np, lanes)
	}
	for ; d0 < len(dst); d0 += 8 {
		nd := min(8, len(dst)-d0)
		var acc [8][vecLanes]float32
		for p, wp := range w[:min(np, len(w))] {
			if wp == 0 {
				continue
			}
			l, row := p%lanes, rows[p*stride+d0:p*stride+d0+nd]
			for k, v := range row {
				acc[k][l] += float32(quant.F16ToF32(v) * wp) // exact: see vecDotF16
			}
		}
		for k := range nd {
			if o == BatchOrder {
				dst[d0+k] = reduce16((*[batchLanes]float32)(acc[k][:batchLanes]))
				continue
			}
			sum := float64(reduce64(&acc[k]))
			for p := np; p < len(w); p++ {
				sum += float64(float32(w[p] * quant.F16ToF32(rows[p*stride+d0+k])))
			}
			dst[d0+k] = float32(sum)
		}
	}
}

// WeightedSumF32 is WeightedSumF16 for float32 rows (DotF32's order).
func WeightedSumF32(dst, w []float32, rows []float32, stride, padded int, o DotOrder) {
	np, lanes := weightedSumShape("WeightedSumF32", len(dst), len(w), len(rows), stride, padded, o)
	d0 := 0
	if simdOn && weightedSumF32SIMD != nil {
		d0 = weightedSumF32SIMD(dst, w, rows, stride, np, lanes)
	}
	for ; d0 < len(dst); d0 += 8 {
		nd := min(8, len(dst)-d0)
		var acc [8][vecLanes]float32
		for p, wp := range w[:min(np, len(w))] {
			if wp == 0 {
				continue
			}
			l, row := p%lanes, rows[p*stride+d0:p*stride+d0+nd]
			for k, v := range row {
				acc[k][l] = fma32(v, wp, acc[k][l])
			}
		}
		for k := range nd {
			if o == BatchOrder {
				dst[d0+k] = reduce16((*[batchLanes]float32)(acc[k][:batchLanes]))
				continue
			}
			sum := reduce64(&acc[k])
			for p := np; p < len(w); p++ {
				sum = fma32(rows[p*stride+d0+k], w[p], sum)
			}
			dst[d0+k] = sum
		}
	}
}

// weightedSumShape checks a WeightedSum call and returns how many of the
// padded positions go through the lanes and how many lanes there are.
func weightedSumShape(op string, nd, nw, nrows, stride, padded int, o DotOrder) (np, lanes int) {
	if nd > stride || nw > padded || nw > 0 && (nw-1)*stride+nd > nrows || o == BatchOrder && padded%batchLanes != 0 {
		panic(fmt.Sprintf("ops: %s: %d outputs, %d weights padded to %d, %d row elements with stride %d, order %d",
			op, nd, nw, padded, nrows, stride, o))
	}
	if o == BatchOrder {
		return padded, batchLanes
	}
	return padded &^ (vecLanes - 1), vecLanes
}
