package model

import (
	"fmt"
	"math"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/ops"
)

// llama is the Llama graph and the architectures that run it with a few
// differences (model.go's architectures table says which): a pre-norm
// decoder with rotary positions, grouped-query attention and a gated (or,
// for starcoder2, plain) feed-forward. In llama.cpp's terms:
//
//	x = embed(tokens) [· sqrt(embd)]
//	per layer:
//	  h = norm(x); q, k, v = wq·h [+bq], wk·h [+bk], wv·h [+bv]   (or one fused wqkv·h)
//	  q, k = rope(q), rope(k) [q ·= query scale]
//	  a = wo·attention(q, k, v) [+bo] [post-attention norm]; x += a
//	  h = norm(x); f = down(act(gate·h) * up·h) [post-FFN norm]; x += f
//	logits = output·norm(x) [soft-capped]
type llama struct {
	base
	arch *decoderArch
	// queryScale multiplies q before attention (phi3, gemma2), whose
	// softmax scale is then 1; 0: the scores are scaled by 1/sqrt(head dim).
	queryScale float32
	// embedScale multiplies the embeddings (gemma2: sqrt(embd)); 0: none.
	embedScale float32
	// origContext is phi3's rope.scaling.original_context_length: a State
	// longer than that rotates with rope_factors_long, else _short.
	origContext int
	// ropeAttnFactor multiplies the rotations' cosines and sines (1: none).
	ropeAttnFactor float32

	tokEmbd   ops.Matrix // [vocab][embd], rows looked up
	ropeFreqs []float32  // Llama 3 frequency factors; nil: none
	// Phi-3's frequency factors for long and short contexts; nil: none.
	ropeLong, ropeShort []float32
	layers              []llamaLayer
	outNorm, outNormB   []float32  // outNormB: LayerNorm archs
	output              ops.Matrix // [vocab][embd]; token_embd when tied
}

type llamaLayer struct {
	attnNorm, attnNormB []float32
	wq, wk, wv          ops.Matrix
	wqkv                ops.Matrix // fused q, k, v (decoderArch.fusedQKV)
	wo                  ops.Matrix
	bq, bk, bv, bo      []float32 // biases (nil: none)
	postAttnNorm        []float32 // gemma2
	// window is the sliding window of this layer's attention: a query
	// attends to the window positions up to its own; 0: all of them.
	window int

	ffnNorm, ffnNormB []float32
	// wUp holds gate then up when the gate is fused (phi3); wGate is unused
	// then, and for a plain GELU MLP (starcoder2).
	wGate, wUp, wDown ops.Matrix
	bGate, bUp, bDown []float32
	postFFNNorm       []float32 // gemma2
}

// llamaBuffers are the activations of one batch, grown to the largest batch
// seen and reused.
type llamaBuffers struct {
	x      []float32 // [n][embd] the residual stream
	xb     []float32 // [n][embd] normed input / sublayer output
	q, att []float32 // [n][heads*headDim] queries, attention output
	k, v   []float32 // [n][kvDim]
	qkv    []float32 // [n][qDim+2*kvDim] fused projection
	gate   []float32 // [n][ff]
	up     []float32 // [n][ff], or [n][2*ff] with a fused gate
	rope   []float32 // [ropeDims] cos/sin of one position
}

