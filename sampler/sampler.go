package sampler

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// candidate is one token still in the running during a Sample call.
type candidate struct {
	id    int32
	logit float32
	p     float32 // scratch: a probability or unnormalised exp(logit - max)
	score float32 // scratch: typical-p's distance from the entropy
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

// Seeds of the two generators: draws, and XTC's coin (a separate stream, as
// llama.cpp's XTC has its own generator, so switching XTC on does not shift
// the draws' stream).
const (
	drawStream = 0x9e3779b97f4a7c15
	xtcStream  = 0x5851f42d4c957f2d
)

// Sampler turns logits into token ids. It keeps the accepted tokens (for
// the penalties and DRY), Mirostat's state and the random generators, so use
// one Sampler per generated sequence. It is not safe for concurrent use.
type Sampler struct {
	params Params
	rng    *rand.Rand
	pcg    *rand.PCG
	xtcRng *rand.Rand
	xtcPCG *rand.PCG

	// mu is Mirostat's running surprise bound, 2*tau after New or Reset.
	mu float32

	// Each stage's switch, fixed at New.
	penalties, dry, xtc, greedy bool

	// history holds the accepted ids the penalties and DRY look back on.
	history history
	// breakers are DRY's sequence breakers mapped to token ids.
	breakers breakers

	// Scratch reused across calls so that sampling a token does not allocate
	// once the buffers have grown to the vocabulary size.
	cands   []candidate
	counts  []int32 // per id: occurrences in the penalty window, 0 between calls
	repeats []int32 // per id: 1 + DRY's longest repeat the id extends, 0 between calls
	touched []int32 // ids with repeats set
	recent  []int32 // DRY's window, most recent first
	z       []int32 // Z-function of recent
}

// New returns a Sampler for p. DRY's sequence breakers need the token
// texts: without them (New rather than NewWithVocab) DRY runs with none.
// New does not validate p (see Validate); values out of range act as
// llama.cpp would act on them where that is defined, and switch the stage
// off where it is not (a repetition penalty <= 0, a window below -1).
func New(p Params) *Sampler {
	p.LogitBias = slices.Clone(p.LogitBias)
	p.DRYSequenceBreakers = slices.Clone(p.DRYSequenceBreakers)
	s := &Sampler{params: p}
	s.pcg = rand.NewPCG(p.Seed, p.Seed^drawStream)
	s.rng = rand.New(s.pcg)
	s.xtcPCG = rand.NewPCG(p.Seed^xtcStream, p.Seed)
	s.xtcRng = rand.New(s.xtcPCG)
	s.mu = 2 * p.MirostatTau
	s.penalties = p.penaltiesOn()
	s.dry = p.dryOn()
	s.xtc = p.Mirostat == 0 && p.xtcOn()
	s.greedy = p.greedy()

	// One history serves both windows: the longer one, or every token if
	// either is -1.
	capacity, unbounded := 0, false
	if s.penalties {
		capacity = max(capacity, p.RepeatLastN)
		unbounded = unbounded || p.RepeatLastN < 0
	}
	if s.dry {
		capacity = max(capacity, p.DRYPenaltyLastN)
		unbounded = unbounded || p.DRYPenaltyLastN < 0
	}
	switch {
	case unbounded:
		s.history = history{on: true}
	case capacity > 0:
		s.history = history{on: true, buf: make([]int32, 0, capacity), capacity: capacity}
	}
	return s
}

// NewWithVocab is New for a vocabulary of nVocab tokens whose texts piece
// returns (a token's text decoded on its own, special tokens rendered), so
// that DRY knows which tokens hold its sequence breakers. piece is called
// for every token here, and during sampling only for the tokens that may
// start a breaker spanning several tokens.
func NewWithVocab(p Params, nVocab int, piece func(id int32) string) *Sampler {
	s := New(p)
	if s.dry && piece != nil {
		s.breakers = newBreakers(s.params.DRYSequenceBreakers, nVocab, piece)
	}
	return s
}

// Params returns the parameters the Sampler was made with.
func (s *Sampler) Params() Params {
	p := s.params
	p.LogitBias = slices.Clone(p.LogitBias)
	p.DRYSequenceBreakers = slices.Clone(p.DRYSequenceBreakers)
	return p
}

// String describes the Sampler's chain, as Params.Chain does.
func (s *Sampler) String() string { return s.params.Chain() }

// Reset forgets the accepted tokens, restarts Mirostat and reseeds the
// generators, so the Sampler behaves as if just made.
func (s *Sampler) Reset() {
	p := &s.params
	s.pcg.Seed(p.Seed, p.Seed^drawStream)
	s.xtcPCG.Seed(p.Seed^xtcStream, p.Seed)
	s.mu = 2 * p.MirostatTau
	s.history.clear()
}

// Accept records id as generated (or as part of the prompt) for the
// penalties and DRY. Negative ids are ignored.
func (s *Sampler) Accept(id int32) {
	if id >= 0 {
		s.history.push(id)
	}
}

// Sample picks the next token from logits (one row, indexed by token id).
// It returns -1 only when logits is empty. It does not modify logits.
func (s *Sampler) Sample(logits []float32) int32 {
	if len(logits) == 0 {
		return -1
	}
	p := &s.params
	if s.greedy && len(p.LogitBias) == 0 && !s.historyMatters() {
		// Nothing before the temperature can move the argmax: skip the copy.
		s.mirostatUpdate(1)
		return argmax(logits)
	}

	cands := s.load(logits)
	s.applyLogitBias(cands)
	if p.Mirostat != 0 {
		return s.mirostat(cands)
	}
	s.applyPenalties(cands)
	s.applyDRY(cands)
	if s.greedy {
		// Greedy after the bias and the penalties, as llama.cpp's temp <= 0
		// documents: the truncation filters are skipped (top-k, top-p and
		// min-p always keep the best token anyway; typical and XTC, which
		// llama.cpp c392e509 would still run before its temperature stage,
		// are skipped too, so that the zero Params is plain greedy).
		return cands[best(cands)].id
	}

	sorted := false
	if p.TopK > 0 && p.TopK < len(cands) {
		selectTop(cands, p.TopK)
		cands = cands[:p.TopK]
		sorted = true
	}
	if p.TypicalP < 1 {
		cands = typical(cands, p.TypicalP)
		sorted = false
	}
	if p.TopP < 1 {
		cands = topP(cands, p.TopP, sorted)
		sorted = true
	}
	if p.MinP > 0 {
		cands = minP(cands, p.MinP, sorted)
	}
	if s.xtc {
		cands = s.applyXTC(cands, sorted)
	}
	t := p.Temp
	if p.dynatempOn() {
		t = dynamicTemp(cands, p.Temp, p.DynatempRange, p.DynatempExponent)
	}
	if t <= 0 {
		return cands[best(cands)].id
	}
	if t != 1 {
		for i := range cands {
			cands[i].logit /= t
		}
	}
	i, _ := s.draw(cands)
	return cands[i].id
}

// historyMatters says whether the penalties or DRY would change a logit now.
func (s *Sampler) historyMatters() bool {
	n := s.history.len()
	return s.penalties && n > 0 || s.dry && n > s.params.DRYAllowedLength
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

// applyLogitBias adds the biases; cands must still be indexed by id. Ids
// outside the vocabulary are ignored, as in llama.cpp.
func (s *Sampler) applyLogitBias(cands []candidate) {
	for _, lb := range s.params.LogitBias {
		if lb.Token >= 0 && int(lb.Token) < len(cands) {
			cands[lb.Token].logit += lb.Bias
		}
	}
}

// draw samples from the softmax of cands' logits and returns the index it
// drew and that token's probability. It leaves exp(logit - max) in .p.
func (s *Sampler) draw(cands []candidate) (int, float64) {
	maxL := float32(math.Inf(-1))
	top := 0
	for i, c := range cands {
		if better(c, cands[top]) {
			top = i
		}
		maxL = max(maxL, c.logit)
	}
	if len(cands) == 1 || math.IsInf(float64(maxL), -1) {
		return top, 1
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
	for i, c := range cands {
		run += float64(c.p)
		if run > target {
			return i, float64(c.p) / sum
		}
	}
	return top, float64(cands[top].p) / sum
}

// best returns the index of the best candidate: the highest logit, the
// lowest id on ties.
func best(cands []candidate) int {
	b := 0
	for i := 1; i < len(cands); i++ {
		if better(cands[i], cands[b]) {
			b = i
		}
	}
	return b
}

// argmax returns the index of the largest logit, the lowest on ties.
func argmax(logits []float32) int32 {
	b := 0
	for i := 1; i < len(logits); i++ {
		if logits[i] > logits[b] {
			b = i
		}
	}
	return int32(b)
}

// Chain describes the sampler chain p makes, in llama.cpp's names, listing
// only the stages that can change the outcome: for DefaultParams
// "logits -> top-k -> top-p -> min-p -> temp -> dist", for the zero Params
// "logits -> greedy" (a greedy chain skips the truncation filters).
func (p Params) Chain() string {
	stages := []string{"logits"}
	add := func(on bool, name string) {
		if on {
			stages = append(stages, name)
		}
	}
	add(len(p.LogitBias) > 0, "logit-bias")
	if p.Mirostat != 0 {
		if p.Temp <= 0 {
			add(true, "greedy")
		} else {
			add(true, "temp")
			add(p.Mirostat == 1, "mirostat")
			add(p.Mirostat != 1, "mirostat-v2")
		}
		return strings.Join(stages, " -> ")
	}
	add(p.penaltiesOn(), "penalties")
	add(p.dryOn(), "dry")
	if p.greedy() {
		add(true, "greedy")
		return strings.Join(stages, " -> ")
	}
	add(p.TopK > 0, "top-k")
	add(p.TypicalP < 1, "typical")
	add(p.TopP < 1, "top-p")
	add(p.MinP > 0, "min-p")
	add(p.xtcOn(), "xtc")
	switch {
	case p.dynatempOn():
		add(true, "temp-ext")
		add(true, "dist")
	default:
		add(p.Temp != 1, "temp")
		add(true, "dist")
	}
	return strings.Join(stages, " -> ")
}
