package tokenizer

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// splitWith runs one pre-tokenizer over text and returns the pieces as
// text (not byte-level encoded).
func splitWith(t *testing.T, exprs []string, forceRegex bool, text string) []string {
	t.Helper()
	p, err := newPreTokenizer(exprs)
	if err != nil {
		t.Fatal(err)
	}
	if forceRegex {
		for i, expr := range exprs {
			pattern, collapsed, err := translateRegex(expr)
			if err != nil {
				t.Fatal(err)
			}
			q, err := newPreTokenizer([]string{pattern + "(?#force regex)"})
			if err != nil {
				t.Fatal(err)
			}
			p.stages[i] = q.stages[0]
			p.stages[i].collapsed = collapsed
		}
	}
	cpts := codepointsOf(text)
	offsets := []int{len(cpts)}
	for _, st := range p.stages {
		switch st.kind {
		case splitGPT2:
			offsets = splitGPT2Custom(cpts, offsets)
		case splitLlama3:
			offsets = splitLlama3Custom(cpts, offsets)
		default:
			offsets = st.splitRegex(cpts, offsets)
		}
	}
	var out []string
	start := 0
	for _, n := range offsets {
		var b []byte
		for _, c := range cpts[start : start+n] {
			b = appendCodepoint(b, c)
		}
		out = append(out, string(b))
		start += n
	}
	return out
}

func TestPreTokenizerSplits(t *testing.T) {
	tests := []struct {
		name  string
		exprs []string
		text  string
		want  []string
	}{
		{"gpt2 words", preGPT2, "Hello world, it's 2024!", []string{"Hello", " world", ",", " it", "'s", " 2024", "!"}},
		{"gpt2 spaces", preGPT2, "a   b  \n", []string{"a", "  ", " b", "  \n"}},
		{"gpt2 unicode", preGPT2, " naïve Привет 你好", []string{" naïve", " Привет", " 你好"}},
		{"llama3 digits", preLlama3, "1234567 x", []string{"123", "456", "7", " x"}},
		{"llama3 newlines", preLlama3, "a \n\n b", []string{"a", " \n\n", " b"}},
		{"llama3 contraction case", preLlama3, "I'M HERE'LL", []string{"I", "'M", " HERE", "'LL"}},
		{"llama3 punct", preLlama3, "x?!\n\ny", []string{"x", "?!\n\n", "y"}},
		{"qwen2 digits", preQwen2, "abc 123", []string{"abc", " ", "1", "2", "3"}},
		{"default numbers", preDefault, "x 12345, y", []string{"x", " ", "123", "45", ",", " y"}},
		{"falcon", preFalcon, "a+b=1234", []string{"a", "+", "b", "=", "123", "4"}},
		{"deepseek", preDeepseek, "Hello 世界\n123  ", []string{"Hello", " ", "世界", "\n", "123", "  "}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := splitWith(t, tc.exprs, false, tc.text)
			if !slices.Equal(got, tc.want) {
				t.Errorf("split(%q)\n got %q\nwant %q", tc.text, got, tc.want)
			}
		})
	}
}

// TestCustomSplittersMatchRegex cross-checks llama.cpp's hand-written GPT-2
// and llama3 splitters (which llama.cpp runs) against the regexes they
// stand for (run through the general regex path), on fixed and random
// text. llama.cpp wrote the splitters to be equivalent; any difference is
// a bug in one of the two ports. (The GPT-2 regex has no final "|\s+" like
// the splitter's fallback, but the regex path keeps unmatched text as a
// piece of its own, which comes to the same.)
func TestCustomSplittersMatchRegex(t *testing.T) {
	texts := []string{
		"Hello world", " Hello  World!", "it's I'M we'LL", "\n\n\tindented line\n  two spaces\n",
		"3.14159 1234567890 1,000,000 $42.00", "emoji: 🦙🚀👍🏽 family: 👨\u200d👩\u200d👧",
		"a\u00a0b\u200bc\ttab", "  \n  \n\n\n   x", "x  ", "'", "' ", "''s", "a\r\nb\r\n\r\n",
	}
	alphabet := []rune("aZé世 \t\n\r'sStT0١½.,!?-_\u00a0\u2028\u0301😀\u200b")
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		n := rng.IntN(12)
		var sb strings.Builder
		for range n {
			sb.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		texts = append(texts, sb.String())
	}
	for _, exprs := range [][]string{preGPT2, preLlama3} {
		for _, text := range texts {
			custom := splitWith(t, exprs, false, text)
			regex := splitWith(t, exprs, true, text)
			if !slices.Equal(custom, regex) {
				t.Errorf("%.20s… on %q:\ncustom %q\nregex  %q", exprs[0], text, custom, regex)
			}
		}
	}
}

func TestTranslateRegex(t *testing.T) {
	tests := []struct {
		in, want  string
		collapsed bool
	}{
		{`\p{N}+`, `[\u00D10-9]+`, true},
		{`[^\s\p{L}\p{N}]+`, `[^\s\u00D2A-Za-z\u00D10-9]+`, true},
		{`\s+$`, `\s+\z`, false},
		{`[$]x\$`, `[$]x\$`, false},
		{`[0-9][0-9][0-9]`, `[0-9][0-9][0-9]`, false},
	}
	for _, tc := range tests {
		got, collapsed, err := translateRegex(tc.in)
		if err != nil || got != tc.want || collapsed != tc.collapsed {
			t.Errorf("translateRegex(%q) = %q, %v, %v; want %q, %v", tc.in, got, collapsed, err, tc.want, tc.collapsed)
		}
	}
	if _, _, err := translateRegex(`\p{L}é`); err == nil {
		t.Errorf("categories mixed with non-ASCII: want an error, as llama.cpp refuses them")
	}
}
