package infer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/infer-go/infer/model"
	"github.com/infer-go/infer/sampler"
)

// SessionOptions choose how NewSession sets a session up. The zero value is
// a good default.
type SessionOptions struct {
	// ContextLength is the number of positions the session's KV cache holds;
	// 0 means the Model's (Options.ContextLength).
	ContextLength int
}

// Session is one sequence of tokens evaluated by a Model: a conversation, a
// completion. It owns a KV cache and the activation buffers of its forward
// passes; the weights, the tokenizer and the threads belong to the Model and
// are shared by all its sessions.
//
// A session remembers the tokens its cache holds. Eval and Generate reuse the
// longest common prefix of the new request and those tokens and evaluate only
// the rest, so a chat turn costs its own tokens, not the whole history; an
// edited or regenerated last turn truncates the cache to the common prefix.
//
// Memory: KVCacheBytes (2 x layers x context x kv_heads x head_size x 2 bytes
// for the default F16 cache), plus the activations of the largest batch run
// (at most 512 positions x a few times (embd + ff) float32s), plus one row of
// logits. Sessions of one Model may be used from several goroutines at once
// (their kernels interleave on the Model's threads); one Session is used by
// one goroutine at a time (its methods are serialised).
type Session struct {
	m *Model

	mu    sync.Mutex
	state *model.State // nil once closed
	// tokens are the tokens whose keys and values the cache holds, and
	// after Generate possibly one more: the last token sampled, run (and
	// given a cache position) only when the next request keeps it.
	tokens []int32
	// logits are the next-token logits after tokens; valid when haveLogits.
	logits     []float32
	haveLogits bool
}

// NewSession makes a session with an empty cache.
func (m *Model) NewSession(opts SessionOptions) (*Session, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	defer m.leave()
	st, err := m.lm.NewState(opts.ContextLength)
	if err != nil {
		return nil, fmt.Errorf("infer: session: %w", err)
	}
	return &Session{m: m, state: st, logits: make([]float32, m.cfg.VocabSize)}, nil
}

// Close releases the session's cache. Calls after it return ErrClosed.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state, s.tokens, s.logits = nil, nil, nil
	return nil
}

// ContextLength is the number of positions the session's cache holds.
func (s *Session) ContextLength() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == nil {
		return 0
	}
	return s.state.Len()
}

// KVCacheBytes is the memory of the session's KV cache.
func (s *Session) KVCacheBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == nil {
		return 0
	}
	return s.state.KVCacheBytes()
}

// Tokens returns a copy of the tokens the session's cache holds.
func (s *Session) Tokens() []int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tokens)
}

// Reset empties the cache.
func (s *Session) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.truncate(0)
}

func (s *Session) truncate(n int) {
	if n < len(s.tokens) {
		s.tokens = s.tokens[:n]
		s.haveLogits = false
		if s.state != nil {
			s.state.Truncate(n)
		}
	}
}

// EvalStats describes one Eval: how much of the request the cache already
// held and how long the rest took.
type EvalStats struct {
	Tokens    int // tokens asked for
	Cached    int // of them, reused from the cache
	Evaluated int // of them, run through the model
	Duration  time.Duration
}

// Eval makes the session's cache hold exactly tokens, evaluating only what
// it did not hold already, and leaves the next-token logits ready for
// Logits or Generate. It checks ctx between batches.
func (s *Session) Eval(ctx context.Context, tokens []int32) (EvalStats, error) {
	if err := s.m.enter(); err != nil {
		return EvalStats{}, err
	}
	defer s.m.leave()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.eval(s.m.watch(ctx), tokens)
}

// evalBatch is the most tokens one Forward call gets: llama.cpp's n_ubatch
// (the model splits into the same batches), checked for cancellation between.
const evalBatch = 512

func (s *Session) eval(ctx context.Context, tokens []int32) (es EvalStats, err error) {
	es.Tokens = len(tokens)
	if s.state == nil {
		return es, ErrClosed
	}
	switch {
	case len(tokens) == 0:
		return es, errors.New("infer: nothing to evaluate (an empty prompt, and the model adds no BOS token)")
	case len(tokens) > s.state.Len():
		return es, fmt.Errorf("infer: %w: the prompt is %d tokens, the context %d (shorten the prompt or raise the context length)",
			ErrPromptTooLong, len(tokens), s.state.Len())
	}
	if err := ctx.Err(); err != nil {
		return es, err
	}
	keep := commonPrefix(s.tokens, tokens)
	if keep == len(tokens) && keep == len(s.tokens) && s.haveLogits {
		es.Cached = keep
		return es, nil
	}
	// At least the last token runs again: its logits are needed. A sampled
	// token not yet run is in s.tokens but not in the cache.
	keep = min(keep, len(tokens)-1, s.state.Filled())
	s.truncate(keep)
	es.Cached = keep
	start := time.Now()
	defer func() { es.Duration = time.Since(start) }() // es is a named result
	for lo := keep; lo < len(tokens); lo += evalBatch {
		if err := ctx.Err(); err != nil {
			return es, err
		}
		hi := min(lo+evalBatch, len(tokens))
		if err := s.state.Forward(tokens[lo:hi], lo, false, s.logits); err != nil {
			s.truncate(lo)
			return es, fmt.Errorf("infer: %w", err)
		}
		s.tokens = append(s.tokens, tokens[lo:hi]...)
		es.Evaluated += hi - lo
	}
	s.haveLogits = true
	return es, nil
}

