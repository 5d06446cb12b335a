package convert

// Gemma 2 (Gemma2ForCausalLM) from Hugging Face, as convert_hf_to_gguf.py's
// Gemma2Model converts it: every RMSNorm weight plus 1 (Gemma's norms
// scale by 1 + w, llama.cpp's by w), the four norms of a block as
// attn_norm, post_attention_norm, ffn_norm (pre_feedforward_layernorm) and
// post_ffw_norm, the head size from head_dim (heads x head size need not be
// the width), the soft-caps and the sliding window; no output.weight
// (llama.cpp's gemma2 always uses the embedding, so lm_head is skipped),
// no q/k permutation (NEOX rope), no rope base (llama.cpp's default
// 10000 is Gemma 2's). llama.cpp c392e509 runs only the 26-, 42- and
// 46-layer shapes (2B, 9B, 27B): it takes the query scale from the layer
// count, so a file of another depth converts but does not load there.

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/quant"
)

func hfGemma2(h hfDir, opts *LMOptions) (*LanguageModel, error) {
	c := h.Config
	hp, err := readLlamaHParams(c)
	if err != nil {
		return nil, err
	}
	if !c.Has("head_dim") {
		hp.headDim = 256 // Gemma2Config's default
	}
	ctx, err := c.RequireInt("max_position_embeddings")
	if err != nil {
		return nil, err
	}
	// Gemma2Config's defaults for what Gemma2Model reads unconditionally.
	float := func(key string, def float64) (float64, error) {
		if raw, present := c[key]; present && string(raw) == "null" {
			return 0, fmt.Errorf("config.json %s is null: llama.cpp's gemma2 has no way to turn it off", key)
		}
		v, ok, err := c.Float(key)
		if !ok && err == nil {
			v = def
		}
		return v, err
	}
	eps, err := float("rms_norm_eps", 1e-6)
	if err != nil {
		return nil, err
	}
	attnCap, err := float("attn_logit_softcapping", 50)
	if err != nil {
		return nil, err
	}
	finalCap, err := float("final_logit_softcapping", 30)
	if err != nil {
		return nil, err
	}
	window, err := float("sliding_window", 4096)
	if err != nil {
		return nil, err
	}
	if window < 0 || window != math.Trunc(window) || window > math.MaxUint32 {
		return nil, fmt.Errorf("config.json sliding_window %v is not a window size", window)
	}
	if theta, ok, _ := ropeHParam(c, "rope_theta"); ok && theta != 10000 {
		opts.warnf("rope_theta %v: llama.cpp's gemma2 converter writes no rope base, so the file uses 10000", theta)
	}
	switch hp.layers {
	case 26, 42, 46:
	default:
		opts.warnf("%d layers: llama.cpp loads gemma2 only with 26, 42 or 46 (it takes the query scale from the model size)", hp.layers)
	}

	m := &LanguageModel{Arch: "gemma2"}
	kv := func(key string, v any) { m.KV = append(m.KV, gguf.KV{Key: "gemma2." + key, Value: gguf.ValueOf(v)}) }
	kv("context_length", uint32(ctx))
	kv("embedding_length", uint32(hp.embd))
	kv("block_count", uint32(hp.layers))
	kv("feed_forward_length", uint32(hp.ff))
	kv("attention.head_count", uint32(hp.heads))
	kv("attention.head_count_kv", uint32(hp.headsKV))
	kv("attention.layer_norm_rms_epsilon", float32(eps))
	kv("attention.key_length", uint32(hp.headDim))
	kv("attention.value_length", uint32(hp.headDim))
	kv("attn_logit_softcapping", float32(attnCap))
	kv("final_logit_softcapping", float32(finalCap))
	kv("attention.sliding_window", uint32(window))

	// Gemma2Model.set_vocab: SentencePiece, then add_space_prefix false.
	if m.KV, err = h.appendVocab(m.KV, hp.vocab, true, opts); err != nil {
		return nil, err
	}
	kvs := m.KV[:0]
	for _, x := range m.KV {
		if x.Key != "tokenizer.ggml.add_space_prefix" {
			kvs = append(kvs, x)
		}
	}
	m.KV = append(kvs, gguf.KV{Key: "tokenizer.ggml.add_space_prefix", Value: gguf.ValueOf(false)})

	var l tensorList
	add := l.add
	norm := func(t Tensor, err error) (Tensor, error) {
		if err != nil {
			return t, err
		}
		return plusOne(t)
	}
	qDim, kvDim := hp.heads*hp.headDim, hp.headsKV*hp.headDim
	add(h.tensor("model.embed_tokens.weight", "token_embd.weight", hp.vocab, hp.embd))
	add(norm(h.tensor("model.norm.weight", "output_norm.weight", hp.embd)))
	h.Skip("lm_head.weight") // llama.cpp's gemma2 uses token_embd (autoawq checkpoints hold a copy)
	for i := range hp.layers {
		hf := func(s string) string { return fmt.Sprintf("model.layers.%d.%s", i, s) }
		gg := func(s string) string { return fmt.Sprintf("blk.%d.%s", i, s) }
		add(norm(h.tensor(hf("input_layernorm.weight"), gg("attn_norm.weight"), hp.embd)))
		add(h.tensor(hf("self_attn.q_proj.weight"), gg("attn_q.weight"), qDim, hp.embd))
		add(h.tensor(hf("self_attn.k_proj.weight"), gg("attn_k.weight"), kvDim, hp.embd))
		add(h.tensor(hf("self_attn.v_proj.weight"), gg("attn_v.weight"), kvDim, hp.embd))
		add(h.tensor(hf("self_attn.o_proj.weight"), gg("attn_output.weight"), hp.embd, qDim))
		h.Skip(hf("self_attn.rotary_emb.inv_freq")) // recomputed from rope_theta
		add(norm(h.tensor(hf("post_attention_layernorm.weight"), gg("post_attention_norm.weight"), hp.embd)))
		add(norm(h.tensor(hf("pre_feedforward_layernorm.weight"), gg("ffn_norm.weight"), hp.embd)))
		add(norm(h.tensor(hf("post_feedforward_layernorm.weight"), gg("post_ffw_norm.weight"), hp.embd)))
		add(h.tensor(hf("mlp.gate_proj.weight"), gg("ffn_gate.weight"), hp.ff, hp.embd))
		add(h.tensor(hf("mlp.up_proj.weight"), gg("ffn_up.weight"), hp.ff, hp.embd))
		add(h.tensor(hf("mlp.down_proj.weight"), gg("ffn_down.weight"), hp.embd, hp.ff))
	}
	m.Tensors = l.tensors
	return m, l.err
}

