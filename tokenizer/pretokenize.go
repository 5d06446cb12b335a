package tokenizer

import (
	"fmt"
	"strings"

	"github.com/dlclark/regexp2/v2"
)

// splitKind says how one pre-tokenizer stage splits text.
type splitKind int

const (
	splitRegex  splitKind = iota // a general regex, run like llama.cpp's std::regex fallback
	splitGPT2                    // llama.cpp's hand-written GPT-2 splitter
	splitLlama3                  // llama.cpp's hand-written llama3 splitter
)

type splitStage struct {
	kind splitKind
	re   *regexp2.Regexp
	// collapsed: the regex uses Unicode categories, so it runs over the
	// text with every non-ASCII codepoint replaced by a stand-in for its
	// category, as llama.cpp does to make std::regex see categories.
	collapsed bool
}

// preTokenizer splits text into the words BPE merges within. Stages run in
// order, each splitting every piece the previous one produced; text no
// stage matched stays a piece of its own.
type preTokenizer struct {
	stages []splitStage
}

func newPreTokenizer(exprs []string) (*preTokenizer, error) {
	p := &preTokenizer{}
	for _, expr := range exprs {
		switch expr {
		case reGPT2:
			p.stages = append(p.stages, splitStage{kind: splitGPT2})
			continue
		case reLlama3, reLlama3Orig:
			p.stages = append(p.stages, splitStage{kind: splitLlama3})
			continue
		}
		pattern, collapsed, err := translateRegex(expr)
		if err != nil {
			return nil, err
		}
		// No backtracking limit: the stack a match needs grows with the
		// length of one word, which the input bounds.
		re, err := regexp2.Compile(pattern, regexp2.None, regexp2.OptionMaxBacktrackingStackSize(-1))
		if err != nil {
			return nil, fmt.Errorf("regex %q: %w", expr, err)
		}
		p.stages = append(p.stages, splitStage{kind: splitRegex, re: re, collapsed: collapsed})
	}
	return p, nil
}

// Stand-ins for the Unicode categories in collapsed text (llama.cpp's
// k_ucat_cpt; it writes them as raw bytes 0xD0..0xD5 into a byte string,
// here they are the runes of the same value).
const (
	collapsedOther       = 0xD0
	collapsedNumber      = 0xD1
	collapsedLetter      = 0xD2
	collapsedPunctuation = 0xD3
	collapsedMark        = 0xD4
	collapsedSymbol      = 0xD5
	collapsedWhitespace  = 0x0B // vertical tab: a \s both engines know
)

// categoryClasses maps the \p{..} names llama.cpp rewrites to the class
// members that replace them: the category's stand-in plus its ASCII
// members (llama.cpp's k_ucat_map).
var categoryClasses = map[string]string{
	`\p{N}`:  `\u00D1` + `0-9`,
	`\p{L}`:  `\u00D2` + `A-Za-z`,
	`\p{Lu}`: `\u00D2` + `A-Za-z`,
	`\p{Ll}`: `\u00D2` + `A-Za-z`,
	`\p{Lt}`: `\u00D2` + `A-Za-z`,
	`\p{Lm}`: `\u00D2` + `A-Za-z`,
	`\p{Lo}`: `\u00D2` + `A-Za-z`,
	`\p{P}`:  `\u00D3` + `!-#%-*,-/:-;?-@\[-\]_\{\}`,
	`\p{M}`:  `\u00D4`,
	`\p{S}`:  `\u00D5` + `\$\+<->\^` + "`" + `\|`,
}

