package main

import "strings"

// processEscapes turns the escapes of a -p prompt into the characters they
// stand for, as llama.cpp's string_process_escapes does: \n \r \t \' \" \\
// and \xHH (two hex digits, one byte). Any other backslash, and a \x not
// followed by two hex digits, is kept as it is. (llama.cpp reads \xHH with
// strtol, which would also take "\x-1" or "\x 1"; only hex digits are
// taken here. Like llama.cpp, \u is not an escape.)
func processEscapes(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case '\'', '"', '\\':
			b.WriteByte(s[i])
		case 'x':
			if i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
				b.WriteByte(hexValue(s[i+1])<<4 | hexValue(s[i+2]))
				i += 2
				break
			}
			b.WriteString(`\x`)
		default:
			b.WriteByte('\\')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func hexValue(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