// plusOne adds 1 to every element of a norm weight in the precision
// convert_hf_to_gguf.py adds it: it widens BF16 (and F64) tensors to F32
// before any arithmetic, so those sums are F32 ones; an F16 tensor is
// summed as torch sums halves, in F32 and rounded back to F16 (the file
// then holds it as F32, exactly).
func plusOne(t Tensor) (Tensor, error) {
	switch t.Type {
	case quant.F32:
		return transformed(t, func(src []byte) ([]byte, error) {
			dst := make([]byte, len(src))
			for i := 0; i+4 <= len(src); i += 4 {
				x := math.Float32frombits(binary.LittleEndian.Uint32(src[i:]))
				binary.LittleEndian.PutUint32(dst[i:], math.Float32bits(x+1))
			}
			return dst, nil
		}), nil
	case quant.F16:
		return transformed(t, func(src []byte) ([]byte, error) {
			dst := make([]byte, len(src))
			for i := 0; i+2 <= len(src); i += 2 {
				x := quant.F16ToF32(binary.LittleEndian.Uint16(src[i:]))
				binary.LittleEndian.PutUint16(dst[i:], quant.F32ToF16(x+1))
			}
			return dst, nil
		}), nil
	case quant.BF16:
		t.Type = quant.F32
		return transformed(t, func(src []byte) ([]byte, error) {
			dst := make([]byte, 2*len(src))
			for i := 0; i+2 <= len(src); i += 2 {
				x := quant.BF16ToF32(binary.LittleEndian.Uint16(src[i:]))
				binary.LittleEndian.PutUint32(dst[2*i:], math.Float32bits(x+1))
			}
			return dst, nil
		}), nil
	}
	return Tensor{}, fmt.Errorf("tensor %q: cannot add 1 to %s elements", t.Name, t.Type)
}
