package tokenizer

// symbol is a run of bytes [start, start+n) of the text being merged, in a
// doubly linked list of the symbols still alive (n == 0 once merged away).
type symbol struct {
	start, n   int
	prev, next int
}

// splitSymbols cuts text into one symbol per UTF-8 sequence, using only the
// lead byte's announced length as llama.cpp does (so invalid bytes become
// symbols of their own, or swallow what follows them).
func splitSymbols(text string, syms []symbol) []symbol {
	syms = syms[:0]
	for off := 0; off < len(text); {
		n := min(utf8SeqLen(text[off]), len(text)-off)
		next := len(syms) + 1
		if off+n == len(text) {
			next = -1
		}
		syms = append(syms, symbol{start: off, n: n, prev: len(syms) - 1, next: next})
		off += n
	}
	return syms
}

// bpeBigram is a candidate merge of symbols left and right.
type bpeBigram struct {
	left, right int
	rank        int32
	size        int
}

// bpeBefore orders the merge queue as a min-heap on (rank, left): the
// lowest-ranked merge first and, among equal ranks, the leftmost —
// llama.cpp's comparator.
func bpeBefore(a, b bpeBigram) bool {
	return a.rank < b.rank || (a.rank == b.rank && a.left < b.left)
}

// bpeRank returns the rank of merging a and b, or -1.
func (t *Tokenizer) bpeRank(a, b string) int32 {
	ia, ok := t.mergeSide[a]
	if !ok {
		return -1
	}
	ib, ok := t.mergeSide[b]
	if !ok {
		return -1
	}
	r, ok := t.ranks[uint64(ia)<<32|uint64(ib)]
	if !ok {
		return -1
	}
	return r
}

// bpeSession holds the scratch space of one Encode call.
type bpeSession struct {
	t     *Tokenizer
	syms  []symbol
	queue heap[bpeBigram]
}

func (s *bpeSession) addBigram(word string, left, right int) {
	if left < 0 || right < 0 {
		return
	}
	l, r := s.syms[left], s.syms[right]
	rank := s.t.bpeRank(word[l.start:l.start+l.n], word[r.start:r.start+r.n])
	if rank < 0 {
		return
	}
	s.queue.push(bpeBigram{left: left, right: right, rank: rank, size: l.n + r.n})
}

// encodeWord merges one pre-tokenized word (llm_tokenizer_bpe_session).
func (s *bpeSession) encodeWord(word string, out []int32) []int32 {
	t := s.t
	if t.ignoreMerges {
		if id, ok := t.ids[word]; ok {
			return append(out, id)
		}
	}
	s.syms = splitSymbols(word, s.syms)
	s.queue.reset(bpeBefore)
	for i := 1; i < len(s.syms); i++ {
		s.addBigram(word, i-1, i)
	}
	for s.queue.len() > 0 {
		b := s.queue.pop()
		left, right := &s.syms[b.left], &s.syms[b.right]
		// Symbols only grow rightwards and are contiguous, so an entry
		// whose sides are alive and whose total size is unchanged still
		// spells the text it was queued for.
		if left.n == 0 || right.n == 0 || left.n+right.n != b.size {
			continue
		}
		left.n += right.n
		right.n = 0
		left.next = right.next
		if right.next >= 0 {
			s.syms[right.next].prev = b.left
		}
		s.addBigram(word, left.prev, b.left)
		s.addBigram(word, b.left, left.next)
	}
	for i := 0; i != -1 && len(s.syms) > 0; i = s.syms[i].next {
		sym := s.syms[i]
		if sym.n == 0 {
			continue
		}
		text := word[sym.start : sym.start+sym.n]
		if id, ok := t.ids[text]; ok {
			out = append(out, id)
			continue
		}
		// Not a token: llama.cpp looks each byte up as a one-byte token
		// and drops those that are not.
		for j := 0; j < len(text); j++ {
			if id, ok := t.ids[text[j:j+1]]; ok {
				out = append(out, id)
			}
		}
	}
	return out
}

// encodeBPE tokenizes one fragment of raw text.
func (s *bpeSession) encode(text string, out []int32) []int32 {
	for _, w := range s.t.split.words(text) {
		out = s.encodeWord(w, out)
	}
	return out
}
