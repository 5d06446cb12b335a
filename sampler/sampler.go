package sampler

import (
	"math"
	"math/rand/v2"
	"slices"
)

// candidate is one token still in the running during a Sample call.
type candidate struct {
	id    int32
	logit float32
	p     float32
}

// better orders candidates by descending logit, the lower id first on ties,
// so every sort and selection below is a deterministic total order.
func better(a, b candidate) bool {
	return a.logit > b.logit || (a.logit == b.logit && a.id < b.id)
}

func compareCandidates(a, b candidate) int {
	switch {
	case better(a, b):
		return -1
	case better(b, a):
		return 1
	}
	return 0
}

// Sampler turns logits into token ids. It keeps the penalty window and the
// random generator, so use one Sampler per generated sequence. It is not safe
// for concurrent use.
type Sampler struct {
	params Params
	rng    *rand.Rand
	pcg    *rand.PCG

	// history is a ring of the last RepeatLastN accepted ids.
	history []int32
	next    int // ring position of the next write
	filled  int // number of valid entries

	// Scratch reused across calls so that sampling a token does not allocate
	// once the buffers have grown to the vocabulary size.
	cands  []candidate
	unique []int32
}

// New returns a Sampler for p.
func New(p Params) *Sampler {
	s := &Sampler{params: p}
	s.pcg = rand.NewPCG(p.Seed, p.Seed^0x9e3779b97f4a7c15)
	s.rng = rand.New(s.pcg)
	if p.penaltyOn() {
		s.history = make([]int32, p.RepeatLastN)
		s.unique = make([]int32, 0, p.RepeatLastN)
	}
	return s
}

// Params returns the parameters the Sampler was made with.
func (s *Sampler) Params() Params { return s.params }

// Reset forgets the accepted tokens and reseeds the generator, so the
// Sampler behaves as if just made by New.
func (s *Sampler) Reset() {
	s.pcg.Seed(s.params.Seed, s.params.Seed^0x9e3779b97f4a7c15)
	s.next, s.filled = 0, 0
}

// Accept records id as generated (or as part of the prompt) for the
// repetition penalty window.
func (s *Sampler) Accept(id int32) {
	if len(s.history) == 0 {
		return
	}
	s.history[s.next] = id
	s.next = (s.next + 1) % len(s.history)
	if s.filled < len(s.history) {
		s.filled++
	}
}

// Sample picks the next token from logits (one row, indexed by token id).
// It returns -1 only when logits is empty. It does not modify logits.
func (s *Sampler) Sample(logits []float32) int32 {
	if len(logits) == 0 {
		return -1
	}
	p := s.params
	if p.Temp <= 0 && (!p.penaltyOn() || s.filled == 0) {
		return argmax(logits)
	}

	cands := s.load(logits)
	s.applyPenalty(cands)
	if p.Temp <= 0 {
		// The penalty is the only filter that can change the argmax.
		best := 0
		for i := 1; i < len(cands); i++ {
			if cands[i].logit > cands[best].logit {
				best = i
			}
		}
		return cands[best].id
	}

	sorted := false
	if p.TopK > 0 && p.TopK < len(cands) {
		selectTop(cands, p.TopK)
		cands = cands[:p.TopK]
		sorted = true
	}
	if p.TopP > 0 && p.TopP < 1 {
		cands = topP(cands, p.TopP, sorted)
		sorted = true
	}
	if p.MinP > 0 {
		cands = minP(cands, p.MinP, sorted)
	}
	if p.Temp != 1 {
		for i := range cands {
			cands[i].logit /= p.Temp
		}
	}
	return s.draw(cands)
}

// load copies logits into the scratch candidate list, indexed by id.
func (s *Sampler) load(logits []float32) []candidate {
	if cap(s.cands) < len(logits) {
		s.cands = make([]candidate, len(logits))
	}
	cands := s.cands[:len(logits)]
	for i, l := range logits {
		cands[i] = candidate{id: int32(i), logit: l}
	}
	return cands
}

// applyPenalty applies the repetition penalty once per distinct token in the
// window, as llama.cpp does. cands must still be indexed by id.
func (s *Sampler) applyPenalty(cands []candidate) {
	if !s.params.penaltyOn() || s.filled == 0 {
		return
	}
	u := append(s.unique[:0], s.history[:s.filled]...)
	slices.Sort(u)
	u = slices.Compact(u)
	pen := s.params.RepeatPenalty
	for _, id := range u {
		if id < 0 || int(id) >= len(cands) {
			continue
		}
		if c := &cands[id]; c.logit <= 0 {
			c.logit *= pen
		} else {
			c.logit /= pen
		}
	}
	s.unique = u[:0]
}

// draw samples from the softmax of cands' logits.
func (s *Sampler) draw(cands []candidate) int32 {
	maxL := float32(math.Inf(-1))
	best := 0
	for i, c := range cands {
		if better(c, cands[best]) {
			best = i
		}
		maxL = max(maxL, c.logit)
	}
	if len(cands) == 1 || math.IsInf(float64(maxL), -1) {
		return cands[best].id
	}
	var sum float64
	for i := range cands {
		e := float32(math.Exp(float64(cands[i].logit - maxL)))
		cands[i].p = e
		sum += float64(e)
	}
	// target < sum, and run reaches exactly sum at the end (same order of
	// additions), so the strict comparison always selects a token with p > 0.
	target := sum * s.rng.Float64()
	var run float64
	for _, c := range cands {
		run += float64(c.p)
		if run > target {
			return c.id
		}
	}
	return cands[best].id
}

// argmax returns the index of the largest logit, the lowest on ties.
func argmax(logits []float32) int32 {
	best := 0
	for i := 1; i < len(logits); i++ {
		if logits[i] > logits[best] {
			best = i
		}
	}
	return int32(best)
}
