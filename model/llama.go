package model

import (
	"fmt"
	"math"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/ops"
)

// llama is the Llama architecture (Llama 1-3, and the many models that
// share its graph): pre-norm blocks with RMSNorm, rotary positions,
// grouped-query attention and a SwiGLU feed-forward.
type llama struct {
	base

	tokEmbd   ops.Matrix // [vocab][embd], rows looked up
	ropeFreqs []float32  // Llama 3 frequency factors; nil: none
	layers    []llamaLayer
	outNorm   []float32
	output    ops.Matrix // [vocab][embd]; token_embd when tied
}

type llamaLayer struct {
	attnNorm       []float32
	wq, wk, wv, wo ops.Matrix
	bq, bk, bv, bo []float32 // optional biases (nil: none)

	ffnNorm           []float32
	wGate, wUp, wDown ops.Matrix
	bGate, bUp, bDown []float32
}

// llamaBuffers are the activations of one batch, grown to the largest batch
// seen and reused.
type llamaBuffers struct {
	x      []float32 // [n][embd] the residual stream
	xb     []float32 // [n][embd] normed input / sublayer output
	q, att []float32 // [n][embd] queries, attention output
	k, v   []float32 // [n][kvDim]
	gate   []float32 // [n][ff]
	up     []float32 // [n][ff]
	rope   []float32 // [ropeDims] cos/sin of one position
}

func loadLlama(f *gguf.File, cfg Config, pool *ops.Pool) (LM, error) {
	b := &binder{f: f}
	e, ff, kvDim := cfg.Embd, cfg.FF, cfg.HeadsKV*cfg.HeadDim

	vocab, err := vocabSize(f, cfg.Arch)
	if err != nil {
		return nil, err
	}
	cfg.VocabSize = vocab
	m := &llama{}
	m.tokEmbd = b.table("token_embd.weight", e, vocab)
	m.outNorm = b.vector("output_norm.weight", e)
	if out, ok := b.optionalMatrix("output.weight", e, vocab); ok {
		m.output = out
	} else {
		m.output = b.matrix("token_embd.weight", e, vocab) // tied embeddings
	}
	m.ropeFreqs = b.optionalVector("rope_freqs.weight", cfg.RopeDims/2)

	m.layers = make([]llamaLayer, cfg.Layers)
	for i := range m.layers {
		L := &m.layers[i]
		name := func(s string) string { return fmt.Sprintf("blk.%d.%s", i, s) }
		L.attnNorm = b.vector(name("attn_norm.weight"), e)
		L.wq = b.matrix(name("attn_q.weight"), e, e)
		L.wk = b.matrix(name("attn_k.weight"), e, kvDim)
		L.wv = b.matrix(name("attn_v.weight"), e, kvDim)
		L.wo = b.matrix(name("attn_output.weight"), e, e)
		L.bq = b.optionalVector(name("attn_q.bias"), e)
		L.bk = b.optionalVector(name("attn_k.bias"), kvDim)
		L.bv = b.optionalVector(name("attn_v.bias"), kvDim)
		L.bo = b.optionalVector(name("attn_output.bias"), e)

		L.ffnNorm = b.vector(name("ffn_norm.weight"), e)
		L.wGate = b.matrix(name("ffn_gate.weight"), e, ff)
		L.wUp = b.matrix(name("ffn_up.weight"), e, ff)
		L.wDown = b.matrix(name("ffn_down.weight"), ff, e)
		L.bGate = b.optionalVector(name("ffn_gate.bias"), ff)
		L.bUp = b.optionalVector(name("ffn_up.bias"), ff)
		L.bDown = b.optionalVector(name("ffn_down.bias"), e)
	}
	if b.err != nil {
		return nil, b.err
	}
	if err := m.init(cfg, pool, maxContext, m.forward, func() any { return new(llamaBuffers) }); err != nil {
		return nil, err
	}
	return m, nil
}