func loadLlama(f *gguf.File, cfg Config, pool *ops.Pool, a *decoderArch) (LM, error) {
	b := &binder{f: f}
	e, ff := cfg.Embd, cfg.FF
	qDim, kvDim := cfg.Heads*cfg.HeadDim, cfg.HeadsKV*cfg.HeadDim

	vocab, err := vocabSize(f, cfg.Arch)
	if err != nil {
		return nil, err
	}
	cfg.VocabSize = vocab
	m := &llama{arch: a}
	if m.ropeAttnFactor, err = ropeAttnFactor(f, cfg.Arch); err != nil {
		return nil, err
	}
	m.cfg = cfg // the hook reads and completes it; init sets it again
	if a.hparams != nil {
		if err := a.hparams(f, m); err != nil {
			return nil, err
		}
	}
	cfg = m.cfg

	m.tokEmbd = b.table("token_embd.weight", e, vocab)
	m.outNorm = b.vector("output_norm.weight", e)
	if a.layerNorm {
		m.outNormB = b.vector("output_norm.bias", e)
	}
	switch a.output {
	case outputOrTied:
		if out, ok := b.optionalMatrix("output.weight", e, vocab); ok {
			m.output = out
		} else {
			m.output = b.matrix("token_embd.weight", e, vocab) // tied embeddings
		}
	case outputRequired:
		m.output = b.matrix("output.weight", e, vocab)
	case outputTied:
		m.output = b.matrix("token_embd.weight", e, vocab)
	}
	switch a.ropeFactors {
	case llama3Factors:
		m.ropeFreqs = b.optionalVector("rope_freqs.weight", cfg.RopeDims/2)
	case longShortFactors:
		// llama.cpp binds them as [head dim / 2] and rotates with the first
		// rope dims / 2.
		m.ropeLong = b.optionalVector("rope_factors_long.weight", cfg.HeadDim/2)
		m.ropeShort = b.optionalVector("rope_factors_short.weight", cfg.HeadDim/2)
	}

	bias := func(name string, n int, r need) []float32 {
		if r == required {
			return b.vector(name, n)
		}
		return b.optionalVector(name, n)
	}
	m.layers = make([]llamaLayer, cfg.Layers)
	for i := range m.layers {
		L := &m.layers[i]
		name := func(s string) string { return fmt.Sprintf("blk.%d.%s", i, s) }
		L.attnNorm = b.vector(name("attn_norm.weight"), e)
		if a.layerNorm {
			L.attnNormB = b.vector(name("attn_norm.bias"), e)
		}
		if a.fusedQKV {
			L.wqkv = b.matrix(name("attn_qkv.weight"), e, qDim+2*kvDim)
		} else {
			L.wq = b.matrix(name("attn_q.weight"), e, qDim)
			L.wk = b.matrix(name("attn_k.weight"), e, kvDim)
			L.wv = b.matrix(name("attn_v.weight"), e, kvDim)
			L.bq = bias(name("attn_q.bias"), qDim, a.qkvBias)
			L.bk = bias(name("attn_k.bias"), kvDim, a.qkvBias)
			L.bv = bias(name("attn_v.bias"), kvDim, a.qkvBias)
		}
		L.wo = b.matrix(name("attn_output.weight"), qDim, e)
		L.bo = bias(name("attn_output.bias"), e, a.outBias)
		if a.postNorms {
			L.postAttnNorm = b.vector(name("post_attention_norm.weight"), e)
			L.postFFNNorm = b.vector(name("post_ffw_norm.weight"), e)
		}
		if a.slidingLayer != nil && a.slidingLayer(i) {
			L.window = cfg.SlidingWindow
		}

		L.ffnNorm = b.vector(name("ffn_norm.weight"), e)
		if a.layerNorm {
			L.ffnNormB = b.vector(name("ffn_norm.bias"), e)
		}
		switch a.ffn {
		case swiGLU, geGLU:
			L.wGate = b.matrix(name("ffn_gate.weight"), e, ff)
			L.wUp = b.matrix(name("ffn_up.weight"), e, ff)
			L.bGate = bias(name("ffn_gate.bias"), ff, a.ffnBias)
			L.bUp = bias(name("ffn_up.bias"), ff, a.ffnBias)
		case fusedSwiGLU:
			L.wUp = b.matrix(name("ffn_up.weight"), e, 2*ff)
		case geluMLP:
			L.wUp = b.matrix(name("ffn_up.weight"), e, ff)
			L.bUp = bias(name("ffn_up.bias"), ff, a.ffnBias)
		}
		L.wDown = b.matrix(name("ffn_down.weight"), ff, e)
		L.bDown = bias(name("ffn_down.bias"), e, a.ffnBias)
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
	c, a := &m.cfg, m.arch
	p, n := m.pool, len(tokens)
	e, ff := c.Embd, c.FF
	qDim, kvDim := c.Heads*c.HeadDim, c.HeadsKV*c.HeadDim
	buf := s.buf.(*llamaBuffers)
	x := grow(&buf.x, n*e)
	xb := grow(&buf.xb, n*e)
	q, att := grow(&buf.q, n*qDim), grow(&buf.att, n*qDim)
	k, v := grow(&buf.k, n*kvDim), grow(&buf.v, n*kvDim)
	var qkv, gate, up []float32
	if a.fusedQKV {
		qkv = grow(&buf.qkv, n*(qDim+2*kvDim))
	}
	switch a.ffn {
	case fusedSwiGLU:
		up = grow(&buf.up, n*2*ff)
	case geluMLP:
		up = grow(&buf.up, n*ff)
	default:
		gate, up = grow(&buf.gate, n*ff), grow(&buf.up, n*ff)
	}
	rope := grow(&buf.rope, c.RopeDims)
	ropeFactors := m.ropeFactorsFor(s.Len())
	attn := attentionParams{scale: invSqrt(c.HeadDim), softcap: c.AttnSoftcap}
	if m.queryScale != 0 {
		attn.scale = 1
	}

	for i, t := range tokens {
		row := x[i*e : (i+1)*e]
		embed(row, m.tokEmbd, int(t))
		if m.embedScale != 0 {
			ops.Scale(row, m.embedScale)
		}
	}
	for l := range m.layers {
		L := &m.layers[l]
		last := l == len(m.layers)-1

		// Attention: q, k, v projections of the normed stream, rotated by
		// position, k and v appended to the cache, attention over it.
		m.norm(xb, x, L.attnNorm, L.attnNormB)
		if a.fusedQKV {
			ops.MatMul(p, qkv, L.wqkv, xb, n)
			splitQKV(q, k, v, qkv, n)
		} else {
			ops.MatMul(p, q, L.wq, xb, n)
			ops.MatMul(p, k, L.wk, xb, n)
			ops.MatMul(p, v, L.wv, xb, n)
			addBias(q, L.bq)
			addBias(k, L.bk)
			addBias(v, L.bv)
		}
		for i := range n {
			ops.RoPECache(rope, pos+i, c.RopeDims, c.RopeBase, ropeFactors)
			if m.ropeAttnFactor != 1 {
				ops.Scale(rope, m.ropeAttnFactor) // ggml's rope_yarn: cosf(θ)·mscale, sinf(θ)·mscale
			}
			ops.RoPEApply(q[i*qDim:(i+1)*qDim], c.Heads, c.HeadDim, c.RopeDims, rope, a.neox)
			ops.RoPEApply(k[i*kvDim:(i+1)*kvDim], c.HeadsKV, c.HeadDim, c.RopeDims, rope, a.neox)
		}
		if m.queryScale != 0 {
			ops.Scale(q, m.queryScale)
		}
		s.cache.Store(l, pos, n, k, v)
		if last && outRows == 0 {
			return // only the cache was wanted
		}
		attn.window = L.window
		s.cache.attention(p, att, q, l, pos, n, c.Heads, c.HeadDim, attn)

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
		proj = proj[:rows*e]
		if L.postAttnNorm != nil {
			rmsNormRows(proj, proj, L.postAttnNorm, c.NormEps, e)
		}
		ops.Add(xs, xs, proj)

		// Feed-forward of the normed stream.
		h := xb[:rows*e]
		m.norm(h, xs, L.ffnNorm, L.ffnNormB)
		var act []float32 // [rows][ff], the input of ffn_down
		switch a.ffn {
		case swiGLU: // down(silu(gate(h)) * up(h))
			ops.MatMul(p, gate, L.wGate, h, rows)
			ops.MatMul(p, up, L.wUp, h, rows)
			addBias(gate[:rows*ff], L.bGate)
			addBias(up[:rows*ff], L.bUp)
			for i := range rows { // per row, as ggml's silu works on rows
				g := gate[i*ff : (i+1)*ff]
				ops.SwiGLU(g, g, up[i*ff:(i+1)*ff])
			}
			act = gate
		case fusedSwiGLU: // the same, gate and up from one product
			ops.MatMul(p, up, L.wUp, h, rows)
			for i := range rows {
				gu := up[i*2*ff : (i+1)*2*ff]
				ops.SwiGLU(gu[:ff], gu[:ff], gu[ff:])
				copy(up[i*ff:(i+1)*ff], gu[:ff]) // rows packed in place, i*ff <= i*2*ff
			}
			act = up
		case geGLU: // down(gelu(gate(h)) * up(h))
			ops.MatMul(p, gate, L.wGate, h, rows)
			ops.MatMul(p, up, L.wUp, h, rows)
			addBias(gate[:rows*ff], L.bGate)
			addBias(up[:rows*ff], L.bUp)
			ops.GELU(gate[:rows*ff])
			ops.Mul(gate[:rows*ff], gate[:rows*ff], up[:rows*ff])
			act = gate
		case geluMLP: // down(gelu(up(h)))
			ops.MatMul(p, up, L.wUp, h, rows)
			addBias(up[:rows*ff], L.bUp)
			ops.GELU(up[:rows*ff])
			act = up
		}
		ops.MatMul(p, xb, L.wDown, act, rows)
		addBias(h, L.bDown)
		if L.postFFNNorm != nil {
			rmsNormRows(h, h, L.postFFNNorm, c.NormEps, e)
		}
		ops.Add(xs, xs, h)
		x = xs
	}

	m.norm(xb[:outRows*e], x, m.outNorm, m.outNormB)
	ops.MatMul(p, out, m.output, xb, outRows)
	if c.FinalSoftcap != 0 {
		ops.SoftCap(out[:outRows*c.VocabSize], c.FinalSoftcap)
	}
}

// norm applies the architecture's normalization to each row of x: RMSNorm
// with weight w, or LayerNorm with weight w and bias b.
func (m *llama) norm(dst, x, w, b []float32) {
	if m.arch.layerNorm {
		layerNormRows(dst, x, w, b, m.cfg.NormEps, m.cfg.Embd)
		return
	}
	rmsNormRows(dst, x, w, m.cfg.NormEps, m.cfg.Embd)
}

// ropeFactorsFor returns the frequency factors for a State of length
// positions, chosen like llama.cpp's build_rope_factors: Llama 3's
// rope_freqs when present, else Phi-3's long factors when the context (as
// llama.cpp pads it, to a multiple of 32) is longer than the original
// training context, else the short ones (nil: none).
func (m *llama) ropeFactorsFor(length int) []float32 {
	switch {
	case m.ropeFreqs != nil:
		return m.ropeFreqs
	case m.ropeLong != nil && (length+31)&^31 > m.origContext:
		return m.ropeLong
	}
	return m.ropeShort
}

// splitQKV copies the n rows of a fused projection (q, k and v side by
// side) into q, k and v.
func splitQKV(q, k, v, qkv []float32, n int) {
	qDim, kvDim := len(q)/n, len(k)/n
	row := qDim + 2*kvDim
	for i := range n {
		r := qkv[i*row : (i+1)*row]
		copy(q[i*qDim:(i+1)*qDim], r[:qDim])
		copy(k[i*kvDim:(i+1)*kvDim], r[qDim:qDim+kvDim])
		copy(v[i*kvDim:(i+1)*kvDim], r[qDim+kvDim:])
	}
}

// invSqrt is 1/sqrtf(n) in float arithmetic, as llama.cpp writes its
// attention scales (1.0f/sqrtf(float(n_embd_head))).
func invSqrt(n int) float32 { return 1 / float32(math.Sqrt(float64(n))) }

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
