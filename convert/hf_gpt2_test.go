package convert

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infer-go/infer/convert/internal/testsrc"
	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/internal/testref"
	"github.com/infer-go/infer/quant"
)

// gpt2HFNames maps llama.cpp's gpt2 tensor names to GPT2LMHeadModel's.
func gpt2HFName(gg, prefix string) (name string, conv1D bool) {
	if rest, ok := strings.CutPrefix(gg, "blk."); ok {
		n, sub, _ := strings.Cut(rest, ".")
		names := map[string]string{
			"attn_norm.weight": "ln_1.weight", "attn_norm.bias": "ln_1.bias",
			"attn_qkv.weight": "attn.c_attn.weight", "attn_qkv.bias": "attn.c_attn.bias",
			"attn_output.weight": "attn.c_proj.weight", "attn_output.bias": "attn.c_proj.bias",
			"ffn_norm.weight": "ln_2.weight", "ffn_norm.bias": "ln_2.bias",
			"ffn_up.weight": "mlp.c_fc.weight", "ffn_up.bias": "mlp.c_fc.bias",
			"ffn_down.weight": "mlp.c_proj.weight", "ffn_down.bias": "mlp.c_proj.bias",
		}
		return prefix + "h." + n + "." + names[sub], strings.HasSuffix(sub, ".weight") && !strings.Contains(sub, "norm")
	}
	return map[string]string{"token_embd.weight": prefix + "wte.weight", "position_embd.weight": prefix + "wpe.weight",
		"output_norm.weight": prefix + "ln_f.weight", "output_norm.bias": prefix + "ln_f.bias", "output.weight": "lm_head.weight"}[gg], false
}

// tinyGPT2HFDir writes ../shared's tiny-gpt2-q8_0.gguf, dequantized to F32,
// as a GPT2LMHeadModel directory (Conv1D weights transposed, the causal
// mask buffers included, lm_head kept only if it differs from wte) with a
// tokenizer.json of its vocabulary.
func tinyGPT2HFDir(t *testing.T, prefix string, keepLMHead bool) (dir string, src *gguf.File) {
	src = openGGUF(t, testref.Path(t, "models", "tiny-gpt2-q8_0.gguf"))
	dir = t.TempDir()
	u32 := func(k string) int { return ggufInt(t, src, k) }
	embd, ctx := u32("gpt2.embedding_length"), u32("gpt2.context_length")
	toks, err := src.Strings("tokenizer.ggml.tokens")
	if err != nil {
		t.Fatal(err)
	}
	testsrc.WriteJSON(t, filepath.Join(dir, "config.json"), map[string]any{
		"architectures": []string{"GPT2LMHeadModel"}, "model_type": "gpt2", "activation_function": "gelu_new",
		"n_embd": embd, "n_layer": u32("gpt2.block_count"), "n_head": u32("gpt2.attention.head_count"),
		"n_ctx": ctx, "n_positions": ctx, "n_inner": nil, "vocab_size": len(toks), "layer_norm_epsilon": 1e-5,
		"bos_token_id": 50256, "eos_token_id": 50256,
	})
	tok, _ := src.Tensor("token_embd.weight")
	outW, _ := src.Tensor("output.weight")
	var tensors []testsrc.Tensor
	for i := range src.Tensors {
		ti := &src.Tensors[i]
		if ti.Name == "output.weight" && (!keepLMHead || bytes.Equal(ti.Data, tok.Data)) {
			continue
		}
		name, conv := gpt2HFName(ti.Name, prefix)
		dtype, shape, data := ggufToHF(t, ti)
		if conv {
			data = transposeBytes(data, shape[0], shape[1], 4)
			shape = []int{shape[1], shape[0]}
		}
		tensors = append(tensors, testsrc.Tensor{Name: name, DType: dtype, Shape: shape, Data: data})
	}
	for l := range u32("gpt2.block_count") {
		tensors = append(tensors, testsrc.Tensor{Name: fmt.Sprintf("%sh.%d.attn.bias", prefix, l), DType: "U8", Shape: []int{1, 1, ctx, ctx}, Data: make([]byte, ctx*ctx)})
	}
	testsrc.WriteHFWeights(t, dir, tensors, 1)
	t.Logf("output.weight %s token_embd.weight", map[bool]string{true: "equals", false: "differs from"}[bytes.Equal(outW.Data, tok.Data)])

	merges, err := src.Strings("tokenizer.ggml.merges")
	if err != nil {
		t.Fatal(err)
	}
	vocab := make(map[string]int, len(toks))
	for i, s := range toks {
		vocab[s] = i
	}
	pairs := make([][]string, len(merges))
	for i, m := range merges {
		l, r, _ := strings.Cut(m, " ")
		pairs[i] = []string{l, r}
	}
	testsrc.WriteJSON(t, filepath.Join(dir, "tokenizer.json"), map[string]any{
		"version":       "1.0",
		"added_tokens":  []map[string]any{{"id": 50256, "content": "<|endoftext|>", "special": true}},
		"normalizer":    nil,
		"pre_tokenizer": map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
		"decoder":       map[string]any{"type": "ByteLevel"},
		"model":         map[string]any{"type": "BPE", "vocab": vocab, "merges": pairs},
	})
	testsrc.WriteJSON(t, filepath.Join(dir, "tokenizer_config.json"), map[string]any{
		"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>", "add_prefix_space": false,
	})
	return dir, src
}

