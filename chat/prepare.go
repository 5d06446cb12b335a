package chat

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// The engine (github.com/ardanlabs/jinja) applies trim_blocks, lstrip_blocks
// and the "-" markers itself, but not the way Python's jinja2 lexer does: it
// looks past {{ }} tags for the text to trim (so `|>\n {{ x }}{% endfor %}`
// loses its space, ChatGLM3), and it keeps the source's final newline, which
// jinja2 drops (keep_trailing_newline=False). Rather than depend on those
// rules, prepare lexes the source the way jinja2 3.1's lexer does, applies
// jinja2's whitespace control to the text between tags itself, and writes a
// source for the engine in which no whitespace control is left to apply:
// every statement is written {%+ ... +%} (the engine's opt-out of lstrip and
// trim), expressions carry no "-" marker, comments are dropped and raw
// blocks become plain text. The engine then only parses and evaluates.

// segKind is what a piece of the source is.
type segKind int

const (
	segText segKind = iota
	segExpr         // {{ ... }}
	segStmt         // {% ... %}
)

// segment is a piece of the source after jinja2's whitespace control: the
// final text of a data run, or the inner text of a tag without its markers.
type segment struct {
	kind segKind
	text string
	off  int // byte offset of the tag in the normalized source, for error messages
}

// maxTemplateSize bounds the source a template may have; real chat templates
// are at most tens of kilobytes.
const maxTemplateSize = 4 << 20

// SyntaxError is a template source that jinja2 would refuse to lex.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("template syntax error, line %d: %s", e.Line, e.Msg)
}

// normalizeNewlines turns \r\n and \r into \n and drops one trailing
// newline, as jinja2's lexer does before anything else (newline_sequence
// "\n", keep_trailing_newline=False).
func normalizeNewlines(src string) string {
	if strings.IndexByte(src, '\r') >= 0 {
		src = strings.ReplaceAll(src, "\r\n", "\n")
		src = strings.ReplaceAll(src, "\r", "\n")
	}
	return strings.TrimSuffix(src, "\n")
}

// isPySpace reports whether r is whitespace to Python (str.isspace, and
// the \s of a str regular expression: the two sets are equal).
func isPySpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f, ' ', 0x85, 0xa0, 0x1680,
		0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// rstripPy is Python's str.rstrip().
func rstripPy(s string) string { return strings.TrimRightFunc(s, isPySpace) }

// skipPySpace returns the index of the first non-whitespace byte at or after i.
func skipPySpace(s string, i int) int {
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !isPySpace(r) {
			break
		}
		i += n
	}
	return i
}

// allPySpace reports whether s is non-empty and all whitespace (\s+).
func allPySpace(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !isPySpace(r) {
			return false
		}
	}
	return true
}

// lexer walks a normalized source the way jinja2's Lexer.tokeniter does.
type lexer struct {
	src          string
	pos          int
	lineStarting bool // the last match ended with "\n" (jinja2's line_starting)
	segs         []segment
}

// lex splits src into text and tags with jinja2's whitespace control
// (trim_blocks=True, lstrip_blocks=True) already applied to the text.
func lex(src string) ([]segment, error) {
	if len(src) > maxTemplateSize {
		return nil, fmt.Errorf("template of %d bytes is larger than the %d allowed", len(src), maxTemplateSize)
	}
	lx := &lexer{src: normalizeNewlines(src), lineStarting: true}
	for lx.pos < len(lx.src) {
		if err := lx.next(); err != nil {
			return nil, err
		}
	}
	return lx.segs, nil
}

// errorAt reports a syntax error at byte offset off of the source.
func (lx *lexer) errorAt(off int, format string, a ...any) error {
	return &SyntaxError{Line: 1 + strings.Count(lx.src[:off], "\n"), Msg: fmt.Sprintf(format, a...)}
}

// findOpener returns the index of the next "{{", "{%" or "{#" at or after i,
// or -1.
func findOpener(s string, i int) int {
	for {
		j := strings.IndexByte(s[i:], '{')
		if j < 0 {
			return -1
		}
		i += j
		if i+1 < len(s) && (s[i+1] == '{' || s[i+1] == '%' || s[i+1] == '#') {
			return i
		}
		i++
	}
}

