package infer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/infer-go/infer/sampler"
)

// StopReason says why a generation ended.
type StopReason string

const (
	StopEOG         StopReason = "end of generation" // the model produced an end-of-generation token
	StopMaxTokens   StopReason = "token limit"       // maxTokens tokens were generated
	StopEmit        StopReason = "stopped by caller" // emit returned false
	StopContextFull StopReason = "context full"      // the KV cache has no room for another token (Options.NoContextShift)
	StopCancelled   StopReason = "cancelled"         // the context was cancelled (Generate returns ctx.Err())
)

// Stats describes one generation.
type Stats struct {
	PromptTokens    int
	GeneratedTokens int // tokens sampled and passed to emit (an end-of-generation token is not counted)
	Load            time.Duration
	PromptEval      time.Duration // the prompt's forward pass
	Generation      time.Duration // sampling and forward passes of the generated tokens
	Stop            StopReason
}

// ErrPromptTooLong is wrapped by Generate's error when the prompt does not
// fit in the context.
var ErrPromptTooLong = errors.New("prompt does not fit in the context")

// Generate continues prompt, calling emit with each piece of text as it is
// generated; a piece never splits a UTF-8 character. The prompt is tokenized
// the way llama.cpp's CLI does (the model's BOS rule, special tokens parsed).
// It stops at an end-of-generation token, after maxTokens tokens (< 0: no
// limit but the context), when emit returns false, when the context is full,
// or when ctx is cancelled, which is checked before each token and makes
// Generate return ctx.Err() with the Stats so far.
func (m *Model) Generate(ctx context.Context, prompt string, p sampler.Params, maxTokens int, emit func(piece string) bool) (Stats, error) {
	ids := m.Tokenize(prompt, true, true)
	dec := m.tok.NewStreamDecoder()
	open := true
	st, err := m.GenerateTokens(ctx, ids, p, maxTokens, func(id int32) bool {
		if piece := dec.Push(id); piece != "" {
			open = emit(piece)
		}
		return open
	})
	if open && err == nil {
		if rest := dec.Flush(); rest != "" {
			emit(rest)
		}
	}
	return st, err
}

// GenerateTokens is Generate on token ids: prompt is used as it is and emit
// receives each generated id.
func (m *Model) GenerateTokens(ctx context.Context, prompt []int32, p sampler.Params, maxTokens int, emit func(id int32) bool) (st Stats, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st = Stats{Load: m.loadTime, PromptTokens: len(prompt)}
	if m.closed {
		return st, ErrClosed
	}
	cfg := m.cfg
	switch {
	case len(prompt) == 0:
		return st, errors.New("infer: empty prompt (the model adds no BOS token)")
	case len(prompt) > cfg.ContextLength:
		return st, fmt.Errorf("infer: %w: the prompt is %d tokens, the context %d (shorten the prompt or raise the context length)",
			ErrPromptTooLong, len(prompt), cfg.ContextLength)
	}
	if err := ctx.Err(); err != nil {
		st.Stop = StopCancelled
		return st, err
	}
	if p.RepeatLastN < 0 { // llama.cpp's -1: the whole context
		p.RepeatLastN = cfg.ContextLength
	}
	smp := sampler.New(p)
	for _, id := range prompt {
		smp.Accept(id)
	}
	if cap(m.logits) < cfg.VocabSize {
		m.logits = make([]float32, cfg.VocabSize)
	}
	logits := m.logits[:cfg.VocabSize]

	start := time.Now()
	if err := m.lm.Forward(prompt, 0, false, logits); err != nil {
		return st, fmt.Errorf("infer: prompt: %w", err)
	}
	st.PromptEval = time.Since(start)

	start = time.Now()
	defer func() { st.Generation = time.Since(start) }() // st is a named result
	// history is every token in the cache, then the one being added: what a
	// context shift keeps from.
	history := append(make([]int32, 0, cfg.ContextLength+1), prompt...)
	pos := len(prompt)
	next := []int32{0}
	for {
		if maxTokens >= 0 && st.GeneratedTokens >= maxTokens {
			st.Stop = StopMaxTokens
			return st, nil
		}
		if err := ctx.Err(); err != nil {
			st.Stop = StopCancelled
			return st, err
		}
		id := smp.Sample(logits)
		smp.Accept(id)
		if m.tok.IsEOG(id) {
			st.Stop = StopEOG
			return st, nil
		}
		st.GeneratedTokens++
		if !emit(id) {
			st.Stop = StopEmit
			return st, nil
		}
		if maxTokens >= 0 && st.GeneratedTokens >= maxTokens {
			// Skip the forward pass whose logits nobody would sample.
			st.Stop = StopMaxTokens
			return st, nil
		}
		history = append(history, id)
		if pos >= cfg.ContextLength {
			if m.noShift {
				st.Stop = StopContextFull
				return st, nil
			}
			history = shiftContext(history, m.tok.AddBOS() && history[0] == m.tok.BOS(), cfg.ContextLength)
			if err := m.lm.Forward(history, 0, false, logits); err != nil {
				return st, fmt.Errorf("infer: context shift: %w", err)
			}
			pos = len(history)
			continue
		}
		next[0] = id
		if err := m.lm.Forward(next, pos, false, logits); err != nil {
			return st, fmt.Errorf("infer: token %d at position %d: %w", id, pos, err)
		}
		pos++
	}
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

// Logits runs tokens from position 0 as one batch and returns the logits of
// every position: len(tokens) rows of Config().VocabSize floats.
func (m *Model) Logits(tokens []int32) ([]float32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	cfg := m.cfg
	if len(tokens) == 0 {
		return nil, errors.New("infer: logits: no tokens")
	}
	if len(tokens) > cfg.ContextLength {
		return nil, fmt.Errorf("infer: logits: %w: %d tokens, context %d", ErrPromptTooLong, len(tokens), cfg.ContextLength)
	}
	for i, t := range tokens {
		if t < 0 || int(t) >= cfg.VocabSize {
			return nil, fmt.Errorf("infer: logits: token %d (index %d) out of range [0, %d)", t, i, cfg.VocabSize)
		}
	}
	out := make([]float32, len(tokens)*cfg.VocabSize)
	if err := m.lm.Forward(tokens, 0, true, out); err != nil {
		return nil, fmt.Errorf("infer: logits: %w", err)
	}
	return out, nil
}
