package infer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/infer-go/infer/model"
)

// StopReason says why a generation ended.
type StopReason string

const (
	StopEOG         StopReason = "end of generation" // the model produced an end-of-generation token
	StopMaxTokens   StopReason = "token limit"       // MaxTokens tokens were generated
	StopString      StopReason = "stop string"       // the text reached one of the stop strings
	StopEmit        StopReason = "stopped by caller" // emit returned false
	StopContextFull StopReason = "context full"      // the KV cache has no room for another token (NoContextShift)
	StopCancelled   StopReason = "cancelled"         // the context was cancelled or the Model closed (Generate returns the error)
)

// Stats describes one generation.
type Stats struct {
	PromptTokens    int // tokens of the prompt
	CachedTokens    int // of them, reused from the session's cache rather than evaluated
	GeneratedTokens int // tokens sampled and passed to emit (an end-of-generation token is not counted)
	Load            time.Duration
	PromptEval      time.Duration // the forward passes of the prompt tokens not cached
	Generation      time.Duration // sampling and forward passes of the generated tokens
	Stop            StopReason
}

// EvaluatedPromptTokens is the number of prompt tokens run through the model.
func (st Stats) EvaluatedPromptTokens() int { return st.PromptTokens - st.CachedTokens }

// ErrPromptTooLong is wrapped by the error of Eval and Generate when the
// prompt does not fit in the context.
var ErrPromptTooLong = errors.New("prompt does not fit in the context")

// Generate continues prompt on the Model's one-shot session, calling emit
// with each piece of text as it is generated; a piece never splits a UTF-8
// character and never holds a stop string. The prompt is tokenized the way
// llama.cpp's CLI does (the model's BOS rule, special tokens parsed). See
// Session.Generate for when it stops; emit returning false stops it too.
func (m *Model) Generate(ctx context.Context, prompt string, opts GenerateOptions, emit func(piece string) bool) (Stats, error) {
	ids := m.Tokenize(prompt, true, true)
	return m.GenerateTokens(ctx, ids, opts, func(t Token) bool {
		if t.Text == "" {
			return true
		}
		return emit(t.Text)
	})
}

// GenerateTokens is Generate on token ids: prompt is used as it is.
func (m *Model) GenerateTokens(ctx context.Context, prompt []int32, opts GenerateOptions, emit func(Token) bool) (Stats, error) {
	s, unlock, err := m.useOneShot()
	if err != nil {
		return Stats{}, err
	}
	defer unlock()
	return s.Generate(ctx, prompt, opts, emit)
}

// useOneShot locks the Model's one-shot session, making it on first use.
func (m *Model) useOneShot() (*Session, func(), error) {
	m.oneShotMu.Lock()
	if m.oneShot == nil {
		s, err := m.NewSession(SessionOptions{})
		if err != nil {
			m.oneShotMu.Unlock()
			return nil, nil, err
		}
		m.oneShot = s
	}
	return m.oneShot, m.oneShotMu.Unlock, nil
}

// Logits runs tokens from position 0 as one batch and returns the logits of
// every position: len(tokens) rows of Config().VocabSize floats.
func (m *Model) Logits(tokens []int32) ([]float32, error) {
	s, unlock, err := m.useOneShot()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if len(tokens) == 0 {
		return nil, errors.New("infer: logits: no tokens")
	}
	out := make([]float32, len(tokens)*m.cfg.VocabSize)
	err = s.withState(func(st *model.State) error {
		if len(tokens) > st.Len() {
			return fmt.Errorf("%w: %d tokens, context %d", ErrPromptTooLong, len(tokens), st.Len())
		}
		return st.Forward(tokens, 0, true, out)
	})
	if err != nil {
		return nil, fmt.Errorf("infer: logits: %w", err)
	}
	return out, nil
}
