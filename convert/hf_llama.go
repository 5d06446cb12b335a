package convert

// Llama-family models (LlamaForCausalLM, MistralForCausalLM) from Hugging
// Face, as convert_hf_to_gguf.py's LlamaModel converts them.

import (
	"fmt"
	"math"

	"github.com/infer-go/infer/convert/source"
	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/quant"
)

// llamaHParams are the hyperparameters of a Llama config.json.
type llamaHParams struct {
	embd, layers, heads, headsKV, headDim, ff, vocab int
}

func readLlamaHParams(c source.HFConfig) (hp llamaHParams, err error) {
	if hp.embd, err = c.RequireInt("hidden_size", "n_embd", "dim"); err != nil {
		return hp, err
	}
	if hp.layers, err = c.RequireInt("num_hidden_layers", "n_layers", "n_layer", "num_layers"); err != nil {
		return hp, err
	}
	if hp.heads, err = c.RequireInt("num_attention_heads", "n_heads", "n_head"); err != nil {
		return hp, err
	}
	if hp.ff, err = c.RequireInt("intermediate_size", "n_inner", "hidden_dim"); err != nil {
		return hp, err
	}
	if hp.vocab, err = c.RequireInt("vocab_size"); err != nil {
		return hp, err
	}
	hp.headsKV = hp.heads
	if n, ok, err := c.Int("num_key_value_heads", "n_kv_heads"); err != nil {
		return hp, err
	} else if ok {
		hp.headsKV = n
	}
	if hp.headsKV == 0 || hp.heads%hp.headsKV != 0 {
		return hp, fmt.Errorf("num_attention_heads %d is not a multiple of num_key_value_heads %d", hp.heads, hp.headsKV)
	}
	hp.headDim = hp.embd / hp.heads
	if n, ok, err := c.Int("head_dim"); err != nil {
		return hp, err
	} else if ok {
		hp.headDim = n
	} else if hp.embd%hp.heads != 0 {
		return hp, fmt.Errorf("hidden_size %d is not a multiple of num_attention_heads %d", hp.embd, hp.heads)
	}
	if hp.headDim == 0 || hp.headDim%2 != 0 {
		return hp, fmt.Errorf("head dimension %d: rotary embeddings need an even, positive one", hp.headDim)
	}
	return hp, nil
}

func hfLlama(h hfDir, opts *LMOptions) (*LanguageModel, error) {
	c := h.Config
	hp, err := readLlamaHParams(c)
	if err != nil {
		return nil, err
	}
	m := &LanguageModel{Arch: "llama"}
	kv := func(key string, v any) { m.KV = append(m.KV, gguf.KV{Key: "llama." + key, Value: gguf.ValueOf(v)}) }

	// The keys in the order convert_hf_to_gguf.py writes them.
	kv("block_count", uint32(hp.layers))
	if n, ok, err := c.Int("max_position_embeddings", "n_ctx", "n_positions", "max_length", "max_sequence_length", "model_max_length"); err != nil {
		return nil, err
	} else if ok {
		kv("context_length", uint32(n))
	} else {
		return nil, fmt.Errorf("config.json gives no context length (max_position_embeddings)")
	}
	kv("embedding_length", uint32(hp.embd))
	kv("feed_forward_length", uint32(hp.ff))
	kv("attention.head_count", uint32(hp.heads))
	kv("attention.head_count_kv", uint32(hp.headsKV))

	rope, _, err := c.Object("rope_scaling")
	if err != nil {
		return nil, err
	}
	if rope == nil {
		if rope, _, err = c.Object("rope_parameters"); err != nil {
			return nil, err
		}
	}
	theta, thetaOK, err := c.Float("rope_theta")
	if err != nil {
		return nil, err
	}
	if !thetaOK && rope != nil {
		if theta, thetaOK, err = rope.Float("rope_theta"); err != nil {
			return nil, err
		}
	}
	if thetaOK {
		kv("rope.freq_base", float32(theta))
	}
	eps, ok, err := c.Float("rms_norm_eps", "norm_eps")
	if err != nil {
		return nil, err
	}
	if !ok {
		eps = 1e-6 // transformers' LlamaConfig default
	}
	kv("attention.layer_norm_rms_epsilon", float32(eps))
	if c.Has("head_dim") {
		kv("attention.key_length", uint32(hp.headDim))
		kv("attention.value_length", uint32(hp.headDim))
	}
	kv("vocab_size", uint32(hp.vocab))
	kv("rope.dimension_count", uint32(hp.headDim))

	var ropeFreqs []float32
	if rope != nil {
		typ, _ := rope.Text("rope_type")
		if typ == "" {
			typ, _ = rope.Text("type")
		}
		factor, hasFactor, err := rope.Float("factor")
		if err != nil {
			return nil, err
		}
		switch typ {
		case "", "default":
		case "linear":
			if hasFactor {
				kv("rope.scaling.type", "linear")
				kv("rope.scaling.factor", float32(factor))
			}
		case "yarn":
			if hasFactor {
				kv("rope.scaling.type", "yarn")
				kv("rope.scaling.factor", float32(factor))
				if n, ok, err := rope.Int("original_max_position_embeddings"); err != nil {
					return nil, err
				} else if ok {
					kv("rope.scaling.original_context_length", uint32(n))
				}
			}
		case "llama3", "Llama3", "LLAMA3":
			if !thetaOK {
				theta = 10000
			}
			if ropeFreqs, err = llama3RopeFactors(c, rope, theta, hp.headDim); err != nil {
				return nil, err
			}
		default:
			opts.warnf("rope scaling type %q is not converted; the model will use plain rotary embeddings", typ)
		}
	}

	if m.KV, err = h.appendVocab(m.KV, hp.vocab, true, opts); err != nil {
		return nil, err
	}
	if m.Tensors, err = hfLlamaTensors(h, hp); err != nil {
		return nil, err
	}
	if ropeFreqs != nil {
		m.Tensors = append(m.Tensors, viewTensor("rope_freqs.weight", []uint64{uint64(len(ropeFreqs))}, quant.F32, encodeF32s(ropeFreqs)))
	}
	return m, nil
}