// addText appends data, applying the left-hand whitespace control of the
// tag that follows it: sign is the tag's "-", "+" or "" and lstrip says
// whether lstrip_blocks applies to that kind of tag.
func (lx *lexer) addText(text string, sign byte, lstrip bool) {
	switch {
	case sign == '-':
		text = rstripPy(text)
	case sign != '+' && lstrip:
		// lstrip_blocks: whitespace alone between the line start and the tag.
		l := strings.LastIndexByte(text, '\n') + 1
		if (l > 0 || lx.lineStarting) && allPySpace(text[l:]) {
			text = text[:l]
		}
	}
	if text != "" {
		lx.segs = append(lx.segs, segment{kind: segText, text: text, off: lx.pos})
	}
}

// advance moves pos to end, the end of a match, recording whether the
// match ended a line.
func (lx *lexer) advance(end int) {
	lx.lineStarting = end > 0 && lx.src[end-1] == '\n'
	lx.pos = end
}

// next lexes the data up to the next tag and that tag.
func (lx *lexer) next() error {
	s := lx.src
	open := findOpener(s, lx.pos)
	if open < 0 {
		lx.segs = append(lx.segs, segment{kind: segText, text: s[lx.pos:], off: lx.pos})
		lx.advance(len(s))
		return nil
	}
	text := s[lx.pos:open]
	var sign byte
	body := open + 2
	if body < len(s) && (s[body] == '-' || s[body] == '+') {
		sign = s[body]
		body++
	}
	switch s[open+1] {
	case '%':
		if end, ok := rawBegin(s, body); ok {
			lx.addText(text, sign, true)
			lx.advance(end)
			return lx.raw()
		}
		lx.addText(text, sign, true)
		return lx.tag(segStmt, open, body)
	case '{':
		lx.addText(text, sign, false)
		return lx.tag(segExpr, open, body)
	default: // '#'
		lx.addText(text, sign, true)
		return lx.comment(open, body)
	}
}

// rawBegin matches the rest of `{%[-+]? raw -?%}` at i (after the sign):
// `\s*raw\s*(?:-%}\s*|%})`. Note that trim_blocks does not apply after it.
func rawBegin(s string, i int) (int, bool) {
	i = skipPySpace(s, i)
	if !strings.HasPrefix(s[i:], "raw") {
		return 0, false
	}
	i = skipPySpace(s, i+3)
	switch {
	case strings.HasPrefix(s[i:], "-%}"):
		return skipPySpace(s, i+3), true
	case strings.HasPrefix(s[i:], "%}"):
		return i + 2, true
	}
	return 0, false
}

// raw lexes the inside of a raw block up to and including its endraw tag:
// `(.*?)({%[-+]?\s*endraw\s*(?:\+%}|-%}\s*|%}\n?))`.
func (lx *lexer) raw() error {
	s := lx.src
	for i := lx.pos; ; i++ {
		j := strings.Index(s[i:], "{%")
		if j < 0 {
			return lx.errorAt(lx.pos, "missing end of raw directive")
		}
		i += j
		k := i + 2
		var sign byte
		if k < len(s) && (s[k] == '-' || s[k] == '+') {
			sign = s[k]
			k++
		}
		k = skipPySpace(s, k)
		if !strings.HasPrefix(s[k:], "endraw") {
			continue
		}
		k = skipPySpace(s, k+6)
		end, ok := blockEnd(s, k)
		if !ok {
			continue
		}
		lx.addText(s[lx.pos:i], sign, true)
		lx.advance(end)
		return nil
	}
}

// blockEnd matches a statement's closer at i: `\+%}|-%}\s*|%}\n?`.
func blockEnd(s string, i int) (int, bool) {
	switch {
	case strings.HasPrefix(s[i:], "+%}"):
		return i + 3, true
	case strings.HasPrefix(s[i:], "-%}"):
		return skipPySpace(s, i+3), true
	case strings.HasPrefix(s[i:], "%}"):
		if i+2 < len(s) && s[i+2] == '\n' {
			return i + 3, true
		}
		return i + 2, true
	}
	return 0, false
}

// exprEnd matches an expression's closer at i: `-}}\s*|}}`.
func exprEnd(s string, i int) (int, bool) {
	switch {
	case strings.HasPrefix(s[i:], "-}}"):
		return skipPySpace(s, i+3), true
	case strings.HasPrefix(s[i:], "}}"):
		return i + 2, true
	}
	return 0, false
}