// forward runs one batch of tokens at positions pos.. of s and writes the
// logits of its last outRows positions into out.
func (m *llama) forward(s *State, tokens []int32, pos, outRows int, out []float32) {
	c := &m.cfg
	p, n := m.pool, len(tokens)
	e, kvDim, ff := c.Embd, c.HeadsKV*c.HeadDim, c.FF
	buf := s.buf.(*llamaBuffers)
	x := grow(&buf.x, n*e)
	xb := grow(&buf.xb, n*e)
	q, att := grow(&buf.q, n*e), grow(&buf.att, n*e)
	k, v := grow(&buf.k, n*kvDim), grow(&buf.v, n*kvDim)
	gate, up := grow(&buf.gate, n*ff), grow(&buf.up, n*ff)
	rope := grow(&buf.rope, c.RopeDims)
	scale := float32(1 / math.Sqrt(float64(c.HeadDim)))

	for i, t := range tokens {
		embed(x[i*e:(i+1)*e], m.tokEmbd, int(t))
	}
	for l := range m.layers {
		L := &m.layers[l]
		last := l == len(m.layers)-1

		// Attention: q, k, v projections of the normed stream, rotated by
		// position, k and v appended to the cache, attention over it.
		rmsNormRows(xb, x, L.attnNorm, c.NormEps, e)
		ops.MatMul(p, q, L.wq, xb, n)
		ops.MatMul(p, k, L.wk, xb, n)
		ops.MatMul(p, v, L.wv, xb, n)
		addBias(q, L.bq)
		addBias(k, L.bk)
		addBias(v, L.bv)
		for i := range n {
			ops.RoPECache(rope, pos+i, c.RopeDims, c.RopeBase, m.ropeFreqs)
			ops.RoPEApply(q[i*e:(i+1)*e], c.Heads, c.HeadDim, c.RopeDims, rope, false)
			ops.RoPEApply(k[i*kvDim:(i+1)*kvDim], c.HeadsKV, c.HeadDim, c.RopeDims, rope, false)
		}
		s.cache.Store(l, pos, n, k, v)
		if last && outRows == 0 {
			return // only the cache was wanted
		}
		s.cache.attention(p, att, q, l, pos, n, c.Heads, c.HeadDim, scale)

		// The output projection takes every row; after it, in the last layer,
		// only the positions whose logits are wanted go on (llama.cpp's
		// inp_out_ids). The place matters: with F16 or F32 weights a
		// one-row product sums in another order than a batch.
		ops.MatMul(p, xb, L.wo, att, n)
		addBias(xb[:n*e], L.bo)
		rows, xs, proj := n, x, xb
		if last {
			rows, xs, proj = outRows, x[(n-outRows)*e:], xb[(n-outRows)*e:]
		}
		ops.Add(xs, xs, proj[:rows*e])

		// Feed-forward: down(silu(gate(x)) * up(x)) of the normed stream.
		rmsNormRows(xb[:rows*e], xs, L.ffnNorm, c.NormEps, e)
		ops.MatMul(p, gate, L.wGate, xb, rows)
		ops.MatMul(p, up, L.wUp, xb, rows)
		addBias(gate[:rows*ff], L.bGate)
		addBias(up[:rows*ff], L.bUp)
		for i := range rows { // per row, as ggml's silu works on rows
			g := gate[i*ff : (i+1)*ff]
			ops.SwiGLU(g, g, up[i*ff:(i+1)*ff])
		}
		ops.MatMul(p, xb, L.wDown, gate, rows)
		addBias(xb[:rows*e], L.bDown)
		ops.Add(xs, xs, xb[:rows*e])
		x = xs
	}

	rmsNormRows(xb[:outRows*e], x, m.outNorm, c.NormEps, e)
	ops.MatMul(p, out, m.output, xb, outRows)
}

// rmsNormRows applies RMSNorm with weight w to each row of width e of x.
func rmsNormRows(dst, x, w []float32, eps float32, e int) {
	for i := 0; i < len(x); i += e {
		ops.RMSNorm(dst[i:i+e], x[i:i+e], w, eps)
	}
}

// addBias adds bias to each row of x (rows of len(bias)); nil bias: nothing.
func addBias(x, bias []float32) {
	if bias == nil {
		return
	}
	for i := 0; i < len(x); i += len(bias) {
		ops.Add(x[i:i+len(bias)], x[i:i+len(bias)], bias)
	}
}

// grow returns (*buf)[:n], reallocating when the buffer is too small.
func grow(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	*buf = (*buf)[:n]
	return *buf
}

// vocabSize is the number of rows of token_embd.weight, checked against the
// ARCH.vocab_size key when the file has one.
func vocabSize(f *gguf.File, arch string) (int, error) {
	t, ok := f.Tensor("token_embd.weight")
	if !ok {
		return 0, fmt.Errorf("tensor %q: missing", "token_embd.weight")
	}
	if len(t.Dims) < 2 || t.Dims[1] == 0 || t.Dims[1] > math.MaxInt32 {
		return 0, fmt.Errorf("tensor %q: shape %v is not [embd vocab]", t.Name, t.Dims)
	}
	vocab := int(t.Dims[1])
	if key := arch + ".vocab_size"; f.Has(key) {
		n, err := f.Uint32(key)
		if err != nil {
			return 0, err
		}
		if int(n) != vocab {
			return 0, fmt.Errorf("key %q is %d but tensor %q has %d rows", key, n, t.Name, vocab)
		}
	}
	return vocab, nil
}
