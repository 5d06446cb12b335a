package model

import (
	"fmt"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/ops"
)

// gpt2 is the GPT-2 architecture: learned position embeddings, pre-norm
// blocks with LayerNorm (weight and bias), a fused QKV projection and a GELU
// feed-forward, biases on every projection.
type gpt2 struct {
	base
	// gelu is the feed-forward activation: ops.GELU (tanh approximation
	// through ggml's f16 table, as llama.cpp) or ops.GELUErf when the file
	// says gpt2.activation = "gelu_erf" (nanoGPT-style models).
	gelu func([]float32)

	tokEmbd, posEmbd  ops.Matrix // rows looked up
	layers            []gpt2Layer
	outNorm, outNormB []float32
	output            ops.Matrix
}

type gpt2Layer struct {
	attnNorm, attnNormB []float32
	wqkv                ops.Matrix // [embd + 2*kvDim][embd]: q, k, v stacked
	bqkv                []float32
	wo                  ops.Matrix
	bo                  []float32

	ffnNorm, ffnNormB []float32
	wUp, wDown        ops.Matrix
	bUp, bDown        []float32
}

type gpt2Buffers struct {
	x, xb, q, att, pos []float32 // [n][embd]
	qkv                []float32 // [n][embd+2*kvDim]
	k, v               []float32 // [n][kvDim]
	up                 []float32 // [n][ff]
}

// activationKey is infer's own metadata key naming gpt2's feed-forward
// activation; llama.cpp does not read it and always uses the tanh GELU.
const activationKey = "gpt2.activation"

func loadGPT2(f *gguf.File, cfg Config, pool *ops.Pool) (LM, error) {
	vocab, err := vocabSize(f, cfg.Arch)
	if err != nil {
		return nil, err
	}
	cfg.VocabSize = vocab
	cfg.RopeDims, cfg.RopeBase = 0, 0 // no rotary positions

	m := &gpt2{gelu: ops.GELU}
	if f.Has(activationKey) {
		act, err := f.String(activationKey)
		if err != nil {
			return nil, err
		}
		switch act {
		case "gelu":
		case "gelu_erf":
			m.gelu = ops.GELUErf
		default:
			return nil, fmt.Errorf("key %q: activation %q is not supported (gelu, gelu_erf)", activationKey, act)
		}
	}

	b := &binder{f: f}
	e, ff, kvDim := cfg.Embd, cfg.FF, cfg.HeadsKV*cfg.HeadDim
	m.tokEmbd = b.table("token_embd.weight", e, vocab)
	m.posEmbd = b.table("position_embd.weight", e, cfg.TrainContext)
	m.outNorm = b.vector("output_norm.weight", e)
	m.outNormB = b.vector("output_norm.bias", e)
	if out, ok := b.optionalMatrix("output.weight", e, vocab); ok {
		m.output = out
	} else {
		m.output = b.matrix("token_embd.weight", e, vocab) // tied embeddings
	}
	m.layers = make([]gpt2Layer, cfg.Layers)
	for i := range m.layers {
		L := &m.layers[i]
		name := func(s string) string { return fmt.Sprintf("blk.%d.%s", i, s) }
		L.attnNorm = b.vector(name("attn_norm.weight"), e)
		L.attnNormB = b.vector(name("attn_norm.bias"), e)
		L.wqkv = b.matrix(name("attn_qkv.weight"), e, e+2*kvDim)
		L.bqkv = b.vector(name("attn_qkv.bias"), e+2*kvDim)
		L.wo = b.matrix(name("attn_output.weight"), e, e)
		L.bo = b.vector(name("attn_output.bias"), e)
		L.ffnNorm = b.vector(name("ffn_norm.weight"), e)
		L.ffnNormB = b.vector(name("ffn_norm.bias"), e)
		L.wUp = b.matrix(name("ffn_up.weight"), e, ff)
		L.bUp = b.vector(name("ffn_up.bias"), ff)
		L.wDown = b.matrix(name("ffn_down.weight"), ff, e)
		L.bDown = b.vector(name("ffn_down.bias"), e)
	}
	if b.err != nil {
		return nil, b.err
	}
	// Past its learned positions gpt2 has no embedding to add.
	if err := m.init(cfg, pool, cfg.TrainContext, m.forward, func() any { return new(gpt2Buffers) }); err != nil {
		return nil, err
	}
	return m, nil
}

// forward runs one batch of tokens at positions pos.. of s and writes the
// logits of its last outRows positions into out.
func (m *gpt2) forward(s *State, tokens []int32, pos, outRows int, out []float32) {
	c := &m.cfg
	p, n := m.pool, len(tokens)
	e, kvDim, ff := c.Embd, c.HeadsKV*c.HeadDim, c.FF
	qkvDim := e + 2*kvDim
	buf := s.buf.(*gpt2Buffers)
	x, xb := grow(&buf.x, n*e), grow(&buf.xb, n*e)
	q, att, pe := grow(&buf.q, n*e), grow(&buf.att, n*e), grow(&buf.pos, e)
	qkv := grow(&buf.qkv, n*qkvDim)
	k, v := grow(&buf.k, n*kvDim), grow(&buf.v, n*kvDim)
	up := grow(&buf.up, n*ff)
	attn := attentionParams{scale: invSqrt(c.HeadDim)}

	for i, t := range tokens {
		row := x[i*e : (i+1)*e]
		embed(row, m.tokEmbd, int(t))
		embed(pe, m.posEmbd, pos+i)
		ops.Add(row, row, pe)
	}
	for l := range m.layers {
		L := &m.layers[l]
		last := l == len(m.layers)-1

		// Attention: one projection gives q, k and v side by side.
		layerNormRows(xb, x, L.attnNorm, L.attnNormB, c.NormEps, e)
		ops.MatMul(p, qkv, L.wqkv, xb, n)
		addBias(qkv, L.bqkv)
		for i := range n {
			r := qkv[i*qkvDim : (i+1)*qkvDim]
			copy(q[i*e:(i+1)*e], r[:e])
			copy(k[i*kvDim:(i+1)*kvDim], r[e:e+kvDim])
			copy(v[i*kvDim:(i+1)*kvDim], r[e+kvDim:])
		}
		s.cache.Store(l, pos, n, k, v)
		if last && outRows == 0 {
			return // only the cache was wanted
		}
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
		ops.Add(xs, xs, proj[:rows*e])

		// Feed-forward: down(gelu(up(x))), with biases.
		layerNormRows(xb[:rows*e], xs, L.ffnNorm, L.ffnNormB, c.NormEps, e)
		ops.MatMul(p, up, L.wUp, xb, rows)
		addBias(up[:rows*ff], L.bUp)
		m.gelu(up[:rows*ff])
		ops.MatMul(p, xb, L.wDown, up, rows)
		addBias(xb[:rows*e], L.bDown)
		ops.Add(xs, xs, xb[:rows*e])
		x = xs
	}

	layerNormRows(xb[:outRows*e], x, m.outNorm, m.outNormB, c.NormEps, e)
	ops.MatMul(p, out, m.output, xb, outRows)
}

// layerNormRows applies LayerNorm with weight w and bias b to each row of
// width e of x.
func layerNormRows(dst, x, w, b []float32, eps float32, e int) {
	for i := 0; i < len(x); i += e {
		ops.LayerNorm(dst[i:i+e], x[i:i+e], w, b, eps)
	}
}
