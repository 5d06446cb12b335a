package tokenizer

import "unicode"

// The two hand-written splitters llama.cpp uses instead of the GPT-2 and
// llama3 regexes (unicode_regex_split_custom_gpt2/_llama3). They are not
// exact regex engines: where the regex and llama.cpp's code disagree, the
// code is what produced llama.cpp's tokens, so it is what is followed here,
// step for step.

const outOfRange rune = -1

// pieceCursor gives bounds-checked access to one piece [ini, end) of the
// codepoints, and collects the lengths of the words cut from it.
type pieceCursor struct {
	cpts     []rune
	ini, end int
	prevEnd  int
	out      []int
}

func (c *pieceCursor) cpt(pos int) rune {
	if pos >= c.ini && pos < c.end {
		return c.cpts[pos]
	}
	return outOfRange
}

// flags outside the piece are all clear, unlike an undefined codepoint.
func (c *pieceCursor) flags(pos int) cptFlags {
	if pos >= c.ini && pos < c.end {
		return flagsOf(c.cpts[pos])
	}
	return 0
}

// cut ends a word at end and returns its length.
func (c *pieceCursor) cut(end int) int {
	n := end - c.prevEnd
	if n > 0 {
		c.out = append(c.out, n)
	}
	c.prevEnd = end
	return n
}

func isWordish(f cptFlags) bool { return f&(flagWhitespace|flagLetter|flagNumber) != 0 }

// splitGPT2Custom: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
func splitGPT2Custom(cpts []rune, offsets []int) []int {
	c := &pieceCursor{cpts: cpts, out: make([]int, 0, len(offsets))}
	start := 0
	for _, n := range offsets {
		c.ini, c.end, c.prevEnd = start, start+n, start
		start += n
		for pos := c.ini; pos < c.end; {
			cpt := c.cpt(pos)
			f := c.flags(pos)

			if cpt == '\'' && pos+1 < c.end {
				next := c.cpt(pos + 1)
				if next == 's' || next == 't' || next == 'm' || next == 'd' {
					pos += c.cut(pos + 2)
					continue
				}
				if pos+2 < c.end {
					next2 := c.cpt(pos + 2)
					if (next == 'r' && next2 == 'e') || (next == 'v' && next2 == 'e') || (next == 'l' && next2 == 'l') {
						pos += c.cut(pos + 3)
						continue
					}
				}
			}

			f2 := f
			if cpt == ' ' {
				f2 = c.flags(pos + 1)
			}
			if f2.isLetter() { // <space>?\p{L}+
				if cpt == ' ' {
					pos++
				}
				for f2.isLetter() {
					pos++
					f2 = c.flags(pos)
				}
				c.cut(pos)
				continue
			}
			if f2.isNumber() { // <space>?\p{N}+
				if cpt == ' ' {
					pos++
				}
				for f2.isNumber() {
					pos++
					f2 = c.flags(pos)
				}
				c.cut(pos)
				continue
			}
			if !isWordish(f2) && f2 != 0 { // <space>?[^\s\p{L}\p{N}]+
				if cpt == ' ' {
					pos++
				}
				for !isWordish(f2) && f2 != 0 {
					pos++
					f2 = c.flags(pos)
				}
				c.cut(pos)
				continue
			}

			spaces := 0
			for c.flags(pos + spaces).isWhitespace() {
				spaces++
			}
			if spaces > 1 && c.cpt(pos+spaces) != outOfRange { // \s+(?!\S)
				pos += spaces - 1
				c.cut(pos)
				continue
			}
			if spaces > 0 { // \s+
				pos += spaces
				c.cut(pos)
				continue
			}
			pos++ // no match
			c.cut(pos)
		}
	}
	return c.out
}

// splitLlama3Custom: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
func splitLlama3Custom(cpts []rune, offsets []int) []int {
	c := &pieceCursor{cpts: cpts, out: make([]int, 0, len(offsets))}
	start := 0
	for _, n := range offsets {
		c.ini, c.end, c.prevEnd = start, start+n, start
		start += n
		for pos := c.ini; pos < c.end; {
			cpt := c.cpt(pos)
			f := c.flags(pos)

			if cpt == '\'' && pos+1 < c.end { // case-insensitive contractions
				next := unicode.ToLower(c.cpt(pos + 1))
				if next == 's' || next == 't' || next == 'm' || next == 'd' {
					pos += c.cut(pos + 2)
					continue
				}
				if pos+2 < c.end {
					next2 := unicode.ToLower(c.cpt(pos + 2))
					if (next == 'r' && next2 == 'e') || (next == 'v' && next2 == 'e') || (next == 'l' && next2 == 'l') {
						pos += c.cut(pos + 3)
						continue
					}
				}
			}

			// [^\r\n\p{L}\p{N}]?\p{L}+
			if !(cpt == '\r' || cpt == '\n' || f.isNumber()) {
				if f.isLetter() || c.flags(pos+1).isLetter() {
					pos++
					for c.flags(pos).isLetter() {
						pos++
					}
					c.cut(pos)
					continue
				}
			}

			if f.isNumber() { // \p{N}{1,3}
				ini := pos
				for c.flags(pos).isNumber() {
					pos++
					if pos-ini >= 3 {
						c.cut(pos)
						ini = pos
					}
				}
				c.cut(pos)
				continue
			}

			// <space>?[^\s\p{L}\p{N}]+[\r\n]*  (llama.cpp tests the first
			// codepoint's own flags, not the one after the space, here)
			f2 := f
			if cpt == ' ' {
				f2 = c.flags(pos + 1)
			}
			if !isWordish(f2) && f != 0 {
				if cpt == ' ' {
					pos++
				}
				for !isWordish(f2) && f2 != 0 {
					pos++
					f2 = c.flags(pos)
				}
				for r := c.cpt(pos); r == '\r' || r == '\n'; r = c.cpt(pos) {
					pos++
				}
				c.cut(pos)
				continue
			}

			spaces, lastNewline := 0, 0
			for c.flags(pos + spaces).isWhitespace() {
				if r := c.cpt(pos + spaces); r == '\r' || r == '\n' {
					lastNewline = pos + spaces + 1
				}
				spaces++
			}
			if lastNewline > 0 { // \s*[\r\n]+
				pos = lastNewline
				c.cut(pos)
				continue
			}
			if spaces > 1 && c.cpt(pos+spaces) != outOfRange { // \s+(?!\S)
				pos += spaces - 1
				c.cut(pos)
				continue
			}
			if spaces > 0 { // \s+
				pos += spaces
				c.cut(pos)
				continue
			}
			pos++ // no match
			c.cut(pos)
		}
	}
	return c.out
}
