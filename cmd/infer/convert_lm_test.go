package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infer-go/infer"
	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/quant"
)

// ramp is deterministic filler weights.
func ramp(n, seed int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32((i*7+seed*13)%61-30) / 100
	}
	return x
}

func le32s(x []float32) []byte {
	b := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

// writeLlama2C writes a one-layer legacy llama2.c checkpoint and its
// tokenizer.bin into dir.
func writeLlama2C(t *testing.T, dir string) string {
	t.Helper()
	const dim, hidden, layers, heads, vocab, seq = 32, 64, 1, 2, 264, 16
	var b []byte
	for _, v := range []int32{dim, hidden, layers, heads, heads, vocab, seq} {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	for i, n := range []int{vocab * dim, dim, dim * dim, dim * dim, dim * dim, dim * dim, dim, hidden * dim, hidden * dim, hidden * dim, dim, seq * dim / heads} {
		b = append(b, le32s(ramp(n, i))...)
	}
	bin := filepath.Join(dir, "model.bin")
	if err := os.WriteFile(bin, b, 0o644); err != nil {
		t.Fatal(err)
	}
	tok := binary.LittleEndian.AppendUint32(nil, 6)
	for i := range vocab {
		s := []string{"<unk>", "\n<s>\n", "\n</s>\n"}[min(i, 2)]
		if i >= 3 {
			s = fmt.Sprintf("<0x%02X>", i-3)
		}
		score := float32(0)
		if i >= 259 {
			// " hi" is reached through " h" + "i".
			s, score = []string{" hi", " h", "h", "i", " "}[i-259], -float32(i-258)
		}
		tok = binary.LittleEndian.AppendUint32(tok, math.Float32bits(score))
		tok = binary.LittleEndian.AppendUint32(tok, uint32(len(s)))
		tok = append(tok, s...)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.bin"), tok, 0o644); err != nil {
		t.Fatal(err)
	}
	return bin
}

// writeHFLlama writes a tiny LlamaForCausalLM directory with F16 weights
// and a byte-level tokenizer.json.
func writeHFLlama(t *testing.T, dir string) {
	t.Helper()
	const embd, ff, vocab = 64, 96, 258
	header := map[string]any{}
	var body []byte
	add := func(name string, shape ...int) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		data := make([]byte, 2*n)
		for i, v := range ramp(n, len(header)) {
			binary.LittleEndian.PutUint16(data[2*i:], quant.F32ToF16(v))
		}
		header[name] = map[string]any{"dtype": "F16", "shape": shape, "data_offsets": []int{len(body), len(body) + len(data)}}
		body = append(body, data...)
	}
	add("model.embed_tokens.weight", vocab, embd)
	add("model.norm.weight", embd)
	add("lm_head.weight", vocab, embd)
	p := "model.layers.0."
	add(p+"input_layernorm.weight", embd)
	add(p+"self_attn.q_proj.weight", embd, embd)
	add(p+"self_attn.k_proj.weight", embd/2, embd)
	add(p+"self_attn.v_proj.weight", embd/2, embd)
	add(p+"self_attn.o_proj.weight", embd, embd)
	add(p+"post_attention_layernorm.weight", embd)
	add(p+"mlp.gate_proj.weight", ff, embd)
	add(p+"mlp.up_proj.weight", ff, embd)
	add(p+"mlp.down_proj.weight", embd, ff)
	h, _ := json.Marshal(header)
	st := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	st = append(append(st, h...), body...)
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("model.safetensors", st)
	js := func(v any) []byte { b, _ := json.Marshal(v); return b }
	write("config.json", js(map[string]any{"architectures": []string{"LlamaForCausalLM"}, "hidden_size": embd,
		"num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": ff,
		"vocab_size": vocab, "max_position_embeddings": 32, "rms_norm_eps": 1e-5, "rope_theta": 10000.0}))
	tokVocab := map[string]int{}
	for b := range 256 {
		r := rune(b)
		if b < '!' || b > '~' {
			r = rune(0x100 + b) // not GPT-2's mapping, but a valid distinct vocabulary
		}
		tokVocab[string(r)] = b
	}
	write("tokenizer.json", js(map[string]any{
		"added_tokens":  []map[string]any{{"id": 256, "content": "<|begin_of_text|>", "special": true}, {"id": 257, "content": "<|end_of_text|>", "special": true}},
		"pre_tokenizer": map[string]any{"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
		"model":         map[string]any{"type": "BPE", "vocab": tokVocab, "merges": []string{"h i"}},
	}))
	write("tokenizer_config.json", js(map[string]any{"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>", "add_bos_token": true}))
}

func TestConvertLlama2CCommand(t *testing.T) {
	dir := t.TempDir()
	bin := writeLlama2C(t, dir)
	out := filepath.Join(dir, "out.gguf")
	stdout, stderr, code := runCmd(t, "convert", bin, "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "llama2.c checkpoint") || !strings.Contains(stdout, "wrote "+out) {
		t.Errorf("stdout: %s", stdout)
	}
	f, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	if ft, _ := f.Uint32("general.file_type"); ft != 0 {
		t.Errorf("file type %d: the source's precision is F32", ft)
	}
	f.Close()

	q := filepath.Join(dir, "q.gguf")
	if _, stderr, code := runCmd(t, "convert", "--type", "q8_0", bin, "-o", q, "--tokenizer", filepath.Join(dir, "tokenizer.bin")); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	m, err := infer.Load(q, infer.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if ids := m.Tokenize("hi", false, false); len(ids) != 1 || ids[0] != 259 {
		t.Errorf("tokenize %q: %v, want [259]", "hi", ids)
	}
}

func TestConvertHFCommand(t *testing.T) {
	dir := t.TempDir()
	writeHFLlama(t, dir)
	out := filepath.Join(t.TempDir(), "out.gguf")
	stdout, stderr, code := runCmd(t, "convert", dir, "-o", out, "--type", "q4_0", "--name", "tiny")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "Hugging Face model directory") {
		t.Errorf("stdout: %s", stdout)
	}
	f, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ft, _ := f.Uint32("general.file_type"); ft != 2 {
		t.Errorf("file type %d, want 2 (Q4_0)", ft)
	}
	if name, _ := f.String("general.name"); name != "tiny" {
		t.Errorf("general.name %q", name)
	}
	if pre, _ := f.String("tokenizer.ggml.pre"); pre != "gpt-2" {
		t.Errorf("pre-tokenizer %q", pre)
	}
	if ti, ok := f.Tensor("blk.0.attn_q.weight"); !ok || ti.Type != quant.Q4_0 {
		t.Errorf("attn_q: %v", ti)
	}

	// Usage errors and failures leave nothing behind.
	bad := filepath.Join(t.TempDir(), "bad.gguf")
	if _, _, code := runCmd(t, "convert", dir, "-o", bad, "--tokenizer", "x.bin"); code != 2 {
		t.Errorf("--tokenizer with a Hugging Face directory: exit %d, want 2", code)
	}
	if _, _, code := runCmd(t, "convert", dir, "-o", bad, "--type", "q9_9"); code != 2 {
		t.Errorf("--type q9_9: exit %d, want 2", code)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"architectures": ["T5ForConditionalGeneration"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCmd(t, "convert", dir, "-o", bad); code != 1 || !strings.Contains(stderr, "T5ForConditionalGeneration is not supported") {
		t.Errorf("unsupported architecture: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("a failed conversion left %s", bad)
	}
}
