package main

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infer-go/infer/internal/testref"
)

// TestLogitsMatchLlamaCpp writes the logits of the reference prompt with
// `infer logits` and compares them with llama.cpp's logits_all.
func TestLogitsMatchLlamaCpp(t *testing.T) {
	for _, name := range []string{"tiny-llama-256-q8_0", "tiny-llama-256-f16", "tiny-gpt2-q8_0"} {
		t.Run(name, func(t *testing.T) {
			c := loadRefCase(t, name)
			out := filepath.Join(t.TempDir(), "logits.f32")
			stdout, stderr, code := runCmd(t, "logits", "-m", c.model, "--tokens", strings.Trim(formatIDs(c.ref.Tokens), "[]"), "-o", out, "-t", "2")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if want := formatIDs(c.ref.Tokens) + "\n"; stdout != want {
				t.Errorf("printed ids %q, want %q", stdout, want)
			}
			got := testref.ReadF32File(t, out, -1)
			want := testref.ReadF32File(t, filepath.Join(c.dir, name+".logits_all.f32"), -1)
			if len(got) != len(want) {
				t.Fatalf("%d logits, llama.cpp %d", len(got), len(want))
			}
			compareLogits(t, got, want, c.ref.NVocab)

			// The same through the prompt.
			out2 := filepath.Join(t.TempDir(), "prompt.f32")
			args := []string{"logits", "-m", c.model, "-p", c.ref.Prompt, "-o", out2, "-t", "2"}
			if !c.ref.AddSpecial {
				args = append(args, "--no-bos")
			}
			stdout, stderr, code = runCmd(t, args...)
			if code != 0 || stdout != formatIDs(c.ref.Tokens)+"\n" {
				t.Fatalf("-p: exit %d, ids %q, want %v: %s", code, stdout, c.ref.Tokens, stderr)
			}
			if got2 := testref.ReadF32File(t, out2, -1); !slices.Equal(got, got2) {
				t.Error("--tokens and -p wrote different logits")
			}
		})
	}
}

// compareLogits requires the same argmax at every position and a mean
// KL(llama.cpp || ours) below 1e-3.
func compareLogits(t *testing.T, got, want []float32, vocab int) {
	t.Helper()
	rows := len(want) / vocab
	var kl float64
	for r := range rows {
		g, w := got[r*vocab:(r+1)*vocab], want[r*vocab:(r+1)*vocab]
		d := testref.CompareLogits(w, g)
		if a, b := d.GotArgmax, d.RefArgmax; a != b {
			t.Errorf("position %d: argmax %d (%.4f), llama.cpp %d (%.4f)", r, a, g[a], b, w[b])
		}
		kl += d.KL
	}
	if kl /= float64(rows); kl >= 1e-3 || math.IsNaN(kl) {
		t.Errorf("mean KL divergence %.3g >= 1e-3", kl)
	} else {
		t.Logf("mean KL divergence %.3g over %d positions", kl, rows)
	}
}

