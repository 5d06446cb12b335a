package convert

// GPT-2 (GPT2LMHeadModel) from Hugging Face, as convert_hf_to_gguf.py's
// GPT2Model converts it.

import (
	"fmt"
	"strings"

	"github.com/infer-go/infer/gguf"
)

func hfGPT2(h hfDir, opts *LMOptions) (*LanguageModel, error) {
	c := h.Config
	embd, err := c.RequireInt("n_embd", "hidden_size")
	if err != nil {
		return nil, err
	}
	layers, err := c.RequireInt("n_layer", "num_hidden_layers")
	if err != nil {
		return nil, err
	}
	heads, err := c.RequireInt("n_head", "num_attention_heads")
	if err != nil {
		return nil, err
	}
	vocab, err := c.RequireInt("vocab_size")
	if err != nil {
		return nil, err
	}
	positions, err := c.RequireInt("n_positions", "n_ctx", "max_position_embeddings")
	if err != nil {
		return nil, err
	}
	ctx := positions
	if n, ok, err := c.Int("n_ctx"); err != nil {
		return nil, err
	} else if ok && n > 0 {
		ctx = n
	}
	if ctx > positions {
		return nil, fmt.Errorf("n_ctx %d is longer than the %d learned positions", ctx, positions)
	}
	if embd%heads != 0 {
		return nil, fmt.Errorf("n_embd %d is not a multiple of n_head %d", embd, heads)
	}
	// n_inner is null in GPT-2's own configs: 4*n_embd.
	ff := 4 * embd
	if n, ok, err := c.Int("n_inner"); err != nil {
		return nil, err
	} else if ok && n > 0 {
		ff = n
	}
	eps, ok, err := c.Float("layer_norm_epsilon", "layer_norm_eps")
	if err != nil {
		return nil, err
	}
	if !ok {
		eps = 1e-5 // transformers' GPT2Config default
	}

	m := &LanguageModel{Arch: "gpt2"}
	kv := func(key string, v any) { m.KV = append(m.KV, gguf.KV{Key: "gpt2." + key, Value: gguf.ValueOf(v)}) }
	kv("block_count", uint32(layers))
	kv("context_length", uint32(ctx))
	kv("embedding_length", uint32(embd))
	kv("feed_forward_length", uint32(ff))
	kv("attention.head_count", uint32(heads))
	kv("attention.layer_norm_epsilon", float32(eps))
	// GPT-2's "gelu_new" is the tanh approximation llama.cpp uses; exact
	// GELU is recorded in infer's own key (llama.cpp ignores it).
	act, _ := c.Text("activation_function")
	switch act {
	case "", "gelu_new", "gelu_pytorch_tanh", "gelu_fast":
	case "gelu":
		kv("activation", "gelu_erf")
	default:
		return nil, fmt.Errorf("activation_function %q is not supported (gelu_new, gelu)", act)
	}

	if m.KV, err = h.appendVocab(m.KV, vocab, false, opts); err != nil {
		return nil, err
	}
	if m.Tensors, err = hfGPT2Tensors(h, embd, ff, layers, vocab, positions); err != nil {
		return nil, err
	}
	return m, nil
}

// hfGPT2Tensors maps the weights. GPT-2's projections are Conv1D modules
// whose weights are stored [in, out], the transpose of nn.Linear's, so they
// are transposed into llama.cpp's [out][in] rows.
func hfGPT2Tensors(h hfDir, embd, ff, layers, vocab, positions int) ([]Tensor, error) {
	// save_pretrained writes "transformer."-prefixed names; the original
	// GPT-2 checkpoints on the Hub have none.
	prefix := ""
	if _, ok := h.Tensors["transformer.wte.weight"]; ok {
		prefix = "transformer."
	}
	var l tensorList
	add := l.add
	conv1D := func(name, gg string, in, outDim int) {
		t, err := h.tensor(name, gg, in, outDim)
		if err == nil {
			es := t.Type.TypeSize()
			t.Dims = []uint64{uint64(in), uint64(outDim)}
			t = transformed(t, func(src []byte) ([]byte, error) { return transposeBytes(src, in, outDim, es), nil })
		}
		add(t, err)
	}
	p := func(s string) string { return prefix + s }

	wte, err := h.tensor(p("wte.weight"), "token_embd.weight", vocab, embd)
	add(wte, err)
	add(h.tensor(p("wpe.weight"), "position_embd.weight", positions, embd))
	add(h.tensor(p("ln_f.weight"), "output_norm.weight", embd))
	add(h.tensor(p("ln_f.bias"), "output_norm.bias", embd))
	// The output matrix is the embedding (GPT-2 ties them); llama.cpp's
	// gpt2 graph wants it as its own tensor, so it is written twice.
	if _, ok := h.Tensors["lm_head.weight"]; ok {
		add(h.tensor("lm_head.weight", "output.weight", vocab, embd))
	} else if err == nil {
		o := wte
		o.Name = "output.weight"
		add(o, nil)
	}
	for i := range layers {
		hf := func(s string) string { return fmt.Sprintf("%sh.%d.%s", prefix, i, s) }
		gg := func(s string) string { return fmt.Sprintf("blk.%d.%s", i, s) }
		add(h.tensor(hf("ln_1.weight"), gg("attn_norm.weight"), embd))
		add(h.tensor(hf("ln_1.bias"), gg("attn_norm.bias"), embd))
		conv1D(hf("attn.c_attn.weight"), gg("attn_qkv.weight"), embd, 3*embd)
		add(h.tensor(hf("attn.c_attn.bias"), gg("attn_qkv.bias"), 3*embd))
		conv1D(hf("attn.c_proj.weight"), gg("attn_output.weight"), embd, embd)
		add(h.tensor(hf("attn.c_proj.bias"), gg("attn_output.bias"), embd))
		add(h.tensor(hf("ln_2.weight"), gg("ffn_norm.weight"), embd))
		add(h.tensor(hf("ln_2.bias"), gg("ffn_norm.bias"), embd))
		conv1D(hf("mlp.c_fc.weight"), gg("ffn_up.weight"), embd, ff)
		add(h.tensor(hf("mlp.c_fc.bias"), gg("ffn_up.bias"), ff))
		conv1D(hf("mlp.c_proj.weight"), gg("ffn_down.weight"), ff, embd)
		add(h.tensor(hf("mlp.c_proj.bias"), gg("ffn_down.bias"), embd))
		// The causal-mask buffers of older checkpoints are not weights.
		h.Skip(hf("attn.bias"))
		h.Skip(hf("attn.masked_bias"))
	}
	for name := range h.Tensors {
		if strings.HasSuffix(name, ".attn.bias") || strings.HasSuffix(name, ".attn.masked_bias") {
			h.Skip(name)
		}
	}
	return l.tensors, l.err
}

// transposeBytes transposes a rows x cols matrix of es-byte elements.
func transposeBytes(src []byte, rows, cols, es int) []byte {
	dst := make([]byte, len(src))
	for r := range rows {
		for c := range cols {
			copy(dst[(c*rows+r)*es:(c*rows+r+1)*es], src[(r*cols+c)*es:(r*cols+c+1)*es])
		}
	}
	return dst
}
