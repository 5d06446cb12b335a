package main

import "testing"

func TestProcessEscapes(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`ROMEO:\n`, "ROMEO:\n"},
		{`a\tb\rc`, "a\tb\rc"},
		{`\'\"\\`, `'"\`},
		{`\x41\x7a`, "Az"},
		{`\xe9`, "\xe9"},     // one byte, as llama.cpp
		{`\x4`, `\x4`},       // too short: kept
		{`\xZZ`, `\xZZ`},     // not hex: kept
		{`\q`, `\q`},         // unknown: kept
		{`\u00e9`, `\u00e9`}, // not an escape in llama.cpp
		{`end\`, `end\`},     // a final backslash stays
		{`\\n`, `\n`},        // an escaped backslash, then n
		{"no escapes", "no escapes"},
		{"é\\n", "é\n"},
	} {
		if got := processEscapes(c.in); got != c.want {
			t.Errorf("processEscapes(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzProcessEscapes(f *testing.F) {
	for _, s := range []string{`a\nb`, `\x41`, `\`, `\x`, `\x4`, `\\\\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := processEscapes(s)
		if len(out) > len(s) {
			t.Fatalf("processEscapes(%q) = %q: longer than its input", s, out)
		}
		if processEscapes(processEscapes(`\\`)) != `\` {
			t.Fatal("a backslash does not survive")
		}
	})
}
