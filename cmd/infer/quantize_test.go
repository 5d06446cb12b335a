package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/quant"
)

// writeTinyLlama writes a one-block llama with ramp weights: enough for the
// quantize command's plumbing.
func writeTinyLlama(t *testing.T, path string) {
	t.Helper()
	w := gguf.NewWriter()
	w.AddKV("general.architecture", gguf.ValueOf("llama"))
	w.AddKV("llama.block_count", gguf.ValueOf(uint32(1)))
	w.AddKV("general.file_type", gguf.ValueOf(uint32(0)))
	add := func(name string, dims ...uint64) {
		n := uint64(1)
		for _, d := range dims {
			n *= d
		}
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(int(i%97)-48) / 100
		}
		data := make([]byte, 4*n)
		quant.QuantizeF32(data, x)
		if err := w.AddTensor(name, quant.F32, dims, data); err != nil {
			t.Fatal(err)
		}
	}
	add("token_embd.weight", 256, 8)
	add("blk.0.attn_norm.weight", 256)
	add("blk.0.attn_v.weight", 256, 4)
	add("blk.0.ffn_down.weight", 96, 4) // Q6_K in the last layer, falls back to Q8_0
	add("output.weight", 256, 8)
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
}

func TestQuantizeCommand(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.gguf"), filepath.Join(dir, "out.gguf")
	writeTinyLlama(t, in)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"quantize", "-t", "3", in, out, "q4_k_m"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	f, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]quant.Type{
		"token_embd.weight": quant.Q4_K, "blk.0.attn_norm.weight": quant.F32, "blk.0.attn_v.weight": quant.Q6_K,
		"blk.0.ffn_down.weight": quant.Q8_0, "output.weight": quant.Q6_K,
	}
	for name, typ := range want {
		if ti, ok := f.Tensor(name); !ok {
			t.Errorf("%s: missing", name)
		} else if ti.Type != typ {
			t.Errorf("%s: %s, want %s", name, ti.Type, typ)
		}
	}
	if ftype, err := f.Uint32("general.file_type"); err != nil || ftype != 15 {
		t.Errorf("general.file_type %d (%v), want 15", ftype, err)
	}
	for _, s := range []string{"Q4_K", "Q8_0", "Q6_K", "F32", "total", "bits/weight", "Q4_K_M"} {
		if !strings.Contains(stdout.String(), s) {
			t.Errorf("summary lacks %q:\n%s", s, stdout.String())
		}
	}
	if !strings.Contains(stderr.String(), "blk.0.ffn_down.weight") {
		t.Errorf("no fallback warning on stderr: %q", stderr.String())
	}
}

func TestQuantizeCommandErrors(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.gguf")
	writeTinyLlama(t, in)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{in, filepath.Join(dir, "o.gguf"), "Q9_K"}, 2, "Q4_K_M"},
		{[]string{in, filepath.Join(dir, "o.gguf")}, 2, "want in.gguf out.gguf TYPE"},
		{[]string{"-t", "0", in, filepath.Join(dir, "o.gguf"), "q8_0"}, 2, "thread"},
		{[]string{in, in, "q8_0"}, 1, "same file"},
		{[]string{filepath.Join(dir, "none.gguf"), filepath.Join(dir, "o.gguf"), "q8_0"}, 1, "none.gguf"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"quantize"}, tc.args...), &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.msg)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "o.gguf")); err == nil {
		t.Errorf("a failed run left o.gguf")
	}
}