// translateRegex turns one of llama.cpp's pre-tokenizer regexes into the
// regexp2 pattern that matches the same text. Regexes with Unicode
// categories become "collapsed" patterns, exactly as llama.cpp rewrites
// them; and because llama.cpp's std::regex is ECMAScript, where "$" means
// only the end of input, "$" becomes "\z". (\s needs no rewriting: the
// text fed to the regex holds no character on which .NET's \s and
// ECMAScript's differ, since non-ASCII whitespace is replaced by \v.)
func translateRegex(expr string) (pattern string, collapsed bool, err error) {
	for name := range categoryClasses {
		if strings.Contains(expr, name) {
			collapsed = true
		}
	}
	if collapsed {
		for _, r := range expr {
			if r >= 0x80 {
				return "", false, fmt.Errorf("regex %q mixes Unicode categories with non-ASCII characters, which llama.cpp does not support", expr)
			}
		}
	}
	var b strings.Builder
	inside := false
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		escaped := i > 0 && expr[i-1] == '\\'
		switch {
		case c == '[' && !escaped:
			inside = true
			b.WriteByte(c)
			continue
		case c == ']' && inside && !escaped:
			inside = false
			b.WriteByte(c)
			continue
		case c == '$' && !inside && !escaped:
			b.WriteString(`\z`)
			continue
		}
		if collapsed && c == '\\' && i+3 < len(expr) && expr[i+1] == 'p' && expr[i+2] == '{' {
			if end := strings.IndexByte(expr[i+3:], '}'); end >= 0 && end+i+3 <= i+10 {
				end += i + 3
				if class, ok := categoryClasses[expr[i:end+1]]; ok {
					if !inside {
						b.WriteByte('[')
					}
					b.WriteString(class)
					if !inside {
						b.WriteByte(']')
					}
					i = end
					continue
				}
			}
		}
		b.WriteByte(c)
	}
	return b.String(), collapsed, nil
}

// words splits text into byte-level-encoded words: each word's UTF-8 bytes
// mapped through GPT-2's byte-to-unicode table. Bytes that are not valid
// UTF-8 have become U+FFFD by then, as in llama.cpp.
func (p *preTokenizer) words(text string) []string {
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
	words := make([]string, 0, len(offsets))
	var buf []byte
	var sb strings.Builder
	start := 0
	for _, n := range offsets {
		buf = buf[:0]
		for _, c := range cpts[start : start+n] {
			buf = appendCodepoint(buf, c)
		}
		sb.Reset()
		for _, b := range buf {
			sb.WriteString(byteToUTF8[b])
		}
		words = append(words, sb.String())
		start += n
	}
	return words
}

// splitRegex splits each piece at the regex's matches: a match is a piece,
// and so is each run of text between matches.
func (st *splitStage) splitRegex(cpts []rune, offsets []int) []int {
	input := make([]rune, len(cpts))
	for i, c := range cpts {
		input[i] = c
		if c < 0x80 {
			continue
		}
		f := flagsOf(c)
		switch {
		case f.isWhitespace():
			input[i] = collapsedWhitespace
		case !st.collapsed:
		case f&flagCategories == flagNumber:
			input[i] = collapsedNumber
		case f&flagCategories == flagLetter:
			input[i] = collapsedLetter
		case f&flagCategories == flagPunctuation:
			input[i] = collapsedPunctuation
		case f&flagCategories == flagAccentMark:
			input[i] = collapsedMark
		case f&flagCategories == flagSymbol:
			input[i] = collapsedSymbol
		default:
			input[i] = collapsedOther
		}
	}
	out := make([]int, 0, len(offsets))
	start := 0
	for _, n := range offsets {
		piece := input[start : start+n : start+n]
		prev := 0
		err := st.re.FindRunesMatches(piece, 0, func(m regexp2.MatchView) bool {
			idx, length, _ := m.GroupRange(0)
			if idx > prev {
				out = append(out, idx-prev)
			}
			if length > 0 {
				out = append(out, length)
			}
			prev = idx + length
			return true
		})
		if err != nil {
			// Only a resource limit can fail a match; keep the rest of
			// the piece whole rather than lose it.
			prev = min(prev, n)
		}
		if prev < n {
			out = append(out, n-prev)
		}
		start += n
	}
	return out
}
