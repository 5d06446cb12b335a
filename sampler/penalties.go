package sampler

import (
	"math"
	"strings"
)

// history holds accepted ids: a ring of the last capacity ids, or every id
// when capacity is 0. It records nothing unless on.
type history struct {
	on       bool
	buf      []int32
	capacity int
	next     int // ring position of the next write, once buf is full
}

func (h *history) push(id int32) {
	switch {
	case !h.on:
	case h.capacity == 0 || len(h.buf) < h.capacity:
		h.buf = append(h.buf, id)
	default:
		h.buf[h.next] = id
		h.next = (h.next + 1) % h.capacity
	}
}

func (h *history) len() int { return len(h.buf) }

// at returns the i-th most recent id, 0 the latest.
func (h *history) at(i int) int32 {
	if h.capacity == 0 || len(h.buf) < h.capacity {
		return h.buf[len(h.buf)-1-i]
	}
	j := h.next - 1 - i
	if j < 0 {
		j += h.capacity
	}
	return h.buf[j]
}

func (h *history) clear() { h.buf, h.next = h.buf[:0], 0 }

// window is how many of the latest accepted ids a stage with window lastN
// (-1: all) looks back on.
func (h *history) window(lastN int) int {
	if lastN < 0 {
		return h.len()
	}
	return min(h.len(), lastN)
}

// grow returns b resliced to n, reallocated if it is too small, with room
// to spare: an unbounded window grows by one token per call.
func grow(b []int32, n int) []int32 {
	if cap(b) < n {
		return make([]int32, n, max(n, 2*cap(b), 256))
	}
	return b[:n]
}

// applyPenalties is llama.cpp's penalties sampler: for each distinct token
// among the last RepeatLastN accepted, the repetition penalty once (divide a
// positive logit, multiply a negative one), then the frequency penalty per
// occurrence and the presence penalty once. cands must still be indexed by id.
func (s *Sampler) applyPenalties(cands []candidate) {
	if !s.penalties {
		return
	}
	p := &s.params
	n := s.history.window(p.RepeatLastN)
	if n == 0 {
		return
	}
	if len(s.counts) < len(cands) {
		s.counts = make([]int32, len(cands))
	}
	counts := s.counts
	for i := range n {
		if id := s.history.at(i); int(id) < len(cands) {
			counts[id]++
		}
	}
	repeat := p.repeatPenalty()
	for i := range n {
		id := s.history.at(i)
		if int(id) >= len(cands) || counts[id] == 0 {
			continue
		}
		c := &cands[id]
		if c.logit <= 0 {
			c.logit *= repeat
		} else {
			c.logit /= repeat
		}
		c.logit -= float32(counts[id])*p.FrequencyPenalty + p.PresencePenalty
		counts[id] = 0 // each distinct token once; counts is all zero again after the loop
	}
}

// Limits from llama.cpp's DRY: breakers are cut to 40 bytes, and a breaker
// that spans tokens is followed for at most 20 tokens.
const (
	maxBreakerBytes = 40
	maxTailTokens   = 20
)

// applyDRY is llama.cpp's DRY sampler ("don't repeat yourself", from
// koboldcpp): if the last L tokens also occur earlier in the window,
// followed there by token t, then emitting t would extend that repeat to
// L+1, so t loses DRYMultiplier * DRYBase^(L - DRYAllowedLength) for the
// longest such L >= DRYAllowedLength. A repeat is not followed back past the
// most recent sequence breaker, and tokens that hold a whole breaker are
// never penalised. cands must still be indexed by id.
func (s *Sampler) applyDRY(cands []candidate) {
	if !s.dry {
		return
	}
	p := &s.params
	n := s.history.window(p.DRYPenaltyLastN)
	allowed := p.DRYAllowedLength
	if n <= allowed {
		return
	}
	recent := grow(s.recent, n)
	s.recent = recent
	for i := range recent {
		recent[i] = s.history.at(i)
	}

	// A repeat may reach back only as far as the latest breaker.
	limit := n
	for i := range n {
		if m := s.breakers.longestMatch(recent, i); m >= 0 {
			limit = i - m
			break
		}
	}
	if limit < allowed {
		return
	}

	// z[k] is how many of the latest tokens also end k tokens back: then
	// recent[k-1], the token that followed them there, would extend the repeat.
	z := zFunction(recent, s.z)
	s.z = z
	if len(s.repeats) < len(cands) {
		s.repeats = make([]int32, len(cands))
	}
	touched := s.touched[:0]
	for k := 1; k < n; k++ {
		length := min(int(z[k]), limit)
		id := recent[k-1]
		if length < allowed || int(id) >= len(cands) || s.breakers.whole(id) {
			continue
		}
		if s.repeats[id] == 0 {
			touched = append(touched, id)
		}
		s.repeats[id] = max(s.repeats[id], int32(length+1))
	}
	s.touched = touched

	// Keep base^exponent finite, as llama.cpp does.
	maxExponent := 0
	if p.DRYBase > 1.000001 {
		maxExponent = int(88.7228391 / logf(p.DRYBase))
	}
	for _, id := range touched {
		exponent := int(s.repeats[id]) - 1 - allowed
		if maxExponent > 0 && exponent > maxExponent {
			exponent = maxExponent
		}
		cands[id].logit -= float32(float64(p.DRYMultiplier) * math.Pow(float64(p.DRYBase), float64(exponent)))
		s.repeats[id] = 0
	}
}

