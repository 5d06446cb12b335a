package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const shippedModel = "../../testdata/shakespeare-char-q8_0.gguf"

func TestPerplexityCommand(t *testing.T) {
	text := filepath.Join(t.TempDir(), "text.txt")
	verse := "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n"
	if err := os.WriteFile(text, []byte(strings.Repeat(verse, 3)), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCmd(t, "perplexity", "-m", shippedModel, "-f", text, "-c", "64", "-b", "20", "--chunks", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	re := regexp.MustCompile(`^\[1\]\d+\.\d{4},\[2\]\d+\.\d{4},\[3\](\d+\.\d{4}),\nFinal estimate: PPL = (\d+\.\d{4}) \+/- \d+\.\d{5}\n$`)
	m := re.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("output %q does not look like llama-perplexity's", stdout)
	}
	if m[1] != m[2] {
		t.Errorf("the last running estimate %s is not the final %s", m[1], m[2])
	}
	if !strings.Contains(stderr, "n_ctx=64, batch_size=20") {
		t.Errorf("stderr %q does not describe the run", stderr)
	}

	if err := os.WriteFile(text, []byte(verse), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCmd(t, "perplexity", "-m", shippedModel, "-f", text); code != 1 || !strings.Contains(stderr, "want at least 256") {
		t.Errorf("short text: exit %d, %q", code, stderr)
	}
	for _, args := range [][]string{
		{"perplexity", "-m", shippedModel},
		{"perplexity", "-m", shippedModel, "-f", text, "-b", "-1"},
		{"perplexity", "-m", shippedModel, "-f", text, "extra"},
	} {
		if _, stderr, code := runCmd(t, args...); code != 2 {
			t.Errorf("%q: exit %d (%s), want 2", args, code, stderr)
		}
	}
}