func TestParseIDs(t *testing.T) {
	tests := []struct {
		in   string
		want []int32
		ok   bool
	}{
		{"1,2,3", []int32{1, 2, 3}, true},
		{"[1, 9038, 2501]", []int32{1, 9038, 2501}, true},
		{" 4 5 ", []int32{4, 5}, true},
		{"7", []int32{7}, true},
		{"", nil, false},
		{"[]", nil, false},
		{"1,x", nil, false},
		{"-1", nil, false},
		{"99999999999", nil, false},
		{"1,,2", nil, false},
		{"1,2,", nil, false},
		{",1", nil, false},
		{"[1,2]", []int32{1, 2}, true},
	}
	for _, tt := range tests {
		got, err := parseIDs(tt.in)
		if (err == nil) != tt.ok || !slices.Equal(got, tt.want) {
			t.Errorf("parseIDs(%q) = %v, %v; want %v (ok %v)", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestCommandErrors: wrong flags and arguments exit 2 with a message,
// failures exit 1, nothing panics, and a failed logits run leaves no file.
func TestCommandErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.gguf")
	junk := filepath.Join(dir, "junk.gguf")
	os.WriteFile(junk, []byte("GGUF but not really"), 0o644)
	out := filepath.Join(dir, "out.f32")
	tests := []struct {
		name string
		args []string
		code int
		msg  string // in stderr
	}{
		{"unknown flag", []string{"--bogus"}, 2, "bogus"},
		{"no model", []string{"-p", "hi"}, 2, "-m"},
		{"bad number", []string{"-m", missing, "-n", "many"}, 2, "-n"},
		{"extra argument", []string{"-m", missing, "text"}, 2, "unexpected argument"},
		{"prompt twice", []string{"-m", missing, "-p", "a", "-f", "b"}, 2, "not both"},
		{"cache type", []string{"-m", missing, "--cache-type", "q4_0"}, 2, "cache-type"},
		{"threads", []string{"-m", missing, "-t", "0"}, 2, "thread"},
		{"missing prompt file", []string{"-m", missing, "-f", filepath.Join(dir, "nope.txt")}, 1, "nope.txt"},
		{"missing model", []string{"-m", missing, "-p", "hi"}, 1, "missing.gguf"},
		{"junk model", []string{"-m", junk, "-p", "hi"}, 1, "junk.gguf"},
		{"tokenize no model", []string{"tokenize", "hi"}, 2, "-m"},
		{"tokenize two texts", []string{"tokenize", "-m", missing, "a", "b"}, 2, "one text"},
		{"tokenize missing model", []string{"tokenize", "-m", missing, "a"}, 1, "missing.gguf"},
		{"logits no output", []string{"logits", "-m", missing, "-p", "a"}, 2, "-o"},
		{"logits bad tokens", []string{"logits", "-m", missing, "--tokens", "1,x", "-o", out}, 2, "--tokens"},
		{"logits empty token", []string{"logits", "-m", missing, "--tokens", "1,,2", "-o", out}, 2, "--tokens: empty token id at position 2"},
		{"tokenize no text", []string{"tokenize", "-m", missing}, 2, "no text"},
		{"logits tokens and prompt", []string{"logits", "-m", missing, "--tokens", "1", "-p", "a", "-o", out}, 2, "not both"},
		{"logits missing model", []string{"logits", "-m", missing, "--tokens", "1", "-o", out}, 1, "missing.gguf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runCmd(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.msg) {
				t.Errorf("infer %q: exit %d, want %d; stderr %q should mention %q", tt.args, code, tt.code, stderr, tt.msg)
			}
		})
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("failed logits runs left %s behind (stat: %v)", out, err)
	}
}

// TestLogitsErrorsWithModel needs a real model: ids past the vocabulary and
// an unwritable output fail with exit 1 and leave no file.
func TestLogitsErrorsWithModel(t *testing.T) {
	c := loadRefCase(t, "tiny-llama-256-q8_0")
	dir := t.TempDir()
	out := filepath.Join(dir, "out.f32")
	_, stderr, code := runCmd(t, "logits", "-m", c.model, "--tokens", "1,32000", "-o", out)
	if code != 1 || !strings.Contains(stderr, "32000") {
		t.Errorf("id 32000 of 32000: exit %d, stderr %q", code, stderr)
	}
	_, stderr, code = runCmd(t, "logits", "-m", c.model, "--tokens", "1,2", "-o", filepath.Join(dir, "no", "such", "dir.f32"))
	if code != 1 {
		t.Errorf("unwritable output: exit %d, stderr %q", code, stderr)
	}
	_, stderr, code = runCmd(t, "logits", "-m", c.model, "--tokens", "1,2,3", "-c", "2", "-o", out)
	if code != 1 || !strings.Contains(stderr, "context") {
		t.Errorf("3 tokens in a context of 2: exit %d, stderr %q", code, stderr)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("failed runs left files: %v", entries)
	}
}

func FuzzParseIDs(f *testing.F) {
	for _, s := range []string{"1,2,3", "[1, 2]", "", "-1", "1,,2", "[", "99999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := parseIDs(s)
		if err != nil {
			return
		}
		if len(ids) == 0 {
			t.Fatalf("parseIDs(%q): no ids and no error", s)
		}
		for _, id := range ids {
			if id < 0 {
				t.Fatalf("parseIDs(%q) = %v: negative id", s, ids)
			}
		}
		// What formatIDs prints parses back to the same ids.
		again, err := parseIDs(formatIDs(ids))
		if err != nil || !slices.Equal(again, ids) {
			t.Fatalf("round trip of %v: %v, %v", ids, again, err)
		}
	})
}