// TestHFGPT2RoundTrip converts llama.cpp's tiny GPT-2, written as a
// GPT2LMHeadModel directory: at F32 every tensor must equal the
// dequantized original; at Q8_0 the original's bytes come back (its
// weights are exactly representable), and with them its logits.
func TestHFGPT2RoundTrip(t *testing.T) {
	dir, src := tinyGPT2HFDir(t, "", true)
	out, _ := convertHFTo(t, dir, LMOptions{})
	got := openGGUF(t, out)
	if len(got.Tensors) != len(src.Tensors) {
		t.Errorf("%d tensors, want %d", len(got.Tensors), len(src.Tensors))
	}
	for i := range src.Tensors {
		w := &src.Tensors[i]
		g, ok := got.Tensor(w.Name)
		if !ok {
			t.Errorf("tensor %s missing", w.Name)
			continue
		}
		if g.Type != quant.F32 || !slices.Equal(g.Dims, w.Dims) {
			t.Errorf("tensor %s: %s %v, want F32 %v", w.Name, g.Type, g.Dims, w.Dims)
			continue
		}
		if _, _, want := ggufToHF(t, w); !bytes.Equal(g.Data, want) {
			t.Errorf("tensor %s: data differs from the dequantized original", w.Name)
		}
	}
	tokKeys := keysWithPrefix(src, "tokenizer.")
	sameKV(t, got, src, tokKeys...)
	sameKV(t, got, src, "gpt2.context_length", "gpt2.embedding_length", "gpt2.block_count", "gpt2.feed_forward_length",
		"gpt2.attention.head_count", "gpt2.attention.layer_norm_epsilon", "general.architecture")

	ft, _ := ParseQuantFileType("q8_0")
	q8, _ := convertHFTo(t, dir, LMOptions{Type: ft})
	gotQ := openGGUF(t, q8)
	sameTensors(t, gotQ, src)
	sameKV(t, gotQ, src, "general.file_type")
	tokens := []int32{50256, 464, 2068, 7586, 21831, 18045, 625, 262}
	if l1, l2 := logitsOf(t, q8, tokens), logitsOf(t, testref.Path(t, "models", "tiny-gpt2-q8_0.gguf"), tokens); !slices.Equal(l1, l2) {
		t.Errorf("logits differ from the original model's (max rel error %g)", relDiff(l1, l2))
	}
}

// TestHFGPT2SavePretrainedNames converts the names save_pretrained writes
// ("transformer." prefix, no lm_head.weight: it is tied to wte) and the
// slow tokenizer's files (vocab.json, merges.txt) instead of
// tokenizer.json.
func TestHFGPT2SavePretrainedNames(t *testing.T) {
	dir, src := tinyGPT2HFDir(t, "transformer.", false)
	// The slow tokenizer: vocab.json and merges.txt.
	toks, _ := src.Strings("tokenizer.ggml.tokens")
	merges, _ := src.Strings("tokenizer.ggml.merges")
	vocab := map[string]int{}
	for i, s := range toks {
		vocab[s] = i
	}
	testsrc.WriteJSON(t, filepath.Join(dir, "vocab.json"), vocab)
	if err := os.WriteFile(filepath.Join(dir, "merges.txt"), []byte("#version: 0.2\n"+strings.Join(merges, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Fatal(err)
	}
	testsrc.WriteJSON(t, filepath.Join(dir, "added_tokens.json"), map[string]int{})
	testsrc.WriteJSON(t, filepath.Join(dir, "tokenizer_config.json"), map[string]any{
		"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
		"added_tokens_decoder": map[string]any{"50256": map[string]any{"content": "<|endoftext|>", "special": true}},
	})
	out, _ := convertHFTo(t, dir, LMOptions{})
	got := openGGUF(t, out)
	for _, k := range []string{"tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.token_type", "tokenizer.ggml.pre",
		"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"} {
		sameKV(t, got, src, k)
	}
	if len(got.Tensors) != len(src.Tensors) {
		t.Errorf("%d tensors, want %d", len(got.Tensors), len(src.Tensors))
	}
	o, ok1 := got.Tensor("output.weight")
	e, ok2 := got.Tensor("token_embd.weight")
	if !ok1 || !ok2 || !bytes.Equal(o.Data, e.Data) {
		t.Error("without lm_head.weight, output.weight should be a copy of token_embd.weight")
	}
}