// zFunction returns z (reusing buf) with z[k] the length of the longest
// common prefix of x and x[k:] (z[0] = len(x)), in O(len(x)).
func zFunction(x []int32, buf []int32) []int32 {
	n := len(x)
	z := grow(buf, n)
	if n == 0 {
		return z
	}
	z[0] = int32(n)
	l, r := 0, 0 // x[l:r] matches a prefix of x, with r the furthest reached
	for k := 1; k < n; k++ {
		m := 0
		if k < r {
			m = min(r-k, int(z[k-l]))
		}
		for k+m < n && x[m] == x[k+m] {
			m++
		}
		z[k] = int32(m)
		if k+m > r {
			l, r = k, k+m
		}
	}
	return z
}

// breakers maps DRY's sequence breakers onto token ids, from the token
// texts. llama.cpp tokenizes the rest of a breaker that a token only starts
// and matches those exact tokens; without a tokenizer this matches the
// following tokens' text instead, which accepts any tokenization of it.
type breakers struct {
	holds []bool             // per id: the token's text contains a whole breaker
	tails map[int32][]string // per id: text that must follow to complete a breaker the token's text ends with the start of
	piece func(id int32) string
}

func newBreakers(list []string, nVocab int, piece func(id int32) string) breakers {
	var strs []string
	for _, s := range list {
		if s == "" {
			continue
		}
		if len(s) > maxBreakerBytes {
			s = s[:maxBreakerBytes]
		}
		strs = append(strs, s)
	}
	if len(strs) == 0 || nVocab <= 0 {
		return breakers{}
	}
	b := breakers{holds: make([]bool, nVocab), piece: piece}
	for id := range int32(nVocab) {
		w := piece(id)
		for _, s := range strs {
			if strings.Contains(w, s) {
				b.holds[id] = true
				continue
			}
			// Every suffix of w that is a proper prefix of s.
			for pos := strings.IndexByte(w, s[0]); pos >= 0; {
				if strings.HasPrefix(s, w[pos:]) {
					b.addTail(id, s[len(w)-pos:])
				}
				next := strings.IndexByte(w[pos+1:], s[0])
				if next < 0 {
					break
				}
				pos += 1 + next
			}
		}
	}
	return b
}

func (b *breakers) addTail(id int32, tail string) {
	for _, t := range b.tails[id] {
		if t == tail {
			return
		}
	}
	if b.tails == nil {
		b.tails = map[int32][]string{}
	}
	b.tails[id] = append(b.tails[id], tail)
}

// whole says whether token id's text contains a whole breaker.
func (b *breakers) whole(id int32) bool { return int(id) < len(b.holds) && b.holds[id] }

// longestMatch returns how many tokens after recent[i] (that is, recent[i-1],
// recent[i-2], ...) complete the longest breaker that starts in recent[i]: 0
// for a breaker inside recent[i] itself, -1 for none.
func (b *breakers) longestMatch(recent []int32, i int) int {
	id := recent[i]
	m := -1
	if b.whole(id) {
		m = 0
	}
	for _, tail := range b.tails[id] {
		if c := b.matchTail(recent, i, tail); c > m {
			m = c
		}
	}
	return m
}

// matchTail returns how many tokens after recent[i] it takes for their text
// to begin with tail, or -1 if it does not.
func (b *breakers) matchTail(recent []int32, i int, tail string) int {
	for c := 1; c <= maxTailTokens && i-c >= 0; c++ {
		id := recent[i-c]
		if int(id) >= len(b.holds) {
			return -1
		}
		t := b.piece(id)
		if len(t) >= len(tail) {
			if strings.HasPrefix(t, tail) {
				return c
			}
			return -1
		}
		if !strings.HasPrefix(tail, t) {
			return -1
		}
		tail = tail[len(t):]
	}
	return -1
}
