package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infer-go/infer/internal/testref"
)

// TestGenerateCommandLines: llama.cpp command lines and what they give:
// exit status, stdout, and lines stderr must (and must not) have.
func TestGenerateCommandLines(t *testing.T) {
	model := testref.Path(t, "models", "tiny-llama-256-q8_0.gguf")
	long := filepath.Join(t.TempDir(), "long.txt")
	if err := os.WriteFile(long, []byte(strings.Repeat("hello world ", 400)), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"-m", model, "-t", "1"}
	for _, c := range []struct {
		name   string
		args   []string
		code   int
		stdout string   // exact, when not "-"
		want   []string // in stderr
		not    []string // not in stderr
	}{
		{"-n -5", []string{"-p", "hi", "-n", "-5"}, 2, "", []string{"-n -5: want -1"}, nil},
		{"temp nan", []string{"-p", "hi", "--temp", "nan"}, 2, "", []string{"temp NaN: want a number >= 0"}, nil},
		{"temp inf", []string{"-p", "hi", "--temp", "inf"}, 2, "", []string{"temp"}, nil},
		{"top-p 2", []string{"-p", "hi", "--top-p", "2"}, 2, "", []string{"top-p 2: want a number in [0, 1]"}, nil},
		{"min-p 5", []string{"-p", "hi", "--min-p", "5"}, 2, "", []string{"min-p 5"}, nil},
		{"repeat-penalty -2", []string{"-p", "hi", "--repeat-penalty", "-2"}, 2, "", []string{"repeat-penalty -2"}, nil},
		{"-n 0 evaluates the prompt only", []string{"-p", "Once", "-n", "0"}, 0, "Once\n",
			[]string{"prompt eval time", "/     0 runs", "1 thread,"}, []string{"1 threads"}},
		{"escapes by default", []string{"-p", `ROMEO:\n\x41`, "-n", "0"}, 0, "ROMEO:\nA\n", nil, nil},
		{"-e", []string{"-e", "-p", `a\tb`, "-n", "0"}, 0, "a\tb\n", nil, nil},
		{"--no-escape", []string{"--no-escape", "-p", `ROMEO:\n`, "-n", "0"}, 0, `ROMEO:\n` + "\n", nil, nil},
		{"prompt longer than the context", []string{"-f", long, "-n", "3"}, 1, "",
			[]string{"prompt does not fit in the context: the prompt is 802 tokens, the context 256"}, nil},
		{"-c past the training context", []string{"-p", "hi", "-n", "1", "-c", "1000"}, 0, "-",
			[]string{"warning: n_ctx (1000) > n_ctx_train (256) -- possible training context overflow"}, nil},
		{"llama.cpp flags that mean nothing here", []string{"-p", "hi", "-n", "0", "-ngl", "99", "--n-gpu-layers", "3", "--gpu-layers", "1",
			"--no-mmap", "--mlock", "-b", "64", "-ub", "32", "--batch-size", "8"}, 0, "-",
			[]string{"note: -ngl is ignored", "note: --no-mmap is ignored", "note: --mlock is ignored", "note: -b/-ub are ignored"}, nil},
		{"flags after -n", []string{"-n", "0", "-p", "x", "--bogus"}, 2, "", []string{"flag provided but not defined: -bogus (see `infer generate -h`)"},
			[]string{"usage:"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, code := runCmd(t, append(base, c.args...)...)
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, c.code, stderr)
			}
			if c.stdout != "-" && stdout != c.stdout {
				t.Errorf("stdout %q, want %q", stdout, c.stdout)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			for _, w := range c.not {
				if strings.Contains(stderr, w) {
					t.Errorf("stderr has %q:\n%s", w, stderr)
				}
			}
			for _, note := range []string{"note: -ngl", "note: -b/-ub"} {
				if n := strings.Count(stderr, note); n > 1 {
					t.Errorf("%q said %d times", note, n)
				}
			}
		})
	}
}

// TestUnencodableCharacters: generate and tokenize name the characters the
// vocabulary cannot encode. The shipped model's 65-character vocabulary has
// no 'é', '~' or '1' and no byte fallback.
func TestUnencodableCharacters(t *testing.T) {
	if _, err := os.Stat(shippedModel); err != nil {
		t.Skip(err)
	}
	const named = "the vocabulary cannot encode 'é' (U+00E9), '~' (U+007E), '1' (U+0031)"
	stdout, stderr, code := runCmd(t, "-m", shippedModel, "-p", "é~1", "-n", "2")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "infer generate: empty prompt: "+named) {
		t.Errorf("generate: exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
	stdout, stderr, code = runCmd(t, "-m", shippedModel, "-p", "ROMEO: é", "-n", "1", "--temp", "0")
	if code != 0 || !strings.Contains(stderr, "warning: the vocabulary cannot encode 'é' (U+00E9)") {
		t.Errorf("generate, one unknown character: exit %d, stderr:\n%s", code, stderr)
	}
	stdout, stderr, code = runCmd(t, "tokenize", "-m", shippedModel, "é~1")
	if code != 0 || stdout != "[]\n" || !strings.Contains(stderr, named) {
		t.Errorf("tokenize: exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
	_, stderr, _ = runCmd(t, "tokenize", "-m", shippedModel, "ROMEO")
	if stderr != "" {
		t.Errorf("tokenize of known characters warns: %s", stderr)
	}
}

// TestFlagsAfterArguments: `infer info model.gguf --json` and friends.
func TestFlagsAfterArguments(t *testing.T) {
	model := testref.Path(t, "models", "tiny-llama-256-q8_0.gguf")
	stdout, stderr, code := runCmd(t, "info", model, "--json", "--no-tensors")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep struct {
		Tensors []any `json:"tensors"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || rep.Tensors != nil {
		t.Errorf("not JSON without tensors (%v): %.200s", err, stdout)
	}
	stdout, stderr, code = runCmd(t, "tokenize", "Hello", "-m", model, "--no-bos")
	if code != 0 || stdout != "[15043]\n" {
		t.Errorf("tokenize Hello -m M --no-bos: exit %d, %q, %s", code, stdout, stderr)
	}
	stdout, _, code = runCmd(t, "tokenize", "-m", model, "--no-bos", "--", "--json")
	if code != 0 || stdout == "" || strings.Contains(stdout, "flag") {
		t.Errorf("tokenize -- --json: exit %d, %q", code, stdout)
	}
}

// TestHelpDefaults: defaults print as llama.cpp writes them.
func TestHelpDefaults(t *testing.T) {
	_, stderr, code := runCmd(t, "generate", "-h")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"(default 0.8)", "(default 0.95)", "(default 0.05)", "(default 40)", "0 = greedy", "1.0 = off", "--no-escape"[1:]} {
		if !strings.Contains(stderr, want) {
			t.Errorf("generate -h lacks %q", want)
		}
	}
	for _, bad := range []string{"0.800000011920929", "0.949999988079071", "0.0500000007"} {
		if strings.Contains(stderr, bad) {
			t.Errorf("generate -h prints %q", bad)
		}
	}
}