// hfLlamaTensors maps the weights, undoing Hugging Face's q/k permutation.
func hfLlamaTensors(h hfDir, hp llamaHParams) ([]Tensor, error) {
	var l tensorList
	add, addOptional := l.add, l.addOptional
	qDim, kvDim := hp.heads*hp.headDim, hp.headsKV*hp.headDim

	add(h.tensor("model.embed_tokens.weight", "token_embd.weight", hp.vocab, hp.embd))
	add(h.tensor("model.norm.weight", "output_norm.weight", hp.embd))
	if tied, _ := h.Config.Bool("tie_word_embeddings"); tied {
		h.Skip("lm_head.weight") // the same matrix as the embedding
	} else if _, ok := h.Tensors["lm_head.weight"]; ok {
		add(h.tensor("lm_head.weight", "output.weight", hp.vocab, hp.embd))
	} else {
		add(Tensor{}, fmt.Errorf("missing tensor \"lm_head.weight\" (config.json does not say tie_word_embeddings: true)"))
	}

	permuted := func(heads int) func(t Tensor, err error) (Tensor, error) {
		return func(t Tensor, err error) (Tensor, error) {
			if err != nil {
				return t, err
			}
			rows := int(t.Dims[len(t.Dims)-1])
			return transformed(t, func(src []byte) ([]byte, error) { return permuteHFRows(src, rows, heads) }), nil
		}
	}
	for i := range hp.layers {
		hf := func(s string) string { return fmt.Sprintf("model.layers.%d.%s", i, s) }
		gg := func(s string) string { return fmt.Sprintf("blk.%d.%s", i, s) }
		add(h.tensor(hf("input_layernorm.weight"), gg("attn_norm.weight"), hp.embd))
		add(permuted(hp.heads)(h.tensor(hf("self_attn.q_proj.weight"), gg("attn_q.weight"), qDim, hp.embd)))
		add(permuted(hp.headsKV)(h.tensor(hf("self_attn.k_proj.weight"), gg("attn_k.weight"), kvDim, hp.embd)))
		add(h.tensor(hf("self_attn.v_proj.weight"), gg("attn_v.weight"), kvDim, hp.embd))
		add(h.tensor(hf("self_attn.o_proj.weight"), gg("attn_output.weight"), hp.embd, qDim))
		if t, ok, err := h.optionalTensor(hf("self_attn.q_proj.bias"), gg("attn_q.bias"), qDim); ok || err != nil {
			add(permuted(hp.heads)(t, err))
		}
		if t, ok, err := h.optionalTensor(hf("self_attn.k_proj.bias"), gg("attn_k.bias"), kvDim); ok || err != nil {
			add(permuted(hp.headsKV)(t, err))
		}
		addOptional(h.optionalTensor(hf("self_attn.v_proj.bias"), gg("attn_v.bias"), kvDim))
		addOptional(h.optionalTensor(hf("self_attn.o_proj.bias"), gg("attn_output.bias"), hp.embd))
		h.Skip(hf("self_attn.rotary_emb.inv_freq")) // recomputed from rope_theta

		add(h.tensor(hf("post_attention_layernorm.weight"), gg("ffn_norm.weight"), hp.embd))
		add(h.tensor(hf("mlp.gate_proj.weight"), gg("ffn_gate.weight"), hp.ff, hp.embd))
		add(h.tensor(hf("mlp.up_proj.weight"), gg("ffn_up.weight"), hp.ff, hp.embd))
		add(h.tensor(hf("mlp.down_proj.weight"), gg("ffn_down.weight"), hp.embd, hp.ff))
		addOptional(h.optionalTensor(hf("mlp.gate_proj.bias"), gg("ffn_gate.bias"), hp.ff))
		addOptional(h.optionalTensor(hf("mlp.up_proj.bias"), gg("ffn_up.bias"), hp.ff))
		addOptional(h.optionalTensor(hf("mlp.down_proj.bias"), gg("ffn_down.bias"), hp.embd))
	}
	return l.tensors, l.err
}

