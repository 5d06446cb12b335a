package tokenizer

import (
	"sync"
	"unicode"
)

// maxCodepoint bounds the codepoint flags table, as llama.cpp's
// MAX_CODEPOINTS does.
const maxCodepoint = 0x110000

// replacementChar is what llama.cpp substitutes for a byte that does not
// start a decodable UTF-8 sequence.
const replacementChar = 0xFFFD

// cptFlags mirrors llama.cpp's unicode_cpt_flags: one general-category bit
// (from UnicodeData's general category, Cn being "undefined") plus helper
// bits. The bit values match llama.cpp's so that "any flag set" tests read
// the same.
type cptFlags uint16

const (
	flagUndefined   cptFlags = 0x0001
	flagNumber      cptFlags = 0x0002 // \p{N}
	flagLetter      cptFlags = 0x0004 // \p{L}
	flagSeparator   cptFlags = 0x0008 // \p{Z}
	flagAccentMark  cptFlags = 0x0010 // \p{M}
	flagPunctuation cptFlags = 0x0020 // \p{P}
	flagSymbol      cptFlags = 0x0040 // \p{S}
	flagControl     cptFlags = 0x0080 // \p{C} other than Cn
	flagCategories  cptFlags = 0x00FF
	flagWhitespace  cptFlags = 0x0100 // White_Space property
)

func (f cptFlags) isNumber() bool     { return f&flagNumber != 0 }
func (f cptFlags) isLetter() bool     { return f&flagLetter != 0 }
func (f cptFlags) isWhitespace() bool { return f&flagWhitespace != 0 }

var (
	flagsOnce  sync.Once
	flagsTable []cptFlags
)

// buildFlagsTable expands Go's Unicode category tables into one flags word
// per codepoint. Walking the range tables is far cheaper than asking
// unicode.Is for each of the 1.1M codepoints.
func buildFlagsTable() {
	t := make([]cptFlags, maxCodepoint)
	for i := range t {
		t[i] = flagUndefined
	}
	set := func(tab *unicode.RangeTable, f cptFlags, replace bool) {
		for _, r := range tab.R16 {
			for c := uint32(r.Lo); c <= uint32(r.Hi); c += uint32(r.Stride) {
				if replace {
					t[c] = f
				} else {
					t[c] |= f
				}
			}
		}
		for _, r := range tab.R32 {
			for c := r.Lo; c <= r.Hi && c < maxCodepoint; c += r.Stride {
				if replace {
					t[c] = f
				} else {
					t[c] |= f
				}
			}
		}
	}
	categories := []struct {
		tab  *unicode.RangeTable
		flag cptFlags
	}{
		{unicode.L, flagLetter},
		{unicode.N, flagNumber},
		{unicode.M, flagAccentMark},
		{unicode.P, flagPunctuation},
		{unicode.S, flagSymbol},
		{unicode.Z, flagSeparator},
		{unicode.Cc, flagControl},
		{unicode.Cf, flagControl},
		{unicode.Co, flagControl},
		{unicode.Cs, flagControl},
	}
	for _, c := range categories {
		set(c.tab, c.flag, true)
	}
	set(unicode.White_Space, flagWhitespace, false)
	flagsTable = t
}

// flagsOf returns the flags of a codepoint; codepoints beyond Unicode are
// undefined, as in llama.cpp.
func flagsOf(cpt rune) cptFlags {
	flagsOnce.Do(buildFlagsTable)
	if cpt < 0 || cpt >= maxCodepoint {
		return flagUndefined
	}
	return flagsTable[cpt]
}

// utf8SeqLen is llama.cpp's unicode_len_utf8: the sequence length announced
// by a lead byte's high nibble, without any validation (continuation bytes
// count as 1).
func utf8SeqLen(b byte) int {
	switch b >> 4 {
	case 0xC, 0xD:
		return 2
	case 0xE:
		return 3
	case 0xF:
		return 4
	}
	return 1
}

