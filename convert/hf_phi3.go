package convert

// Phi-3 and Phi-3.5 (Phi3ForCausalLM) from Hugging Face, as
// convert_hf_to_gguf.py's Phi3MiniModel converts them: the fused qkv_proj
// and gate_up_proj kept as they are (attn_qkv: q, k, v rows; ffn_up: the
// gate's rows first), no q/k permutation (NEOX rope), partial rotary
// embeddings, the sliding window (0 when config.json has none, which is
// how Phi-4 is told apart), and for long-context checkpoints (rope_scaling
// longrope / su / yarn with long_factor and short_factor)
// rope_factors_long/short and rope.scaling.attn_factor.

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"

	"github.com/infer-go/infer/convert/source"
	"github.com/infer-go/infer/convert/vocab"
	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/quant"
)

func hfPhi3(h hfDir, opts *LMOptions) (*LanguageModel, error) {
	c := h.Config
	hp, err := readLlamaHParams(c)
	if err != nil {
		return nil, err
	}
	ctx, err := c.RequireInt("n_positions", "max_position_embeddings")
	if err != nil {
		return nil, err
	}
	origCtx := ctx
	switch v, ok, err := ropeHParam(c, "original_max_position_embeddings"); {
	case err != nil:
		return nil, err
	case !ok:
		opts.warnf("config.json has no original_max_position_embeddings; using max_position_embeddings %d", ctx)
	case v > 0 && v == math.Trunc(v) && v <= math.MaxInt32:
		origCtx = int(v)
	default:
		return nil, fmt.Errorf("config.json original_max_position_embeddings %v is not a context length", v)
	}
	rotPct := 1.0
	if v, ok, err := ropeHParam(c, "partial_rotary_factor"); err != nil {
		return nil, err
	} else if ok {
		rotPct = v
	}
	ropeDims := int(rotPct*float64(hp.embd)) / hp.heads
	if ropeDims <= 0 || ropeDims > hp.headDim || ropeDims%2 != 0 {
		return nil, fmt.Errorf("partial_rotary_factor %v gives %d rotary dimensions of a head of %d: want an even number in 2..%d", rotPct, ropeDims, hp.headDim, hp.headDim)
	}
	eps, ok, err := c.Float("rms_norm_eps")
	if err != nil {
		return nil, err
	}
	if !ok {
		eps = 1e-5 // Phi3Config's default
	}
	theta, ok, err := ropeHParam(c, "rope_theta")
	if err != nil {
		return nil, err
	}
	if !ok {
		theta = 10000
	}
	window, _, err := c.Int("sliding_window")
	if err != nil {
		return nil, err
	}

	m := &LanguageModel{Arch: "phi3"}
	kv := func(key string, v any) { m.KV = append(m.KV, gguf.KV{Key: "phi3." + key, Value: gguf.ValueOf(v)}) }
	// generate_extra_tensors runs before set_gguf_parameters, so the
	// attention factor is the converter's first key.
	factors, err := phi3RopeFactors(c, ctx, origCtx, ropeDims, hp.headDim, kv)
	if err != nil {
		return nil, err
	}
	kv("context_length", uint32(ctx))
	kv("rope.scaling.original_context_length", uint32(origCtx))
	kv("embedding_length", uint32(hp.embd))
	kv("feed_forward_length", uint32(hp.ff))
	kv("block_count", uint32(hp.layers))
	kv("attention.head_count", uint32(hp.heads))
	kv("attention.head_count_kv", uint32(hp.headsKV))
	kv("attention.layer_norm_rms_epsilon", float32(eps))
	kv("rope.dimension_count", uint32(ropeDims))
	kv("rope.freq_base", float32(theta))
	kv("attention.sliding_window", uint32(window))

	if m.KV, err = phi3Vocab(h, m.KV, hp.vocab, opts); err != nil {
		return nil, err
	}

	var l tensorList
	add := l.add
	qkvDim := (hp.heads + 2*hp.headsKV) * hp.headDim
	add(h.tensor("model.embed_tokens.weight", "token_embd.weight", hp.vocab, hp.embd))
	add(h.tensor("model.norm.weight", "output_norm.weight", hp.embd))
	if _, ok := h.Tensors["lm_head.weight"]; ok {
		add(h.tensor("lm_head.weight", "output.weight", hp.vocab, hp.embd))
	} else if tied, _ := h.Config.Bool("tie_word_embeddings"); tied {
		// llama.cpp c392e509's phi3 requires output.weight: a tied model
		// (Phi-4-mini) gets the embedding again.
		if emb, err := h.tensor("model.embed_tokens.weight", "output.weight", hp.vocab, hp.embd); err == nil {
			add(emb, nil)
		}
	} else {
		add(Tensor{}, fmt.Errorf("missing tensor \"lm_head.weight\" (config.json does not say tie_word_embeddings: true)"))
	}
	for i := range hp.layers {
		hf := func(s string) string { return fmt.Sprintf("model.layers.%d.%s", i, s) }
		gg := func(s string) string { return fmt.Sprintf("blk.%d.%s", i, s) }
		add(h.tensor(hf("input_layernorm.weight"), gg("attn_norm.weight"), hp.embd))
		add(h.tensor(hf("self_attn.qkv_proj.weight"), gg("attn_qkv.weight"), qkvDim, hp.embd))
		add(h.tensor(hf("self_attn.o_proj.weight"), gg("attn_output.weight"), hp.embd, hp.heads*hp.headDim))
		h.Skip(hf("self_attn.rotary_emb.inv_freq")) // recomputed from rope_theta
		add(h.tensor(hf("post_attention_layernorm.weight"), gg("ffn_norm.weight"), hp.embd))
		add(h.tensor(hf("mlp.gate_up_proj.weight"), gg("ffn_up.weight"), 2*hp.ff, hp.embd))
		add(h.tensor(hf("mlp.down_proj.weight"), gg("ffn_down.weight"), hp.embd, hp.ff))
	}
	l.tensors = append(l.tensors, factors...)
	m.Tensors = l.tensors
	return m, l.err
}

