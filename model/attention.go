package model

import (
	"math"

	"github.com/infer-go/infer/ops"
	"github.com/infer-go/infer/quant"
)

// attention is causal multi-head attention over the KV cache. q holds n rows
// (positions pos..pos+n-1) of heads*headDim query values, already rotated;
// the cache already holds keys and values up to position pos+n-1. Query head
// h reads KV head h/(heads/headsKV) (grouped-query attention). out receives n
// rows of heads*headDim. Work is spread over the pool by (position, head).
//
// The arithmetic is that of llama.cpp's CPU graph without flash attention
// (what the reference logits were computed with): scores = K·Q as a matrix
// product with the F16 cache, so Q is first rounded to F16; a float softmax
// of scores*scale whose sum is taken in double; then V times the
// probabilities, again as a product with the F16 cache, so the probabilities
// are rounded to F16 first. Mirroring those two roundings makes the quantized
// models' logits agree with llama.cpp's to float precision instead of to the
// level of Q8 activation noise: any tiny difference here flips a few Q8
// roundings in the next matrix product, and those flips add up.
func (c *KVCache) attention(p *ops.Pool, out, q []float32, l, pos, n, heads, headDim int, scale float32) {
	group := heads / (c.Dim / headDim)
	rowLen := heads * headDim
	p.Parallel(n*heads, func(lo, hi int) {
		s := c.scratch.Get().(*attentionScratch)
		defer c.scratch.Put(s)
		s.q = growF32(s.q, headDim)
		s.scores = growF32(s.scores, pos+n)
		if cap(s.acc) < headDim {
			s.acc = make([]float64, headDim)
		}
		s.acc = s.acc[:headDim]
		for t := lo; t < hi; t++ {
			i, h := t/heads, t%heads
			at := i*rowLen + h*headDim
			kvOff := c.offset(l, 0) + (h/group)*headDim
			c.attendOne(out[at:at+headDim], q[at:at+headDim], kvOff, pos+i, scale, s)
		}
	})
}

func growF32(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// attentionScratch is one goroutine's working memory, kept in
// KVCache.scratch between calls.
type attentionScratch struct {
	q      []float32 // the query as the cache's type rounds it
	scores []float32 // one per key position
	acc    []float64 // the weighted sum of values
}

// attendOne computes one head of the query at position last, attending to
// cache positions 0..last. kvOff is the index of this KV head in position 0.
func (c *KVCache) attendOne(dst, q []float32, kvOff, last int, scale float32, s *attentionScratch) {
	headDim := len(q)
	f16 := c.Type == quant.F16
	qr := s.q
	for d, x := range q {
		if f16 {
			x = roundF16(x)
		}
		qr[d] = x
	}

	scores := s.scores[:last+1]
	maxScore := float32(math.Inf(-1))
	for j := range scores {
		row := kvOff + j*c.Dim
		var dot float32
		if f16 {
			dot = dotF16(c.k16[row:row+headDim], qr)
		} else {
			dot = dotF32(c.k32[row:row+headDim], qr)
		}
		scores[j] = dot * scale
		maxScore = max(maxScore, scores[j])
	}
	var sum float64
	for j, x := range scores {
		e := expf(x - maxScore)
		scores[j] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for j := range scores {
		scores[j] *= inv
		if f16 {
			scores[j] = roundF16(scores[j])
		}
	}

	acc := s.acc
	clear(acc)
	for j, w := range scores {
		row := kvOff + j*c.Dim
		if f16 {
			for d, v := range c.v16[row : row+headDim] {
				acc[d] += float64(w * quant.F16ToF32(v))
			}
		} else {
			for d, v := range c.v32[row : row+headDim] {
				acc[d] += float64(w * v)
			}
		}
	}
	for d := range dst {
		dst[d] = float32(acc[d])
	}
}

func roundF16(x float32) float32 { return quant.F16ToF32(quant.F32ToF16(x)) }

func expf(x float32) float32 { return float32(math.Exp(float64(x))) }

// dotF16 is the dot product of F16 keys with a query already rounded to F16,
// summed like ggml_vec_dot_f16's AVX path: 32 running float32 sums (four
// registers of eight lanes) over blocks of 32, reduced pairwise, with any
// tail added in float64.
func dotF16(k []uint16, q []float32) float32 {
	var acc [32]float32
	n := len(q) &^ 31
	for i := 0; i < n; i += 32 {
		kb, qb := k[i:i+32], q[i:i+32]
		for j := range acc {
			acc[j] += quant.F16ToF32(kb[j]) * qb[j]
		}
	}
	sum := float64(reduce32(&acc))
	for i := n; i < len(q); i++ {
		sum += float64(quant.F16ToF32(k[i]) * q[i])
	}
	return float32(sum)
}

// dotF32 is dotF16 for float32 keys (ggml_vec_dot_f32's AVX path).
func dotF32(k, q []float32) float32 {
	var acc [32]float32
	n := len(q) &^ 31
	for i := 0; i < n; i += 32 {
		kb, qb := k[i:i+32], q[i:i+32]
		for j := range acc {
			acc[j] += kb[j] * qb[j]
		}
	}
	sum := float64(reduce32(&acc))
	for i := n; i < len(q); i++ {
		sum += float64(k[i] * q[i])
	}
	return float32(sum)
}

// reduce32 adds four 8-lane registers the way GGML_F32x8_REDUCE does:
// r0+r2 and r1+r3, then those two, then the eight lanes by halves.
func reduce32(a *[32]float32) float32 {
	var r [8]float32
	for l := range r {
		r[l] = (a[l] + a[16+l]) + (a[8+l] + a[24+l])
	}
	t0, t1, t2, t3 := r[0]+r[4], r[1]+r[5], r[2]+r[6], r[3]+r[7]
	return (t0 + t1) + (t2 + t3)
}