// withState runs f on the session's model state, for computations the
// session does not track (every position's logits, perplexity chunks); the
// cache is empty before f and forgotten after it.
func (s *Session) withState(f func(st *model.State) error) error {
	if err := s.m.enter(); err != nil {
		return err
	}
	defer s.m.leave()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == nil {
		return ErrClosed
	}
	s.truncate(0)
	s.state.Truncate(0)
	defer s.state.Truncate(0)
	return f(s.state)
}

func commonPrefix(a, b []int32) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// Logits returns a copy of the next-token logits after the tokens the cache
// holds, or nil when none are ready (nothing evaluated since the last
// change).
func (s *Session) Logits() []float32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.haveLogits {
		return nil
	}
	return slices.Clone(s.logits)
}

// GenerateOptions choose how Generate continues a prompt. The zero value
// samples greedily (the zero sampler.Params has temperature 0) until the
// context is full or an end-of-generation token; sampler.DefaultParams() are
// llama.cpp's defaults.
type GenerateOptions struct {
	// Sampler is the sampler chain's settings.
	Sampler sampler.Params
	// MaxTokens stops after that many generated tokens; 0 means no limit
	// but the context (llama.cpp's -n -1).
	MaxTokens int
	// Stop strings end generation where they appear in the text, matched
	// across token boundaries; the stop string and what follows are never
	// emitted.
	Stop []string
	// IgnoreEOS keeps generating past end-of-generation tokens (llama.cpp's
	// --ignore-eos); their text is not emitted.
	IgnoreEOS bool
	// NoContextShift stops generation when the context is full instead of
	// dropping the older half of it (llama.cpp's --no-context-shift).
	NoContextShift bool
}

// Token is one generated token and the text it releases: a token's text is
// held back while it may be part of a stop string or of a UTF-8 character,
// so Text may be empty and a later token may release several tokens' text.
type Token struct {
	ID   int32
	Text string
}

// Generate evaluates prompt (reusing the cache's common prefix, like Eval)
// and continues it, calling emit for each generated token. It stops at an
// end-of-generation token of the vocabulary (eos, eot, eom and the chat
// markers flagged as such), after MaxTokens tokens, at a stop string, when
// emit returns false, when the context is full (with NoContextShift), or
// when ctx is cancelled (checked before each token and between prompt
// batches), which makes it return ctx.Err() with the Stats so far. The
// generated tokens stay in the cache (the last one sampled is evaluated
// lazily, by the next request that keeps it).
func (s *Session) Generate(ctx context.Context, prompt []int32, opts GenerateOptions, emit func(Token) bool) (Stats, error) {
	if err := s.m.enter(); err != nil {
		return Stats{}, err
	}
	defer s.m.leave()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.generate(s.m.watch(ctx), prompt, opts, emit)
}

