package tokenizer

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// buildPieces renders every token once, as llama.cpp's token-to-piece
// cache does (with special tokens rendered; Piece hides them on demand).
func (t *Tokenizer) buildPieces() {
	t.pieces = make([][]byte, len(t.tokens))
	for id, text := range t.tokens {
		attr := t.attrs[id]
		var p []byte
		switch {
		case attr&(attrUnknown|attrControl|attrUserDefined) != 0:
			p = []byte(text)
		case attr&attrNormal != 0 && t.kind == kindSPM:
			p = []byte(strings.ReplaceAll(text, "\u2581", " "))
		case attr&attrNormal != 0:
			p = decodeByteLevel(text)
		case attr&attrByte != 0:
			p = []byte{byteTokenValue(text)}
		}
		// Unused and undefined tokens render as nothing, as in llama.cpp.
		t.pieces[id] = p
	}
}

// decodeByteLevel maps a byte-level BPE token back to the bytes it stands
// for (llama_decode_text). A codepoint outside GPT-2's byte alphabet is
// rendered the way llama.cpp renders it, so that it is visible.
func decodeByteLevel(text string) []byte {
	out := make([]byte, 0, len(text))
	for _, cpt := range codepointsOf(text) {
		if b, ok := runeToByte[cpt]; ok {
			out = append(out, b)
			continue
		}
		out = append(out, "[UNK_BYTE_0x"...)
		for _, c := range appendCodepoint(nil, cpt) {
			out = fmt.Appendf(out, "%02x", c)
		}
		out = append(out, text...)
		out = append(out, ']')
	}
	return out
}

// byteTokenValue reads the byte of a "<0xNN>" token the way llama.cpp's
// strtol over its characters 3 and 4 does: leading hex digits, else 0.
func byteTokenValue(text string) byte {
	var v byte
	for i := 3; i < len(text) && i < 5; i++ {
		c := text[i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return v
		}
		v = v<<4 | d
	}
	return v
}

// piece is token_to_piece without stripping: nil for ids outside the
// vocabulary and, unless special, for control and unknown tokens.
func (t *Tokenizer) piece(id int32, special bool) []byte {
	if !t.valid(id) {
		return nil
	}
	if !special && t.attrs[id]&(attrControl|attrUnknown) != 0 {
		return nil
	}
	return t.pieces[id]
}

// Piece returns the bytes token id decodes to: "▁" becomes a space, a
// "<0xNN>" byte token its byte, a byte-level BPE token its bytes; control
// and unknown tokens (BOS, EOS, chat markers) decode to nothing. Like
// llama_token_to_piece with lstrip 0 it never drops the leading space of
// a SentencePiece token; only Decode does, for the first token. The result
// may be part of a UTF-8 sequence; it is shared and must not be modified.
func (t *Tokenizer) Piece(id int32) []byte { return t.piece(id, false) }

// PieceSpecial is Piece with control and unknown tokens rendered as their
// text ("<|im_end|>").
func (t *Tokenizer) PieceSpecial(id int32) []byte { return t.piece(id, true) }

// Decode turns ids back into text like llama.cpp's llama_detokenize with
// special tokens neither removed nor rendered. Its quirks are kept: for
// SentencePiece the first token loses one leading space (the space Encode
// added), and byte-level BPE vocabularies that ask for it have spaces
// before punctuation and some contractions removed (" ," -> ",").
func (t *Tokenizer) Decode(ids []int32) string {
	return t.Detokenize(ids, false, false)
}

