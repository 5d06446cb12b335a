package main

import (
	"fmt"
	"strings"
	"testing"
)

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

// escapeForPrompt writes s the way a user would type it for -p: the
// characters processEscapes turns escapes into are escaped, and bytes that
// are not printable ASCII become \xHH.
func escapeForPrompt(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\\' || c == '"' || c == '\'':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// FuzzProcessEscapes: any byte string, escaped as a user would type it,
// comes back exactly; and processing never lengthens its input.
func FuzzProcessEscapes(f *testing.F) {
	for _, s := range []string{"a\nb", "\x41", "\\", "\\x", "é\t", `\x4`, `\\\\`, "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if out := processEscapes(s); len(out) > len(s) {
			t.Fatalf("processEscapes(%q) = %q: longer than its input", s, out)
		}
		typed := escapeForPrompt(s)
		if back := processEscapes(typed); back != s {
			t.Fatalf("processEscapes(%q) = %q, want %q", typed, back, s)
		}
	})
}