func (s *Session) generate(ctx context.Context, prompt []int32, opts GenerateOptions, emit func(Token) bool) (st Stats, err error) {
	st = Stats{Load: s.m.loadTime, PromptTokens: len(prompt)}
	if err := opts.Sampler.Validate(); err != nil {
		return st, fmt.Errorf("infer: %w", err)
	}
	if opts.MaxTokens < 0 {
		return st, fmt.Errorf("infer: max tokens %d: want 0 (no limit) or more", opts.MaxTokens)
	}
	es, err := s.eval(ctx, prompt)
	st.CachedTokens, st.PromptEval = es.Cached, es.Duration
	if err != nil {
		if ctx.Err() != nil {
			st.Stop = StopCancelled
		}
		return st, err
	}

	tok := s.m.tok
	// The -1 windows (repeat-last-n, dry-penalty-last-n) cover the context;
	// DRY finds its sequence breakers in the tokens' text.
	smp := sampler.NewWithVocab(opts.Sampler.WithContext(s.state.Len()), s.m.cfg.VocabSize,
		func(id int32) string { return string(tok.PieceSpecial(id)) })
	for _, id := range prompt {
		smp.Accept(id)
	}
	dec := tok.NewStreamDecoder()
	text := stopMatcher{stops: opts.Stop}

	start := time.Now()
	defer func() { st.Generation = time.Since(start) }() // st is a named result
	finish := func(reason StopReason) (Stats, error) {
		st.Stop = reason
		if reason != StopEmit && reason != StopString {
			if rest := text.flush(dec.Flush()); rest != "" {
				emit(Token{ID: -1, Text: rest})
			}
		}
		return st, nil
	}
	for {
		if opts.MaxTokens > 0 && st.GeneratedTokens >= opts.MaxTokens {
			return finish(StopMaxTokens)
		}
		if err := ctx.Err(); err != nil {
			st.Stop = StopCancelled
			return st, err
		}
		if !s.haveLogits { // the last sampled token, not yet run
			if len(s.tokens) > s.state.Len() {
				if opts.NoContextShift {
					return finish(StopContextFull)
				}
				if err := s.shift(); err != nil {
					return st, err
				}
			} else if err := s.forwardLast(); err != nil {
				return st, err
			}
		}
		id := smp.Sample(s.logits)
		smp.Accept(id)
		eog := tok.IsEOG(id)
		if eog && !opts.IgnoreEOS {
			return finish(StopEOG)
		}
		st.GeneratedTokens++
		s.tokens = append(s.tokens, id)
		s.haveLogits = false
		var piece string
		if !eog {
			piece = dec.Push(id)
		}
		out, stopped := text.push(piece)
		if !emit(Token{ID: id, Text: out}) {
			st.Stop = StopEmit
			return st, nil
		}
		if stopped {
			st.Stop = StopString
			return st, nil
		}
	}
}

// forwardLast evaluates the last token of s.tokens, whose keys are not in
// the cache yet.
func (s *Session) forwardLast() error {
	pos := len(s.tokens) - 1
	if err := s.state.Forward(s.tokens[pos:], pos, false, s.logits); err != nil {
		return fmt.Errorf("infer: token %d at position %d: %w", s.tokens[pos], pos, err)
	}
	s.haveLogits = true
	return nil
}

// shift makes room in a full context as llama.cpp's context shift does: it
// keeps the BOS token (if the sequence starts with one), drops the older
// half of the rest, and runs the kept tokens again from position 0.
// Recomputing rather than rotating cached keys works for every
// architecture, learned position embeddings (gpt2) included.
func (s *Session) shift() error {
	tok := s.m.tok
	kept := shiftContext(s.tokens, tok.AddBOS() && s.tokens[0] == tok.BOS(), s.state.Len())
	s.tokens = s.tokens[:0]
	s.state.Truncate(0)
	if err := s.state.Forward(kept, 0, false, s.logits); err != nil {
		return fmt.Errorf("infer: context shift: %w", err)
	}
	s.tokens = kept
	s.haveLogits = true
	return nil
}

// shiftContext makes room in a full context of n positions: it keeps the
// first token when keepFirst (the BOS), drops the older half of the rest and
// returns the tokens to run again, in history's storage.
func shiftContext(history []int32, keepFirst bool, n int) []int32 {
	keep := 0
	if keepFirst {
		keep = 1
	}
	tail := (n - keep) / 2
	if tail < 1 {
		tail = 1
	}
	kept := copy(history[keep:], history[len(history)-tail:])
	return history[:keep+kept]
}

// stopMatcher holds generated text back while it may still turn into one of
// the stop strings, and finds them across token boundaries.
type stopMatcher struct {
	stops   []string
	pending string
}

// push adds text and returns what can be released now, and whether a stop
// string was found (the text before it is released, it and what follows are
// dropped).
func (m *stopMatcher) push(text string) (string, bool) {
	if len(m.stops) == 0 {
		return text, false
	}
	m.pending += text
	first := -1
	for _, stop := range m.stops {
		if stop == "" {
			continue
		}
		if i := strings.Index(m.pending, stop); i >= 0 && (first < 0 || i < first) {
			first = i
		}
	}
	if first >= 0 {
		out := m.pending[:first]
		m.pending = ""
		return out, true
	}
	hold := 0 // the longest tail of pending that begins a stop string
	for _, stop := range m.stops {
		for n := min(len(stop)-1, len(m.pending)); n > hold; n-- {
			if strings.HasSuffix(m.pending, stop[:n]) {
				hold = n
				break
			}
		}
	}
	out := m.pending[:len(m.pending)-hold]
	m.pending = m.pending[len(m.pending)-hold:]
	return out, false
}

// flush releases everything held, with the decoder's last text.
func (m *stopMatcher) flush(text string) string {
	out, _ := m.push(text)
	out += m.pending
	m.pending = ""
	return out
}