// decodeCodepoint is llama.cpp's unicode_cpt_from_utf8: a lenient decoder
// that accepts overlong forms and surrogates, checks only that continuation
// bytes are present and well-formed, and reports failure with ok == false.
func decodeCodepoint(s string, i int) (cpt rune, size int, ok bool) {
	b0 := s[i]
	switch {
	case b0&0x80 == 0:
		return rune(b0), 1, true
	case b0&0x40 == 0:
		return 0, 0, false
	case b0&0x20 == 0:
		if i+1 >= len(s) || s[i+1]&0xC0 != 0x80 {
			return 0, 0, false
		}
		return rune(b0&0x1F)<<6 | rune(s[i+1]&0x3F), 2, true
	case b0&0x10 == 0:
		if i+2 >= len(s) || s[i+1]&0xC0 != 0x80 || s[i+2]&0xC0 != 0x80 {
			return 0, 0, false
		}
		return rune(b0&0x0F)<<12 | rune(s[i+1]&0x3F)<<6 | rune(s[i+2]&0x3F), 3, true
	case b0&0x08 == 0:
		if i+3 >= len(s) || s[i+1]&0xC0 != 0x80 || s[i+2]&0xC0 != 0x80 || s[i+3]&0xC0 != 0x80 {
			return 0, 0, false
		}
		return rune(b0&0x07)<<18 | rune(s[i+1]&0x3F)<<12 | rune(s[i+2]&0x3F)<<6 | rune(s[i+3]&0x3F), 4, true
	}
	return 0, 0, false
}

// codepointsOf is llama.cpp's unicode_cpts_from_utf8: every byte that does
// not start a decodable sequence becomes U+FFFD and decoding resumes at the
// next byte. Four-byte forms above U+10FFFF (which llama.cpp cannot encode
// back and would abort on) are replaced too.
func codepointsOf(s string) []rune {
	out := make([]rune, 0, len(s))
	for i := 0; i < len(s); {
		cpt, n, ok := decodeCodepoint(s, i)
		if !ok || cpt >= maxCodepoint {
			out = append(out, replacementChar)
			i++
			continue
		}
		out = append(out, cpt)
		i += n
	}
	return out
}

// appendCodepoint is llama.cpp's unicode_cpt_to_utf8. Unlike utf8.AppendRune
// it encodes surrogates as they are, so text that decoded to a surrogate
// round-trips to the same bytes.
func appendCodepoint(dst []byte, cpt rune) []byte {
	switch {
	case cpt < 0:
		return append(dst, 0xEF, 0xBF, 0xBD)
	case cpt <= 0x7F:
		return append(dst, byte(cpt))
	case cpt <= 0x7FF:
		return append(dst, 0xC0|byte(cpt>>6), 0x80|byte(cpt&0x3F))
	case cpt <= 0xFFFF:
		return append(dst, 0xE0|byte(cpt>>12), 0x80|byte(cpt>>6&0x3F), 0x80|byte(cpt&0x3F))
	case cpt < maxCodepoint:
		return append(dst, 0xF0|byte(cpt>>18), 0x80|byte(cpt>>12&0x3F), 0x80|byte(cpt>>6&0x3F), 0x80|byte(cpt&0x3F))
	}
	return append(dst, 0xEF, 0xBF, 0xBD)
}

// byteToRune and runeToByte are GPT-2's reversible byte<->unicode map: the
// printable Latin-1 bytes stand for themselves, the other 68 bytes take the
// codepoints from U+0100 on, in byte order.
var (
	byteToRune [256]rune
	runeToByte map[rune]byte
	// byteToUTF8 holds byteToRune already encoded, for the hot path.
	byteToUTF8 [256]string
)

func init() {
	n := rune(0)
	runeToByte = make(map[rune]byte, 256)
	for b := 0; b < 256; b++ {
		printable := (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
		if printable {
			byteToRune[b] = rune(b)
		} else {
			byteToRune[b] = 256 + n
			n++
		}
		runeToByte[byteToRune[b]] = byte(b)
		byteToUTF8[b] = string(appendCodepoint(nil, byteToRune[b]))
	}
}

// isCSpace is C's isspace in the "C" locale, which llama.cpp uses when it
// strips spaces around special tokens.
func isCSpace(b byte) bool {
	return b == ' ' || (b >= '\t' && b <= '\r')
}
