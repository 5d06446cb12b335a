package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/internal/testref"
	"github.com/infer-go/infer/quant"
)

// The expected counts are worked out from each model's shape in
// ../shared/README.md, not read back through the code under test.
func TestInfoSharedModels(t *testing.T) {
	dir := testref.Dir(t)
	// llama: token_embd + output (vocab x embd) + output_norm, and per layer
	// q,k,v,o (embd x embd), gate,up,down (embd x ff) and two norms.
	llamaParams := uint64(2*32000*256 + 256 + 6*(4*256*256+3*256*768+2*256))
	// gpt2: token_embd + output (vocab x embd), position_embd (ctx x embd),
	// output_norm w+b, and per layer qkv (3 embd x embd + bias), attn_output
	// (+bias), ffn up/down (+biases), two layer norms with biases.
	gpt2Params := uint64(2*50257*256 + 256*256 + 2*256 +
		4*(3*256*256+3*256+256*256+256+2*256*1024+1024+256+4*256))
	tests := []struct {
		file       string
		tensors    int
		params     uint64
		types      map[string]int
		vocab, ctx int
	}{
		{"tiny-llama-256-f16.gguf", 57, llamaParams, map[string]int{"F16": 44, "F32": 13}, 32000, 256},
		{"tiny-llama-256-q8_0.gguf", 57, llamaParams, map[string]int{"Q8_0": 44, "F32": 13}, 32000, 256},
		{"tiny-llama-256-q4_0.gguf", 57, llamaParams, map[string]int{"Q4_0": 43, "Q6_K": 1, "F32": 13}, 32000, 256},
		{"tiny-llama-256-q4_k_m.gguf", 57, llamaParams, map[string]int{"Q4_K": 39, "Q6_K": 5, "F32": 13}, 32000, 256},
		{"tiny-gpt2-q8_0.gguf", 53, gpt2Params, map[string]int{"Q8_0": 18, "F32": 35}, 50257, 256},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(dir, "models", tc.file)
			rep := infoJSON(t, path)
			s := rep.Summary
			if s.TensorCount != tc.tensors || s.Parameters != tc.params {
				t.Errorf("tensors %d, params %d; want %d, %d", s.TensorCount, s.Parameters, tc.tensors, tc.params)
			}
			got := map[string]int{}
			for _, bt := range s.ByType {
				got[bt.Type] = bt.Tensors
			}
			if len(got) != len(tc.types) {
				t.Errorf("types %v, want %v", got, tc.types)
			}
			for typ, n := range tc.types {
				if got[typ] != n {
					t.Errorf("%s tensors: %d, want %d", typ, got[typ], n)
				}
			}
			if s.VocabSize != tc.vocab || s.ContextLength != uint64(tc.ctx) {
				t.Errorf("vocab %d ctx %d, want %d %d", s.VocabSize, s.ContextLength, tc.vocab, tc.ctx)
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if rep.FileBytes != uint64(st.Size()) || rep.DataOffset+s.TensorBytes > rep.FileBytes {
				t.Errorf("file bytes %d, data offset %d + tensor bytes %d; file is %d", rep.FileBytes, rep.DataOffset, s.TensorBytes, st.Size())
			}
			// The text form carries the same facts.
			out, _, code := runCmd(t, "info", path)
			if code != 0 || !strings.Contains(out, "token_embd.weight") || !strings.Contains(out, "parameters") {
				t.Errorf("text output (status %d) lacks the tensor table or summary:\n%s", code, out)
			}
		})
	}
}

func TestInfoVocabFiles(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testref.Dir(t), "vocab", "*.gguf"))
	if len(files) == 0 {
		t.Skip("no vocab files in the reference data")
	}
	for _, path := range files {
		rep := infoJSON(t, path)
		if rep.Summary.TensorCount != 0 || rep.Summary.VocabSize == 0 {
			t.Errorf("%s: %d tensors, vocab %d; want a vocabulary-only file", filepath.Base(path), rep.Summary.TensorCount, rep.Summary.VocabSize)
		}
	}
}

func infoJSON(t *testing.T, path string) infoReport {
	t.Helper()
	out, errOut, code := runCmd(t, "info", "--json", path)
	if code != 0 {
		t.Fatalf("infer info --json %s: status %d: %s", path, code, errOut)
	}
	var rep infoReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("info --json output is not JSON: %v", err)
	}
	return rep
}

// A file the project writes itself, with a type infer cannot compute with,
// is listed, and the summary says which types are unsupported.
func TestInfoUnsupportedType(t *testing.T) {
	w := gguf.NewWriter()
	w.AddKV("general.architecture", gguf.ValueOf("llama"))
	w.AddKV("llama.context_length", gguf.ValueOf(uint32(128)))
	if err := w.AddTensor("a", quant.IQ2_XXS, []uint64{256, 2}, make([]byte, 2*66)); err != nil {
		t.Fatal(err)
	}
	if err := w.AddTensor("b", quant.F32, []uint64{4}, make([]byte, 16)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	rep := infoJSON(t, path)
	if rep.Summary.TensorCount != 2 || rep.Summary.Parameters != 516 || len(rep.Summary.Unsupported) != 1 || rep.Summary.Unsupported[0] != "IQ2_XXS" {
		t.Errorf("summary %+v", rep.Summary)
	}
	out, _, _ := runCmd(t, "info", path)
	if !strings.Contains(out, "unsupported     IQ2_XXS") {
		t.Errorf("text output does not name the unsupported type:\n%s", out)
	}
}

func TestInfoErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.gguf")
	if err := os.WriteFile(bad, []byte("GGML not a gguf file at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args     []string
		code     int
		contains string
	}{
		{[]string{"info"}, 2, "want one GGUF file"},
		{[]string{"info", "--bogus", bad}, 2, "bogus"},
		{[]string{"info", filepath.Join(dir, "missing.gguf")}, 1, "no such file"},
		{[]string{"info", bad}, 1, "magic"},
	}
	for _, tc := range tests {
		_, errOut, code := runCmd(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.contains) {
			t.Errorf("%v: status %d, stderr %q; want %d and %q", tc.args, code, errOut, tc.code, tc.contains)
		}
	}
}