// phi3RopeFactors is Phi3MiniModel.generate_extra_tensors: for a
// long-context checkpoint, rope.scaling.attn_factor (written through kv)
// and the rope_factors_long/short tensors (F32, headDim/2 values each, of
// which the first ropeDims/2 are config.json's); nothing when rope_scaling
// has no long_factor.
func phi3RopeFactors(c source.HFConfig, ctx, origCtx, ropeDims, headDim int, kv func(string, any)) ([]Tensor, error) {
	rope, err := ropeParameters(c)
	if err != nil || rope == nil || !rope.Has("long_factor") {
		return nil, err
	}
	typ, _ := rope.Text("rope_type")
	if typ == "" {
		typ, _ = rope.Text("type")
	}
	scale := float64(ctx) / float64(origCtx)
	attnFactor := 1.0
	switch typ {
	case "su", "longrope":
		if scale > 1 {
			attnFactor = math.Sqrt(1 + math.Log(scale)/math.Log(float64(origCtx)))
		}
	case "yarn":
		if scale > 1 {
			attnFactor = 0.1*math.Log(scale) + 1
		}
	case "":
		return nil, fmt.Errorf("rope_scaling has long_factor but no type")
	default:
		return nil, fmt.Errorf("rope_scaling type %q is not supported for phi3 (longrope, su, yarn)", typ)
	}
	kv("rope.scaling.attn_factor", float32(attnFactor))
	var tensors []Tensor
	for _, f := range []struct{ key, name string }{{"long_factor", "rope_factors_long.weight"}, {"short_factor", "rope_factors_short.weight"}} {
		var v []float64
		if !rope.Has(f.key) {
			return nil, fmt.Errorf("rope_scaling has long_factor but no short_factor")
		}
		if err := json.Unmarshal(rope[f.key], &v); err != nil {
			return nil, fmt.Errorf("rope_scaling %s: want a list of numbers: %w", f.key, err)
		}
		if 2*len(v) != ropeDims {
			return nil, fmt.Errorf("rope_scaling %s: %d values, want %d (half the %d rotary dimensions)", f.key, len(v), ropeDims/2, ropeDims)
		}
		// llama.cpp c392e509 binds the factors as [head size / 2] and
		// reads the first ropeDims/2; convert_hf_to_gguf.py writes
		// ropeDims/2, which that llama.cpp refuses for partial rotary
		// embeddings (Phi-4-mini), so the rest are padded with 1 (unused).
		x := make([]float32, headDim/2)
		for i := range x {
			x[i] = 1
		}
		for i := range v {
			x[i] = float32(v[i])
		}
		tensors = append(tensors, viewTensor(f.name, []uint64{uint64(len(x))}, quant.F32, encodeF32s(x)))
	}
	return tensors, nil
}

// phi3Vocab is Phi3MiniModel.set_vocab: byte-level BPE when
// tokenizer_config.json names GPT2Tokenizer (Phi-4), else the
// SentencePiece tokenizer.model, with the added tokens of added_tokens.json,
// tokenizer_config.json and tokenizer.json laid over it the Phi-3 way.
func phi3Vocab(h hfDir, kv []gguf.KV, nVocab int, opts *LMOptions) ([]gguf.KV, error) {
	if h.hasFile("tokenizer_config.json") {
		raw, err := source.ReadHFJSON(filepath.Join(h.Dir, "tokenizer_config.json"))
		if err != nil {
			return nil, err
		}
		tc, err := source.ParseHFConfig(raw)
		if err != nil {
			return nil, fmt.Errorf("tokenizer_config.json: %w", err)
		}
		if class, _ := tc.Text("tokenizer_class"); class == "GPT2Tokenizer" {
			return h.appendVocab(kv, nVocab, false, opts)
		}
	}
	if !h.hasFile("tokenizer.model") {
		return nil, fmt.Errorf("%s: no tokenizer.model (Phi-3's SentencePiece vocabulary)", h.Dir)
	}
	v, err := vocab.FromHFDir(h.Dir, h.Config, vocab.HFOptions{NVocab: nVocab, SentencePiece: true, Phi3AddedTokens: true, Warn: opts.Warn})
	if err != nil {
		return nil, err
	}
	return append(kv, v...), nil
}
