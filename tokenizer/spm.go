package tokenizer

import "strings"

// spmBigram is a candidate merge of symbols left and right whose joined
// text is the token with the given score.
type spmBigram struct {
	left, right int
	score       float32
	size        int
}

// spmBefore orders the merge queue as a max-heap on (score, -left): the
// highest-scoring merge first and, among equal scores, the leftmost —
// llama.cpp's llm_bigram_spm comparator.
func spmBefore(a, b spmBigram) bool {
	return a.score > b.score || (a.score == b.score && a.left < b.left)
}

// spmSession holds the scratch space of one Encode call.
type spmSession struct {
	t     *Tokenizer
	syms  []symbol
	queue heap[spmBigram]
}

func (s *spmSession) addBigram(text string, left, right int) {
	if left < 0 || right < 0 {
		return
	}
	l, r := s.syms[left], s.syms[right]
	id, ok := s.t.ids[text[l.start:l.start+l.n+r.n]]
	if !ok {
		return
	}
	s.queue.push(spmBigram{left: left, right: right, score: s.t.scores[id], size: l.n + r.n})
}

// encode tokenizes one fragment of text whose spaces are already "▁"
// (llm_tokenizer_spm_session): merge the best-scoring adjacent pair that
// forms a token until none does, then emit each symbol as its token or,
// failing that, as byte-fallback tokens.
//
// llama.cpp also keeps a reverse map of merges to re-split a symbol that
// is not a token, but every merged symbol is a token by construction, so
// only unmerged single characters ever fall back, and they fall back to
// bytes.
func (s *spmSession) encode(text string, out []int32) []int32 {
	t := s.t
	s.syms = splitSymbols(text, s.syms)
	s.queue.reset(spmBefore)
	for i := 1; i < len(s.syms); i++ {
		s.addBigram(text, i-1, i)
	}
	for s.queue.len() > 0 {
		b := s.queue.pop()
		left, right := &s.syms[b.left], &s.syms[b.right]
		if left.n == 0 || right.n == 0 || left.n+right.n != b.size {
			continue // one side was merged into something else meanwhile
		}
		left.n += right.n
		right.n = 0
		left.next = right.next
		if right.next >= 0 {
			s.syms[right.next].prev = b.left
		}
		s.addBigram(text, left.prev, b.left)
		s.addBigram(text, b.left, left.next)
	}
	for i := 0; i != -1 && len(s.syms) > 0; i = s.syms[i].next {
		sym := s.syms[i]
		piece := text[sym.start : sym.start+sym.n]
		if id, ok := t.ids[piece]; ok {
			out = append(out, id)
			continue
		}
		for j := 0; j < len(piece); j++ {
			// llama.cpp aborts on a byte with no token; the unknown token
			// is the closest thing that does not crash.
			if id := t.byteTokens[piece[j]]; id != NoToken {
				out = append(out, id)
			} else if t.unk != NoToken {
				out = append(out, t.unk)
			}
		}
	}
	return out
}

// escapeSpaces is llama.cpp's llama_escape_whitespace: SentencePiece marks
// spaces with U+2581 "▁".
func escapeSpaces(s string) string {
	return strings.ReplaceAll(s, " ", "\u2581")
}
