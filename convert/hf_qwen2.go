package convert

// Qwen2 and Qwen2.5 (Qwen2ForCausalLM) from Hugging Face, as
// convert_hf_to_gguf.py's Qwen2Model converts them: Llama's tensors plus
// q/k/v biases, with no q/k permutation (llama.cpp runs qwen2 with NEOX
// rope, which rotates element i of a head with element i+d/2 as
// transformers' rotate_half does). The sliding-window settings of
// config.json (use_sliding_window, max_window_layers) are not written:
// llama.cpp's qwen2 has no sliding window.

import (
	"fmt"

	"github.com/infer-go/infer/convert/source"
	"github.com/infer-go/infer/gguf"
)

func hfQwen2(h hfDir, opts *LMOptions) (*LanguageModel, error) {
	c := h.Config
	hp, err := readLlamaHParams(c)
	if err != nil {
		return nil, err
	}
	m := &LanguageModel{Arch: "qwen2"}
	kv := func(key string, v any) { m.KV = append(m.KV, gguf.KV{Key: "qwen2." + key, Value: gguf.ValueOf(v)}) }
	if err := textModelKV(c, hp, 1e-6, 0, kv); err != nil {
		return nil, err
	}
	if sw, _ := c.Bool("use_sliding_window"); sw {
		opts.warnf("use_sliding_window is true, but llama.cpp's qwen2 attends to the whole context; the window is not converted")
	}
	if err := yarnKV(c, kv, opts); err != nil {
		return nil, err
	}
	// Qwen2Model.set_vocab: SentencePiece when there is a tokenizer.model,
	// else byte-level BPE (pre-tokenizer "qwen2").
	if m.KV, err = h.appendVocab(m.KV, hp.vocab, h.hasFile("tokenizer.model"), opts); err != nil {
		return nil, err
	}
	var l tensorList
	add, addOptional := l.add, l.addOptional
	qDim, kvDim := hp.heads*hp.headDim, hp.headsKV*hp.headDim
	add(h.tensor("model.embed_tokens.weight", "token_embd.weight", hp.vocab, hp.embd))
	add(h.tensor("model.norm.weight", "output_norm.weight", hp.embd))
	h.outputTensor(&l, hp)
	for i := range hp.layers {
		hf := func(s string) string { return fmt.Sprintf("model.layers.%d.%s", i, s) }
		gg := func(s string) string { return fmt.Sprintf("blk.%d.%s", i, s) }
		add(h.tensor(hf("input_layernorm.weight"), gg("attn_norm.weight"), hp.embd))
		add(h.tensor(hf("self_attn.q_proj.weight"), gg("attn_q.weight"), qDim, hp.embd))
		add(h.tensor(hf("self_attn.k_proj.weight"), gg("attn_k.weight"), kvDim, hp.embd))
		add(h.tensor(hf("self_attn.v_proj.weight"), gg("attn_v.weight"), kvDim, hp.embd))
		// llama.cpp's qwen2 requires the three biases.
		add(h.tensor(hf("self_attn.q_proj.bias"), gg("attn_q.bias"), qDim))
		add(h.tensor(hf("self_attn.k_proj.bias"), gg("attn_k.bias"), kvDim))
		add(h.tensor(hf("self_attn.v_proj.bias"), gg("attn_v.bias"), kvDim))
		add(h.tensor(hf("self_attn.o_proj.weight"), gg("attn_output.weight"), hp.embd, qDim))
		addOptional(h.optionalTensor(hf("self_attn.o_proj.bias"), gg("attn_output.bias"), hp.embd))
		h.Skip(hf("self_attn.rotary_emb.inv_freq")) // recomputed from rope_theta
		add(h.tensor(hf("post_attention_layernorm.weight"), gg("ffn_norm.weight"), hp.embd))
		add(h.tensor(hf("mlp.gate_proj.weight"), gg("ffn_gate.weight"), hp.ff, hp.embd))
		add(h.tensor(hf("mlp.up_proj.weight"), gg("ffn_up.weight"), hp.ff, hp.embd))
		add(h.tensor(hf("mlp.down_proj.weight"), gg("ffn_down.weight"), hp.embd, hp.ff))
	}
	m.Tensors = l.tensors
	return m, l.err
}

// yarnKV writes YaRN rope scaling as Qwen2Model.set_gguf_parameters does
// (Qwen2.5's long-context setting: rope_scaling {type: yarn, factor,
// original_max_position_embeddings}); other types are warned about and
// left out, as llama.cpp's converter leaves them.
func yarnKV(c source.HFConfig, kv func(string, any), opts *LMOptions) error {
	rope, err := ropeParameters(c)
	if err != nil || rope == nil {
		return err
	}
	typ, _ := rope.Text("rope_type")
	if typ == "" {
		typ, _ = rope.Text("type")
	}
	factor, hasFactor, err := rope.Float("factor")
	if err != nil {
		return err
	}
	switch {
	case typ == "" || typ == "default":
	case typ == "yarn" && hasFactor:
		orig, ok, err := rope.Int("original_max_position_embeddings")
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("rope_scaling: yarn without original_max_position_embeddings")
		}
		kv("rope.scaling.type", "yarn")
		kv("rope.scaling.factor", float32(factor))
		kv("rope.scaling.original_context_length", uint32(orig))
	default:
		opts.warnf("rope scaling type %q is not converted; the model will use plain rotary embeddings", typ)
	}
	return nil
}
