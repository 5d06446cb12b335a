package main

import (
	"strings"
	"testing"
)

func TestTokenizeMatchesLlamaCpp(t *testing.T) {
	for _, name := range []string{"tiny-llama-256-q8_0", "tiny-gpt2-q8_0"} {
		t.Run(name, func(t *testing.T) {
			c := loadRefCase(t, name)
			args := []string{"tokenize", "-m", c.model, "--parse-special", c.ref.Prompt}
			if !c.ref.AddSpecial {
				args = append(args, "--no-bos")
			}
			stdout, stderr, code := runCmd(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if want := formatIDs(c.ref.Tokens) + "\n"; stdout != want {
				t.Errorf("got %s want %s", stdout, want)
			}
		})
	}
}

func TestTokenizeFlags(t *testing.T) {
	c := loadRefCase(t, "tiny-llama-256-q8_0")
	// Flags after the text, and --show-pieces.
	stdout, stderr, code := runCmd(t, "tokenize", "-m", c.model, "Once upon", "--show-pieces")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := "     1 -> '<s>'\n  9038 -> ' Once'\n  2501 -> ' upon'\n"
	if stdout != want {
		t.Errorf("--show-pieces:\n got %q\nwant %q", stdout, want)
	}
	stdout, _, _ = runCmd(t, "tokenize", "--no-bos", "-m", c.model, "-p", "Once upon")
	if stdout != "[9038, 2501]\n" {
		t.Errorf("--no-bos -p: %q", stdout)
	}
	// Without --parse-special, "<s>" is text, not the BOS token.
	plain, _, _ := runCmd(t, "tokenize", "-m", c.model, "--no-bos", "<s>")
	special, _, _ := runCmd(t, "tokenize", "-m", c.model, "--no-bos", "--parse-special", "<s>")
	if special != "[1]\n" || plain == special {
		t.Errorf("\"<s>\": plain %q, --parse-special %q", plain, special)
	}
	// "--" ends the flags: the text may start with a dash.
	stdout, _, code = runCmd(t, "tokenize", "-m", c.model, "--", "-n")
	if code != 0 || !strings.HasPrefix(stdout, "[1, ") {
		t.Errorf("tokenize -- -n: exit %d, %q", code, stdout)
	}
}
