package convert

// StarCoder2 (Starcoder2ForCausalLM) from Hugging Face, as
// convert_hf_to_gguf.py's StarCoder2Model converts it: TextModel's keys
// and tensor names as they are, LayerNorm weights and biases, biases on
// every projection (when use_bias, the default), the MLP's c_fc / c_proj
// (nn.Linear, so no transpose) as ffn_up / ffn_down, no q/k permutation
// (llama.cpp's starcoder2 uses NEOX rope, as transformers' rotate_half).
// config.json's sliding_window is not written: llama.cpp's starcoder2
// has none.

import (
	"fmt"

	"github.com/infer-go/infer/gguf"
)

func hfStarcoder2(h hfDir, opts *LMOptions) (*LanguageModel, error) {
	c := h.Config
	hp, err := readLlamaHParams(c)
	if err != nil {
		return nil, err
	}
	switch act, _ := c.Text("hidden_act"); act {
	case "", "gelu_pytorch_tanh", "gelu_new", "gelu_fast":
	default:
		// llama.cpp's starcoder2 always uses the tanh GELU.
		opts.warnf("hidden_act %q: llama.cpp's starcoder2 computes the tanh-approximated GELU", act)
	}
	m := &LanguageModel{Arch: "starcoder2"}
	kv := func(key string, v any) {
		m.KV = append(m.KV, gguf.KV{Key: "starcoder2." + key, Value: gguf.ValueOf(v)})
	}
	if err := textModelKV(c, hp, 0, 1e-5, kv); err != nil {
		return nil, err
	}
	if m.KV, err = h.appendVocab(m.KV, hp.vocab, false, opts); err != nil {
		return nil, err
	}

	var l tensorList
	add := l.add
	qDim, kvDim := hp.heads*hp.headDim, hp.headsKV*hp.headDim
	// withBias maps a projection or norm and its bias (absent, and
	// optional, when config.json says use_bias: false).
	useBias := true
	if b, ok := c.Bool("use_bias"); ok {
		useBias = b
	}
	withBias := func(hf, gg string, rows int, cols ...int) {
		add(h.tensor(hf+".weight", gg+".weight", append([]int{rows}, cols...)...))
		if useBias {
			add(h.tensor(hf+".bias", gg+".bias", rows))
		} else {
			l.addOptional(h.optionalTensor(hf+".bias", gg+".bias", rows))
		}
	}
	add(h.tensor("model.embed_tokens.weight", "token_embd.weight", hp.vocab, hp.embd))
	withBias("model.norm", "output_norm", hp.embd)
	h.outputTensor(&l, hp)
	for i := range hp.layers {
		hf := func(s string) string { return fmt.Sprintf("model.layers.%d.%s", i, s) }
		gg := func(s string) string { return fmt.Sprintf("blk.%d.%s", i, s) }
		withBias(hf("input_layernorm"), gg("attn_norm"), hp.embd)
		withBias(hf("self_attn.q_proj"), gg("attn_q"), qDim, hp.embd)
		withBias(hf("self_attn.k_proj"), gg("attn_k"), kvDim, hp.embd)
		withBias(hf("self_attn.v_proj"), gg("attn_v"), kvDim, hp.embd)
		withBias(hf("self_attn.o_proj"), gg("attn_output"), hp.embd, qDim)
		h.Skip(hf("self_attn.rotary_emb.inv_freq")) // recomputed from rope_theta
		withBias(hf("post_attention_layernorm"), gg("ffn_norm"), hp.embd)
		withBias(hf("mlp.c_fc"), gg("ffn_up"), hp.ff, hp.embd)
		withBias(hf("mlp.c_proj"), gg("ffn_down"), hp.embd, hp.ff)
	}
	m.Tensors = l.tensors
	return m, l.err
}
