package main

import (
	"errors"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
)

func TestReorderArgs(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.Bool("json", false, "")
	fs.String("m", "", "")
	fs.Int("n", 0, "")
	for _, c := range []struct{ in, want string }{
		{"model.gguf --json", "--json -- model.gguf"},
		{"--json model.gguf", "--json -- model.gguf"},
		{"a -m M b -n -1", "-m M -n -1 -- a b"},
		{"-m=M a --json=false", "-m=M --json=false -- a"},
		{"a -- -m b", "-- a -m b"},
		{"-bogus a", "-bogus -- a"},      // kept as a flag for Parse to report
		{"a -m", "-m -- a"},              // Parse says the value is missing
		{"- -n 3", "-n 3 -- -"},          // "-" alone is an argument (stdin)
		{"--n 2 --json", "--n 2 --json"}, // no positional arguments: no "--"
	} {
		got := strings.Join(reorderArgs(fs, strings.Fields(c.in)), " ")
		if got != c.want {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
		}
	}
}

// TestFlagsAnywhere: every command takes flags after its arguments, and
// "--" ends the flags.
func TestFlagsAnywhere(t *testing.T) {
	fs := newFlagSet("test", io.Discard)
	j := fs.Bool("json", false, "")
	m := fs.String("m", "", "")
	if err := parseFlags(fs, []string{"file.gguf", "--json", "-m", "x", "--", "--json"}); err != nil {
		t.Fatal(err)
	}
	if !*j || *m != "x" || !slices.Equal(fs.Args(), []string{"file.gguf", "--json"}) {
		t.Errorf("json %v, m %q, args %q", *j, *m, fs.Args())
	}
}

func TestErrorText(t *testing.T) {
	for _, c := range []struct{ cmd, msg, want string }{
		{"generate", "infer: gguf: x.gguf: not a GGUF file", "gguf: x.gguf: not a GGUF file"},
		{"perplexity", "infer: perplexity: 3 tokens, want at least 2 chunks", "3 tokens, want at least 2 chunks"},
		{"perplexity", "perplexity: infer: x", "x"},
		{"info", "gguf: bad magic", "gguf: bad magic"},
		{"generate", "no model: give -m model.gguf", "no model: give -m model.gguf"},
		{"generate", "prompt file: open x: no such file", "prompt file: open x: no such file"},
	} {
		if got := errorText(c.cmd, errors.New(c.msg)); got != c.want {
			t.Errorf("errorText(%q, %q) = %q, want %q", c.cmd, c.msg, got, c.want)
		}
	}
}

// TestCommandLineErrors: command lines and the exit status and the one
// line of stderr they give.
func TestCommandLineErrors(t *testing.T) {
	for _, c := range []struct {
		args   string
		code   int
		stderr string // a substring of the first line
		lines  int    // lines of stderr, 0: do not check
	}{
		{"info --bogus x.gguf", 2, "infer info: flag provided but not defined: -bogus (see `infer info -h`)", 1},
		{"-m x.gguf --bogus", 2, "infer generate: flag provided but not defined: -bogus (see `infer generate -h`)", 1},
		{"nosuch", 2, `infer: unknown command "nosuch" (run ` + "`infer help`", 1},
		{"info", 2, "infer info: want one GGUF file, have 0 arguments", 1},
		{"info nonexistent.gguf --json", 1, "infer info: gguf: open nonexistent.gguf", 1},
		{"version extra", 2, `infer version: unexpected argument "extra"`, 1},
	} {
		t.Run(c.args, func(t *testing.T) {
			_, stderr, code := runCmd(t, strings.Fields(c.args)...)
			if code != c.code || !strings.Contains(stderr, c.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, c.code, c.stderr)
			}
			if n := strings.Count(stderr, "\n"); c.lines > 0 && n != c.lines {
				t.Errorf("%d lines of stderr, want %d:\n%s", n, c.lines, stderr)
			}
			if strings.Contains(stderr, "infer: infer") || strings.Count(stderr, "infer ") > 2 {
				t.Errorf("repeated prefixes: %q", stderr)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, stderr, code := runCmd(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		for _, want := range []string{"infer ", "go: go1.", "cpu features: ", "assembly kernels: ", "kernels "} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: no %q in\n%s", args, want, out)
			}
		}
		if !strings.Contains(out, "Q8_0") {
			t.Errorf("%v: the kernel list misses Q8_0:\n%s", args, out)
		}
	}
}

// TestHelpAligned: every summary in `infer help` starts in one column.
func TestHelpAligned(t *testing.T) {
	out, _, code := runCmd(t, "help")
	if code != 0 {
		t.Fatal(code)
	}
	col := -1
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "  ") {
			continue
		}
		name := strings.Fields(line)[0]
		at := strings.Index(line[2+len(name):], strings.Fields(line)[1]) + 2 + len(name)
		if col == -1 {
			col = at
		}
		if at != col {
			t.Errorf("summary of %s starts at column %d, others at %d", name, at, col)
		}
	}
	if col == -1 {
		t.Fatalf("no command rows in\n%s", out)
	}
}