// Detokenize is llama_detokenize: removeSpecial drops a leading BOS and a
// trailing EOS the vocabulary adds; unparseSpecial renders control tokens
// as their text.
func (t *Tokenizer) Detokenize(ids []int32, removeSpecial, unparseSpecial bool) string {
	removeSpace := t.addSpacePrefix
	if removeSpecial && t.addBOS && len(ids) > 0 && ids[0] == t.bos {
		removeSpace = false
		ids = ids[1:]
	}
	if removeSpecial && t.addEOS && len(ids) > 0 && ids[len(ids)-1] == t.eos {
		ids = ids[:len(ids)-1]
	}
	var buf []byte
	for _, id := range ids {
		p := t.piece(id, unparseSpecial)
		if removeSpace && len(p) > 0 && p[0] == ' ' {
			p = p[1:]
		}
		removeSpace = false
		buf = append(buf, p...)
	}
	if t.cleanSpaces {
		buf = cleanSpaces(buf)
	}
	return string(buf)
}

// cleanSpaces is the clean-up pass of llama.cpp's detokenizer (which it
// inherited from Hugging Face's clean_up_tokenization): " ?" " !" " ."
// " ," lose the space, a lone " ' " loses both, and " 's" " 'm" " 're"
// " 've" lose theirs.
func cleanSpaces(text []byte) []byte {
	if len(text) == 0 {
		return text
	}
	// Pass 1: space before ? ! . ,
	out := append(make([]byte, 0, len(text)), text[0])
	for i := 1; i < len(text); i++ {
		x := text[i]
		if text[i-1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',') {
			out = out[:len(out)-1]
		}
		out = append(out, x)
	}
	// Pass 2: a single apostrophe between spaces. llama.cpp blanks the
	// space after it in place, so that space cannot start another match.
	text, out = out, make([]byte, 0, len(out))
	out = append(out, text[0])
	blanked := -1
	for i := 1; i < len(text); i++ {
		x := text[i]
		prev := text[i-1]
		if i-1 == blanked {
			prev = 0
		}
		if x == '\'' && i+1 < len(text) && prev == ' ' && text[i+1] == ' ' {
			out = out[:len(out)-1]
			out = append(out, x)
			i++
			blanked = i
			continue
		}
		out = append(out, x)
	}
	// Pass 3: contractions.
	text, out = out, make([]byte, 0, len(out))
	out = append(out, text[0])
	for i := 1; i < len(text); i++ {
		x := text[i]
		if text[i-1] == ' ' && x == '\'' && i+1 < len(text) {
			x1 := text[i+1]
			switch {
			case x1 == 's' || x1 == 'm':
				out = out[:len(out)-1]
			case x1 == 't' || x1 == 'd':
			case i+2 < len(text):
				x2 := text[i+2]
				if (x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e') {
					out = out[:len(out)-1]
				}
			}
		}
		out = append(out, x)
	}
	return out
}

// StreamDecoder turns tokens into text one at a time for printing as they
// are generated. It holds back the bytes of a UTF-8 character split across
// tokens until the character is complete, and emits U+FFFD for bytes that
// can never form one. Tokens are rendered like Piece (no leading-space
// strip, no clean-up), as llama.cpp's generation examples print them.
type StreamDecoder struct {
	t *Tokenizer
	// Special renders control tokens as their text.
	Special bool
	pending []byte
}

// NewStreamDecoder returns a decoder with nothing pending.
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder {
	return &StreamDecoder{t: t}
}

// Push adds one token and returns the text that is now complete.
func (d *StreamDecoder) Push(id int32) string {
	d.pending = append(d.pending, d.t.piece(id, d.Special)...)
	return d.drain(false)
}

// Flush returns whatever is still held back, an incomplete character
// becoming U+FFFD, and leaves the decoder empty.
func (d *StreamDecoder) Flush() string {
	return d.drain(true)
}

func (d *StreamDecoder) drain(final bool) string {
	var sb strings.Builder
	p := d.pending
	for len(p) > 0 {
		if !final && !utf8.FullRune(p) {
			break // the start of a character whose rest has not come yet
		}
		r, n := utf8.DecodeRune(p)
		if r == utf8.RuneError && n == 1 {
			sb.WriteRune(utf8.RuneError)
		} else {
			sb.Write(p[:n])
		}
		p = p[n:]
	}
	d.pending = append(d.pending[:0], p...)
	return sb.String()
}
