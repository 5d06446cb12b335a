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
// (what the reference logits were computed with), on its x86 build:
//
//   - scores = K·Q, a matrix product with the cache, so with an F16 cache Q
//     is first rounded to F16; each score is summed in ops.VecOrder for a
//     single query (ggml_vec_dot_f16) and in ops.BatchOrder for a batch of
//     two or more (llamafile's tinyBLAS, when the head size is a multiple of
//     16);
//   - softmax of scores*scale with the causal mask (ops.Softmax over whole
//     groups of sixteen, masked entries -Inf);
//   - V^T times the probabilities, again a product with the cache, so with
//     an F16 cache the probabilities are rounded to F16 first, summed over
//     the positions in the same two orders (batch order when the head size
//     is a multiple of 4), over llama.cpp's KV length: the cells used,
//     padded to a multiple of 32 (llama.cpp pads its cache size to 32 too,
//     so the padding never stops at the end of a shorter cache).
//
// Mirroring these roundings and orders makes the quantized models' logits
// agree with llama.cpp's bit for bit instead of to the level of Q8
// activation noise: any tiny difference here flips a few Q8 roundings in
// the next matrix product, and those flips add up.
func (c *KVCache) attention(p *ops.Pool, out, q []float32, l, pos, n, heads, headDim int, a attentionParams) {
	group := heads / (c.Dim / headDim)
	rowLen := heads * headDim
	kvLen := (pos + n + 31) &^ 31 // llama.cpp's n_kv: cells in use, padded to 32
	kqOrder, kqvOrder := ops.VecOrder, ops.VecOrder
	if n >= 2 {
		if headDim%16 == 0 {
			kqOrder = ops.BatchOrder
		}
		if headDim%4 == 0 {
			kqvOrder = ops.BatchOrder
		}
	}
	p.Parallel(n*heads, func(lo, hi int) {
		s := c.scratch.Get().(*attentionScratch)
		defer c.scratch.Put(s)
		if cap(s.q16) < headDim {
			s.q16 = make([]uint16, headDim)
		}
		s.q16 = s.q16[:headDim]
		s.scores = growF32(s.scores, (pos+n+15)&^15)
		for t := lo; t < hi; t++ {
			i, h := t/heads, t%heads
			at := i*rowLen + h*headDim
			kvOff := c.offset(l, 0) + (h/group)*headDim
			c.attendOne(out[at:at+headDim], q[at:at+headDim], kvOff, pos+i, kvLen, &a, kqOrder, kqvOrder, s)
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
	q16    []uint16  // the query rounded to F16 (F16 cache)
	scores []float32 // one per key position, padded to a multiple of 16
}

// attentionParams are the per-architecture parts of attention.
type attentionParams struct {
	// scale multiplies the scores in the softmax (1/sqrt(head dim), or 1
	// where the query was scaled before).
	scale float32
	// softcap, when not 0, soft-caps each score to ±softcap before the
	// softmax: softcap·tanh(score/softcap) (gemma2).
	softcap float32
	// window, when not 0, is the sliding window: a query at position i sees
	// positions i-window+1..i, llama.cpp's KQ_mask_swa (masked when
	// i - j >= n_swa).
	window int
}

// attendOne computes one head of the query at position last, attending to
// cache positions 0..last (the window's positions only, with a sliding
// window) out of kvLen. kvOff is the index of this KV head in position 0.
// Positions outside the window get exact zero weights, as llama.cpp's -Inf
// mask gives them, so the sums over the other positions keep their order.
func (c *KVCache) attendOne(dst, q []float32, kvOff, last, kvLen int, a *attentionParams, kqOrder, kqvOrder ops.DotOrder, s *attentionScratch) {
	headDim := len(q)
	f16 := c.Type == quant.F16
	if f16 {
		ops.ConvertF32ToF16(s.q16, q)
	}

	// The softmax runs over whole groups of sixteen, as ggml's does over the
	// padded KV length: the masked entries of the last group are -Inf and
	// the groups past it would add nothing.
	scores := s.scores[:(last+16)&^15]
	first := 0
	if a.window > 0 {
		first = max(0, last-a.window+1)
	}
	for j := range first {
		scores[j] = float32(math.Inf(-1))
	}
	for j := first; j <= last; j++ {
		row := kvOff + j*c.Dim
		var dot float32
		if f16 {
			dot = ops.DotF16(c.k16[row:row+headDim], s.q16, kqOrder)
		} else {
			dot = ops.DotF32(c.k32[row:row+headDim], q, kqOrder)
		}
		if a.softcap != 0 {
			// ggml_scale by 1/c, ggml_tanh, ggml_scale by c.
			dot = ops.Tanhf(dot*(1/a.softcap)) * a.softcap
		}
		scores[j] = dot * a.scale
	}
	for j := last + 1; j < len(scores); j++ {
		scores[j] = float32(math.Inf(-1))
	}
	ops.Softmax(scores)

	probs := scores[:last+1]
	if f16 {
		for j, w := range probs {
			probs[j] = quant.F16ToF32(quant.F32ToF16(w))
		}
		ops.WeightedSumF16(dst, probs, c.v16[kvOff:], c.Dim, kvLen, kqvOrder)
		return
	}
	ops.WeightedSumF32(dst, probs, c.v32[kvOff:], c.Dim, kvLen, kqvOrder)
}
