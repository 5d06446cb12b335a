package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/internal/testref"
)

func TestSynthCommand(t *testing.T) {
	vocab := testref.Path(t, "vocab", "ggml-vocab-llama-spm.gguf")
	dir := t.TempDir()
	args := func(out string, extra ...string) []string {
		return append([]string{"synth", "--arch", "qwen2", "--shape", "qwen2.5-0.5b", "--type", "q8_0", "--vocab", vocab, "--seed", "3",
			"--layers", "1", "--embd", "64", "--heads", "4", "--heads-kv", "2", "--ff", "128", "--ctx", "64", "-o", out}, extra...)
	}
	a, b := filepath.Join(dir, "a.gguf"), filepath.Join(dir, "b.gguf")
	stdout, stderr, code := runCmd(t, args(a)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "qwen2, n_embd 64, 1 layers, 4/2 heads of 16, n_ff 128, context 64, seed 3") || !strings.Contains(stdout, "wrote "+a+": Q8_0") {
		t.Errorf("summary %q", stdout)
	}
	if _, stderr, code := runCmd(t, args(b, "-t", "1")...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ab, bb) {
		t.Error("the same flags wrote different files")
	}
	f, err := gguf.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if arch, _ := f.String("general.architecture"); arch != "qwen2" || len(f.Tensors) != 2+12 {
		t.Errorf("architecture %q, %d tensors; want qwen2 and 14 (tied output)", arch, len(f.Tensors))
	}

	stdout, _, code = runCmd(t, "synth", "--list")
	if code != 0 || !strings.Contains(stdout, "tinyllama-1.1b") || !strings.Contains(stdout, "gemma-2-2b") {
		t.Errorf("--list: exit %d, %q", code, stdout)
	}
	bad := filepath.Join(dir, "bad.gguf")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"synth", "--shape", "stories15m", "-o", bad}, "want a vocabulary"},
		{[]string{"synth", "--shape", "nope", "--vocab", vocab, "-o", bad}, `unknown shape "nope"`},
		{[]string{"synth", "--shape", "stories15m", "--vocab", vocab, "--type", "q9", "-o", bad}, "--type"},
		{[]string{"synth", "--shape", "gemma-2-2b", "--layers", "2", "--vocab", vocab, "-o", bad}, "26, 42 or 46"},
		{[]string{"synth", "--shape", "stories15m", "--vocab", vocab}, "want an output file"},
	} {
		if _, stderr, code := runCmd(t, tc.args...); code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Error("a refused synth left its output")
	}
}