// comment skips a comment: `(.*?)(?:\+#}|-#}\s*|#}\n?)`.
func (lx *lexer) comment(open, start int) error {
	s := lx.src
	for i := start; i < len(s); i++ {
		var end int
		switch {
		case strings.HasPrefix(s[i:], "+#}"):
			end = i + 3
		case strings.HasPrefix(s[i:], "-#}"):
			end = skipPySpace(s, i+3)
		case strings.HasPrefix(s[i:], "#}"):
			end = i + 2
			if end < len(s) && s[end] == '\n' {
				end++
			}
		default:
			continue
		}
		lx.advance(end)
		return nil
	}
	return lx.errorAt(open, "missing end of comment tag")
}

// tag lexes the inside of a {{ }} or {% %} tag up to its closer. Like
// jinja2, a closer only counts outside strings and with brackets balanced.
func (lx *lexer) tag(kind segKind, open, start int) error {
	s := lx.src
	var stack []byte
	i := start
	for i < len(s) {
		if len(stack) == 0 {
			var end int
			var ok bool
			if kind == segStmt {
				end, ok = blockEnd(s, i)
			} else {
				end, ok = exprEnd(s, i)
			}
			if ok {
				// A closer with a sign matched at the sign, so s[start:i]
				// holds the tag's inside without it.
				lx.segs = append(lx.segs, segment{kind: kind, text: s[start:i], off: open})
				lx.advance(end)
				return nil
			}
		}
		c := s[i]
		switch c {
		case '\'', '"':
			j, ok := skipString(s, i)
			if !ok {
				return lx.errorAt(i, "unterminated string")
			}
			i = j
			continue
		case '(':
			stack = append(stack, ')')
		case '[':
			stack = append(stack, ']')
		case '{':
			stack = append(stack, '}')
		case ')', ']', '}':
			if len(stack) == 0 || stack[len(stack)-1] != c {
				return lx.errorAt(i, "unexpected '%c'", c)
			}
			stack = stack[:len(stack)-1]
		}
		i++
	}
	if kind == segStmt {
		return lx.errorAt(open, "unexpected end of template: statement %q never closed", abbreviate(s[open:]))
	}
	return lx.errorAt(open, "unexpected end of template: expression %q never closed", abbreviate(s[open:]))
}

// skipString returns the index after the string literal that starts at i
// (jinja2's string_re: backslash escapes any character).
func skipString(s string, i int) (int, bool) {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case q:
			return j + 1, true
		}
	}
	return 0, false
}

func abbreviate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// engineSource writes segs as a source for the engine in which nothing is
// left for the engine's own whitespace rules to act on.
func engineSource(segs []segment) (string, error) {
	var b strings.Builder
	for i := 0; i < len(segs); i++ {
		sg := segs[i]
		switch sg.kind {
		case segText:
			// Comments and raw blocks leave texts side by side; join them
			// so that escapeText sees every "{" next to what follows it.
			text := sg.text
			for i+1 < len(segs) && segs[i+1].kind == segText {
				i++
				text += segs[i].text
			}
			escapeText(&b, text)
		case segExpr:
			b.WriteString("{{ ")
			b.WriteString(rewriteExpression(sg.text))
			b.WriteString(" }}")
		case segStmt:
			stmt, err := rewriteStatement(sg.text)
			if err != nil {
				return "", err
			}
			keyword := statementKeyword(sg.text)
			if keyword == "endmacro" {
				b.WriteString("{{ " + macroLeaveFunc + "() }}")
			}
			b.WriteString("{%+ ")
			b.WriteString(stmt)
			b.WriteString(" +%}")
			if keyword == "macro" {
				// Count the macro's depth: the engine has no limit, and
				// unbounded recursion would exhaust the Go stack.
				b.WriteString("{{ " + macroEnterFunc + "() }}")
			}
		}
	}
	return b.String(), nil
}

// statementKeyword returns the first word of a statement.
func statementKeyword(s string) string {
	toks := tokenize(s)
	if k := firstWord(toks); k >= 0 && toks[k].kind == tokName {
		return toks[k].text
	}
	return ""
}

// escapeText writes text so that the engine reads it back as the same text:
// a "{" that would open a tag with what follows it (the next character, or
// the tag written after the text) is written as the expression {{ '{' }}.
// Text taken from a raw block, or joined across a comment, can hold such a
// "{"; jinja2's own data never ends in one.
func escapeText(b *strings.Builder, text string) {
	for {
		i := strings.IndexByte(text, '{')
		if i < 0 {
			b.WriteString(text)
			return
		}
		b.WriteString(text[:i])
		if i+1 == len(text) || text[i+1] == '{' || text[i+1] == '%' || text[i+1] == '#' {
			b.WriteString("{{ '{' }}")
		} else {
			b.WriteByte('{')
		}
		text = text[i+1:]
	}
}