// permuteHFRows reorders the rows of a q or k projection (weights or bias)
// of nHead heads from Hugging Face's layout to llama.cpp's: Hugging Face's
// rotary embedding rotates element i of a head with element i+d/2
// (rotate_half), llama.cpp's rotates elements 2i and 2i+1, so row j*d/2+i of
// a head moves to row 2i+j. This is convert_hf_to_gguf.py's
// permute(w, n_head, n_head_kv): w.reshape(n_head, 2, d/2, ...)
// .swapaxes(1, 2).
func permuteHFRows(src []byte, rows, nHead int) ([]byte, error) {
	if rows <= 0 || nHead <= 0 || rows%nHead != 0 || (rows/nHead)%2 != 0 || len(src)%rows != 0 {
		return nil, fmt.Errorf("cannot split %d rows (%d bytes) into %d heads of an even size", rows, len(src), nHead)
	}
	rowBytes := len(src) / rows
	hd := rows / nHead
	half := hd / 2
	dst := make([]byte, len(src))
	for h := range nHead {
		for i := range half {
			for j := range 2 {
				from := h*hd + j*half + i
				to := h*hd + 2*i + j
				copy(dst[to*rowBytes:(to+1)*rowBytes], src[from*rowBytes:(from+1)*rowBytes])
			}
		}
	}
	return dst, nil
}

// llama3RopeFactors computes rope_freqs.weight for Llama 3's "llama3" rope
// scaling as convert_hf_to_gguf.py's LlamaModel.generate_extra_tensors
// does, in float32 like its torch code: llama.cpp divides each rotation
// frequency by the factor. original_max_position_embeddings is read from
// rope_scaling (where transformers reads it), else from the top level of
// config.json, else 8192.
func llama3RopeFactors(c, rope source.HFConfig, base float64, dim int) ([]float32, error) {
	get := func(cfg source.HFConfig, key string, def float64) (float32, error) {
		v, ok, err := cfg.Float(key)
		if err != nil {
			return 0, err
		}
		if !ok {
			return float32(def), nil
		}
		return float32(v), nil
	}
	factor, err := get(rope, "factor", 8)
	if err != nil {
		return nil, err
	}
	low, err := get(rope, "low_freq_factor", 1)
	if err != nil {
		return nil, err
	}
	high, err := get(rope, "high_freq_factor", 4)
	if err != nil {
		return nil, err
	}
	oldCtx, err := get(c, "original_max_position_embeddings", 8192)
	if err != nil {
		return nil, err
	}
	if rope.Has("original_max_position_embeddings") {
		if oldCtx, err = get(rope, "original_max_position_embeddings", 8192); err != nil {
			return nil, err
		}
	}
	return Llama3RopeFactors(Llama3RopeScaling{Factor: factor, LowFreqFactor: low, HighFreqFactor: high, OriginalContext: oldCtx}, base, dim)
}

// Llama3RopeScaling is Llama 3.1's "llama3" rope scaling (config.json's
// rope_scaling).
type Llama3RopeScaling struct {
	Factor, LowFreqFactor, HighFreqFactor float32
	OriginalContext                       float32 // original_max_position_embeddings
}

// Llama3RopeFactors computes rope_freqs.weight, the dim/2 divisors of the
// rotation frequencies of a head of dim elements with rope base base, as
// convert_hf_to_gguf.py computes them (in float32, like its torch code).
func Llama3RopeFactors(s Llama3RopeScaling, base float64, dim int) ([]float32, error) {
	factor, low, high, oldCtx := s.Factor, s.LowFreqFactor, s.HighFreqFactor, s.OriginalContext
	if !(factor > 0) || !(oldCtx > 0) || !(low > 0) || !(high > 0) || high == low {
		return nil, fmt.Errorf("rope_scaling: factor %v, low_freq_factor %v, high_freq_factor %v, original context %v: want positive values, the two frequency factors distinct", factor, low, high, oldCtx)
	}
	lowWavelen := oldCtx / low
	highWavelen := oldCtx / high
	out := make([]float32, 0, dim/2)
	for i := 0; i < dim; i += 2 {
		freq := 1 / float32(math.Pow(base, float64(float32(i)/float32(dim))))
		wavelen := float32(2*math.Pi) / freq
		switch {
		case wavelen < highWavelen:
			out = append(out, 1)
		case wavelen > lowWavelen:
			out = append(out, factor)
		default:
			smooth := (oldCtx/wavelen - low) / (high - low)
			out = append(out, 1/((1-smooth)/factor+smooth))
		}
	}
	return out, nil
}
