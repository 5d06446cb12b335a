package infer_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infer-go/infer"
	"github.com/infer-go/infer/sampler"
)

// sessionText generates with s and returns the text and stats.
func sessionText(t *testing.T, s *infer.Session, prompt []int32, opts infer.GenerateOptions) (string, infer.Stats) {
	t.Helper()
	var b strings.Builder
	st, err := s.Generate(context.Background(), prompt, opts, func(tok infer.Token) bool {
		b.WriteString(tok.Text)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String(), st
}

// TestSessionReusesPrefix holds a conversation of five turns: each turn
// sends the whole history again, and only its new tokens are evaluated.
func TestSessionReusesPrefix(t *testing.T) {
	m := loadSuccessor(t, numbers, cycle, infer.Options{Threads: 1, ContextLength: 64})
	s, err := m.NewSession(infer.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	var history, user, reply []int32
	for turn := 1; turn <= 5; turn++ {
		user = m.Tokenize(" one two", turn == 1, false)
		prompt := append(slices.Clone(history), user...)
		reply = nil
		st, err := s.Generate(context.Background(), prompt, infer.GenerateOptions{MaxTokens: 3}, func(tok infer.Token) bool {
			reply = append(reply, tok.ID)
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		// The history's tokens are cached; of the new ones all are run, and
		// the last reply token of the turn before (sampled, never run) too.
		wantEval := len(user)
		if turn > 1 {
			wantEval++
		}
		if st.PromptTokens != len(prompt) || st.EvaluatedPromptTokens() != wantEval || st.CachedTokens != len(prompt)-wantEval {
			t.Errorf("turn %d: %d prompt tokens, %d cached, %d evaluated; want %d, %d, %d",
				turn, st.PromptTokens, st.CachedTokens, st.EvaluatedPromptTokens(), len(prompt), len(prompt)-wantEval, wantEval)
		}
		if got := strings.TrimSpace(m.Detokenize(reply)); got != "three four five" {
			t.Errorf("turn %d: reply %q", turn, got)
		}
		history = append(prompt, reply...)
		if got := s.Tokens(); !slices.Equal(got, history) {
			t.Errorf("turn %d: session holds %v, want %v", turn, got, history)
		}
	}

	// Regenerating the last turn: the cache is cut back to the common prefix.
	prefix := history[:len(history)-len(user)-len(reply)]
	edited := append(slices.Clone(prefix), m.Tokenize(" seven", false, false)...)
	common := len(prefix)
	for history[common] == edited[common] { // the new text may begin with the old one's tokens
		common++
	}
	text, st := sessionText(t, s, edited, infer.GenerateOptions{MaxTokens: 2})
	if text != " eight nine" || st.CachedTokens != common {
		t.Errorf("edited turn: %q with %d of %d tokens cached; want \" eight nine\", %d", text, st.CachedTokens, len(edited), common)
	}

	// The same request twice: nothing new to evaluate but the last token.
	if es, err := s.Eval(context.Background(), edited); err != nil || es.Evaluated != 1 || es.Cached != len(edited)-1 {
		t.Errorf("Eval of a cached prefix: %+v, %v", es, err)
	}
	if es, err := s.Eval(context.Background(), edited); err != nil || es.Evaluated != 0 {
		t.Errorf("Eval of exactly the cache: %+v, %v", es, err)
	}
	if s.Logits() == nil {
		t.Error("no logits after Eval")
	}
	s.Reset()
	if len(s.Tokens()) != 0 || s.Logits() != nil {
		t.Error("Reset left tokens or logits")
	}
}

// TestSessionsConcurrent runs two sessions of one Model at once, each
// several times: each gives the text it gives alone (run with -race).
func TestSessionsConcurrent(t *testing.T) {
	m := loadSuccessor(t, numbers, cycle, infer.Options{Threads: 2, ContextLength: 32})
	p := sampler.DefaultParams()
	p.Temp, p.Seed = 3, 3 // hot: the draws matter
	opts := infer.GenerateOptions{Sampler: p, MaxTokens: 12}
	prompts := map[string]string{"five": "", "two": ""}
	for prompt := range prompts {
		alone, err := m.NewSession(infer.SessionOptions{ContextLength: 16})
		if err != nil {
			t.Fatal(err)
		}
		prompts[prompt], _ = sessionText(t, alone, m.Tokenize(prompt, true, false), opts)
		alone.Close()
	}
	var wg sync.WaitGroup
	for prompt, want := range prompts {
		s, err := m.NewSession(infer.SessionOptions{ContextLength: 16})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if s.ContextLength() != 16 {
			t.Errorf("session context %d, want 16", s.ContextLength())
		}
		wg.Go(func() {
			for range 4 {
				s.Reset()
				got, _ := sessionText(t, s, m.Tokenize(prompt, true, false), opts)
				if got != want {
					t.Errorf("%q: got %q, want %q", prompt, got, want)
				}
			}
		})
	}
	wg.Wait()
}

// TestCloseCancelsGeneration closes a Model while a session generates
// without a limit: Close returns promptly and the generation ends.
func TestCloseCancelsGeneration(t *testing.T) {
	m := loadSuccessor(t, numbers, cycle, infer.Options{Threads: 1, ContextLength: 16})
	s, err := m.NewSession(infer.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	done := make(chan error)
	go func() {
		var once sync.Once
		_, err := s.Generate(context.Background(), m.Tokenize("one", true, false), infer.GenerateOptions{}, func(infer.Token) bool {
			once.Do(func() { close(started) })
			return true
		})
		done <- err
	}()
	<-started
	closed := make(chan error)
	go func() { closed <- m.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close blocked behind an unbounded generation")
	}
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("generation ended with %v, want context.Canceled", err)
	}
	if _, err := s.Eval(context.Background(), []int32{1}); !errors.Is(err, infer.ErrClosed) {
		t.Errorf("Eval after Close: %v", err)
	}
	if _, err := m.NewSession(infer.SessionOptions{}); !errors.Is(err, infer.ErrClosed) {
		t.Errorf("NewSession after Close: %v", err)
	}
}

func TestSessionErrors(t *testing.T) {
	m := loadSuccessor(t, numbers, cycle, infer.Options{Threads: 1, ContextLength: 8})
	if _, err := m.NewSession(infer.SessionOptions{ContextLength: -1}); err == nil {
		t.Error("negative context accepted")
	}
	s, err := m.NewSession(infer.SessionOptions{ContextLength: 4})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Eval(context.Background(), []int32{1, 2, 3, 4, 5}); !errors.Is(err, infer.ErrPromptTooLong) {
		t.Errorf("5 tokens in a context of 4: %v", err)
	}
	if _, err := s.Eval(context.Background(), nil); err == nil {
		t.Error("empty prompt accepted")
	}
	if _, err := s.Generate(context.Background(), []int32{1}, infer.GenerateOptions{MaxTokens: -2}, func(infer.Token) bool { return true }); err == nil {
		t.Error("negative MaxTokens accepted")
	}
	s.Close()
	if _, err := s.Eval(context.Background(), []int32{1}); !errors.Is(err, infer.ErrClosed) {
		t.Errorf("Eval on a closed session: %v", err)
	}
}
