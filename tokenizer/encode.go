package tokenizer

import (
	"slices"
	"strings"
	"sync"
)

// fragment is a stretch [start, end) of the input still to be tokenized,
// or (id != NoToken) a special token already split out of it.
type fragment struct {
	id         int32
	start, end int
}

// partition splits special tokens out of text the way llama.cpp's
// tokenizer_st_partition does: each special token in turn, longest first,
// is cut out of every raw fragment left. User-defined tokens are always
// split out; control and unknown tokens only with parseSpecial. A token
// with the lstrip/rstrip attribute also swallows the C-locale whitespace
// beside it.
func (t *Tokenizer) partition(text string, parseSpecial bool) []fragment {
	if text == "" {
		return nil
	}
	frags := []fragment{{id: NoToken, start: 0, end: len(text)}}
	var next []fragment
	// Vocabularies can have thousands of special tokens; only those whose
	// first byte occurs in the text can match. Their positions in
	// t.specials, sorted, keep llama.cpp's longest-first order.
	var present [256]bool
	for i := 0; i < len(text); i++ {
		present[text[i]] = true
	}
	var candidates []int32
	for b, ok := range present {
		if ok {
			candidates = append(candidates, t.specialsByFirst[b]...)
		}
	}
	slices.Sort(candidates)
	for _, pos := range candidates {
		sid := t.specials[pos]
		attr := t.attrs[sid]
		if !parseSpecial && attr&(attrControl|attrUnknown) != 0 {
			continue
		}
		stext := t.tokens[sid]
		if len(stext) > len(text) {
			continue
		}
		found := false
		for _, f := range frags {
			if f.id == NoToken && strings.Contains(text[f.start:f.end], stext) {
				found = true
				break
			}
		}
		if !found {
			continue
		}
		next = next[:0]
		for _, f := range frags {
			if f.id != NoToken {
				next = append(next, f)
				continue
			}
			off, end := f.start, f.end
			for off < end {
				idx := strings.Index(text[off:end], stext)
				if idx < 0 {
					break
				}
				match := off + idx
				left := match
				if attr&attrLstrip != 0 {
					for left > off && isCSpace(text[left-1]) {
						left--
					}
				}
				if left > off {
					next = append(next, fragment{id: NoToken, start: off, end: left})
				}
				next = append(next, fragment{id: sid})
				off = match + len(stext)
				if attr&attrRstrip != 0 {
					for off < end && isCSpace(text[off]) {
						off++
					}
				}
			}
			if off < end {
				next = append(next, fragment{id: NoToken, start: off, end: end})
			}
		}
		frags, next = next, frags
	}
	return frags
}

// Sessions keep their scratch slices between calls: encoding is dominated
// by small allocations otherwise.
var (
	spmSessions = sync.Pool{New: func() any { return new(spmSession) }}
	bpeSessions = sync.Pool{New: func() any { return new(bpeSession) }}
)

// Encode tokenizes text like llama.cpp's llama_tokenize. With addSpecial
// it adds BOS and EOS as the vocabulary asks (AddBOS, AddEOS); with
// parseSpecial, control tokens written in the text ("<|im_end|>") become
// those tokens rather than being tokenized as text. User-defined tokens
// are matched either way. Invalid UTF-8 never fails: SPM byte-falls-back
// on the raw bytes, BPE sees U+FFFD in place of each bad byte.
func (t *Tokenizer) Encode(text string, addSpecial, parseSpecial bool) []int32 {
	frags := t.partition(text, parseSpecial)
	out := make([]int32, 0, len(text)/3+2)
	if addSpecial && t.addBOS {
		out = append(out, t.bos)
	}
	switch t.kind {
	case kindSPM:
		s := spmSessions.Get().(*spmSession)
		s.t = t
		defer spmSessions.Put(s)
		// A raw fragment at the start or after a special token gets the
		// leading space SentencePiece adds to every input.
		prevSpecial := true
		for _, f := range frags {
			if f.id != NoToken {
				out = append(out, f.id)
				prevSpecial = true
				continue
			}
			raw := text[f.start:f.end]
			if t.addSpacePrefix && prevSpecial {
				raw = " " + raw
			}
			out = s.encode(escapeSpaces(raw), out)
			prevSpecial = false
		}
	case kindBPE:
		s := bpeSessions.Get().(*bpeSession)
		s.t = t
		defer bpeSessions.Put(s)
		for _, f := range frags {
			if f.id != NoToken {
				out = append(out, f.id)
				continue
			}
			out = s.encode(text[f.start:f.end], out)
		}
	}
	if addSpecial && t.addEOS {
		out = append(out, t.eos)
	}
	return out
}
