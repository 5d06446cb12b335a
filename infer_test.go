package infer_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/infer-go/infer"
	"github.com/infer-go/infer/internal/testref"
	"github.com/infer-go/infer/model"
	"github.com/infer-go/infer/sampler"
)

var greedy = sampler.Params{Temp: 0}

// loadSuccessor writes and loads a successor model (see writeSuccessorModel).
func loadSuccessor(t *testing.T, words []string, next func(int) int, opts infer.Options) *infer.Model {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.gguf")
	if err := writeSuccessorModel(path, words, next); err != nil {
		t.Fatal(err)
	}
	m, err := infer.Load(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// cycle counts one..ten and starts again, never ending the text.
func cycle(i int) int { return (i + 1) % len(numbers) }

// generateText generates at most n tokens (n < 0: no limit) with p.
func generateText(t *testing.T, m *infer.Model, ctx context.Context, prompt string, p sampler.Params, n int) (string, infer.Stats, error) {
	t.Helper()
	return generateWith(t, m, ctx, prompt, infer.GenerateOptions{Sampler: p, MaxTokens: max(n, 0)})
}

func generateWith(t *testing.T, m *infer.Model, ctx context.Context, prompt string, opts infer.GenerateOptions) (string, infer.Stats, error) {
	t.Helper()
	var b strings.Builder
	st, err := m.Generate(ctx, prompt, opts, func(piece string) bool {
		b.WriteString(piece)
		return true
	})
	return b.String(), st, err
}

func TestGenerateStops(t *testing.T) {
	m := loadSuccessor(t, numbers, cycle, infer.Options{Threads: 1, ContextLength: 12})
	tests := []struct {
		name    string
		prompt  string
		n       int
		noShift bool
		stops   []string
		want    string
		stop    infer.StopReason
	}{
		{"max tokens", "one", 3, false, nil, " two three four", infer.StopMaxTokens},
		{"wraps around", "nine", 3, false, nil, " ten one two", infer.StopMaxTokens},
		// 2 prompt tokens (BOS, "one") in a context of 12: ten tokens are
		// evaluated, and the eleventh is sampled from the last logits.
		{"context full", "one", 0, true, nil, " two three four five six seven eight nine ten one two", infer.StopContextFull},
		// The same with context shifts: generation goes on through three of them.
		{"context shift", "one", 25, false, nil, strings.Repeat(" two three four five six seven eight nine ten one", 2) + " two three four five six", infer.StopMaxTokens},
		// Stop strings, across token boundaries, never emitted.
		{"stop string", "one", 20, false, []string{"five"}, " two three four ", infer.StopString},
		{"stop across tokens", "one", 20, false, []string{"e f"}, " two thre", infer.StopString},
		{"first of two stops", "one", 20, false, []string{"six", "three"}, " two ", infer.StopString},
		{"partial stop released", "one", 3, false, []string{"fourteen"}, " two three four", infer.StopMaxTokens},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, st, err := generateWith(t, m, context.Background(), tt.prompt,
				infer.GenerateOptions{Sampler: greedy, MaxTokens: tt.n, NoContextShift: tt.noShift, Stop: tt.stops})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || st.Stop != tt.stop {
				t.Errorf("got %q (stop: %s), want %q (stop: %s)", got, st.Stop, tt.want, tt.stop)
			}
			if n := len(strings.Fields(got)); st.GeneratedTokens != n && tt.stops == nil {
				t.Errorf("GeneratedTokens = %d, want %d", st.GeneratedTokens, n)
			}
		})
	}
}

func TestGenerateEmitStops(t *testing.T) {
	m := loadSuccessor(t, numbers, cycle, infer.Options{Threads: 1})
	var got []string
	st, err := m.Generate(context.Background(), "one", infer.GenerateOptions{MaxTokens: 100}, func(piece string) bool {
		got = append(got, piece)
		return len(got) < 2
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{" two", " three"}; !slices.Equal(got, want) || st.Stop != infer.StopEmit || st.GeneratedTokens != 2 {
		t.Errorf("got %q, stop %s, %d tokens; want %q, stop %s, 2 tokens", got, st.Stop, st.GeneratedTokens, want, infer.StopEmit)
	}
}

func TestGenerateCancel(t *testing.T) {
	m := loadSuccessor(t, numbers, cycle, infer.Options{Threads: 1})
	ctx, cancel := context.WithCancel(context.Background())
	var got []string
	st, err := m.Generate(ctx, "one", infer.GenerateOptions{MaxTokens: 100}, func(piece string) bool {
		got = append(got, piece)
		if len(got) == 3 {
			cancel() // the next token must not come
		}
		return true
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(got) != 3 || st.GeneratedTokens != 3 || st.Stop != infer.StopCancelled {
		t.Errorf("after cancelling at the 3rd token: pieces %q, %d tokens, stop %s", got, st.GeneratedTokens, st.Stop)
	}

	// Already cancelled: nothing runs.
	st, err = m.Generate(ctx, "one", infer.GenerateOptions{MaxTokens: 100}, func(string) bool {
		t.Error("emit called after cancellation")
		return true
	})
	if !errors.Is(err, context.Canceled) || st.GeneratedTokens != 0 || st.PromptEval != 0 {
		t.Errorf("cancelled context: err %v, stats %+v", err, st)
	}
}

func TestPromptTooLong(t *testing.T) {
	m := loadSuccessor(t, numbers, cycle, infer.Options{Threads: 1, ContextLength: 4})
	_, _, err := generateText(t, m, context.Background(), "one two three four", greedy, 1)
	if !errors.Is(err, infer.ErrPromptTooLong) || !strings.Contains(err.Error(), "5 tokens") {
		t.Errorf("prompt of 5 tokens in a context of 4: err = %v", err)
	}
	// Exactly the context: the prompt runs and one token can still be sampled.
	got, st, err := generateWith(t, m, context.Background(), "one two three", infer.GenerateOptions{MaxTokens: 10, NoContextShift: true})
	if err != nil || got != " four" || st.Stop != infer.StopContextFull {
		t.Errorf("prompt filling the context: %q, stop %s, err %v", got, st.Stop, err)
	}
	if _, err := m.Logits([]int32{1, 2, 3, 4, 5}); !errors.Is(err, infer.ErrPromptTooLong) {
		t.Errorf("Logits past the context: err = %v", err)
	}
}

// TestTwoModels runs two different models at once: no state may leak
// between them.
func TestTwoModels(t *testing.T) {
	up := loadSuccessor(t, numbers, cycle, infer.Options{Threads: 2})
	down := loadSuccessor(t, numbers, func(i int) int { return (i + len(numbers) - 1) % len(numbers) }, infer.Options{Threads: 1, CacheType: model.CacheF32})
	want := map[*infer.Model]string{up: " six seven eight nine ten", down: " four three two one ten"}
	var wg sync.WaitGroup
	for m, w := range want {
		for range 3 {
			wg.Go(func() {
				got, _, err := generateText(t, m, context.Background(), "five", greedy, 5)
				if err != nil {
					t.Error(err)
				} else if got != w {
					t.Errorf("got %q, want %q", got, w)
				}
			})
		}
	}
	wg.Wait()
	if up.Config().CacheType == down.Config().CacheType {
		t.Errorf("both models have a %v cache", up.Config().CacheType)
	}
}

func TestTokenizeDetokenize(t *testing.T) {
	m := loadSuccessor(t, numbers, cycle, infer.Options{Threads: 1})
	ids := m.Tokenize("one two", true, false)
	if len(ids) != 3 || ids[0] != 1 {
		t.Fatalf("Tokenize = %v, want BOS and two word tokens", ids)
	}
	if got := m.Detokenize(ids[1:]); strings.TrimSpace(got) != "one two" {
		t.Errorf("Detokenize = %q", got)
	}
	if got := m.Tokenize("one", false, false); len(got) != 1 {
		t.Errorf("Tokenize without specials = %v", got)
	}
}

func TestCloseAndLoadErrors(t *testing.T) {
	m := loadSuccessor(t, numbers, cycle, infer.Options{Threads: 1})
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, _, err := generateText(t, m, context.Background(), "one", greedy, 1); !errors.Is(err, infer.ErrClosed) {
		t.Errorf("Generate after Close: err = %v", err)
	}
	if _, err := m.Logits([]int32{1}); !errors.Is(err, infer.ErrClosed) {
		t.Errorf("Logits after Close: err = %v", err)
	}
	if in := m.Info(); in.Arch != "llama" || in.Name != "counting" || m.Config().VocabSize != in.VocabSize {
		t.Errorf("Info after Close: %+v", in)
	}

	dir := t.TempDir()
	if _, err := infer.Load(filepath.Join(dir, "missing.gguf"), infer.Options{}); err == nil || !strings.Contains(err.Error(), "missing.gguf") {
		t.Errorf("missing file: err = %v", err)
	}
	junk := filepath.Join(dir, "junk.gguf")
	os.WriteFile(junk, []byte("not a gguf file at all"), 0o644)
	if _, err := infer.Load(junk, infer.Options{}); err == nil {
		t.Error("junk file loaded")
	}
	good := filepath.Join(dir, "good.gguf")
	if err := writeCountingModel(good); err != nil {
		t.Fatal(err)
	}
	for _, o := range []infer.Options{{CacheType: 7}, {ContextLength: -1}, {Threads: -2}} {
		if m, err := infer.Load(good, o); err == nil {
			m.Close()
			t.Errorf("Load with %+v succeeded", o)
		}
	}
}

func TestLogitsOutOfRange(t *testing.T) {
	m := loadSuccessor(t, numbers, cycle, infer.Options{Threads: 1})
	n := int32(m.Config().VocabSize)
	for _, ids := range [][]int32{{1, n}, {-1}, {}} {
		if _, err := m.Logits(ids); err == nil {
			t.Errorf("Logits(%v) succeeded", ids)
		}
	}
}

// reference is the JSON llama.cpp's outputs were recorded with.
type reference struct {
	Prompt       string  `json:"prompt"`
	AddSpecial   bool    `json:"add_special"`
	Tokens       []int32 `json:"tokens"`
	NVocab       int     `json:"n_vocab"`
	GreedyTokens []int32 `json:"greedy_tokens"`
}

func readReference(t *testing.T, name string) (ref reference, modelPath string, safeGreedy int) {
	t.Helper()
	b, err := os.ReadFile(testref.Path(t, "ref", "logits", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	gen := testref.ReadF32File(t, testref.Path(t, "ref", "logits", name+".gen_logits.f32"), -1)
	return ref, testref.Path(t, "models", name+".gguf"), testref.StableGreedyPrefix(gen, ref.NVocab, len(ref.GreedyTokens))
}

// TestGreedyMatchesLlamaCpp checks the whole pipeline (tokenizer, prompt
// batch, decoding one token at a time) against llama.cpp's greedy tokens.
func TestGreedyMatchesLlamaCpp(t *testing.T) {
	for _, name := range []string{"tiny-llama-256-q8_0", "tiny-llama-256-q4_k_m", "tiny-gpt2-q8_0"} {
		t.Run(name, func(t *testing.T) {
			ref, path, stable := readReference(t, name)
			m, err := infer.Load(path, infer.Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if ids := m.Tokenize(ref.Prompt, ref.AddSpecial, true); !slices.Equal(ids, ref.Tokens) {
				t.Fatalf("Tokenize(%q) = %v, llama.cpp %v", ref.Prompt, ids, ref.Tokens)
			}
			var got []int32
			if _, err := m.GenerateTokens(context.Background(), ref.Tokens, infer.GenerateOptions{MaxTokens: stable}, func(tok infer.Token) bool {
				got = append(got, tok.ID)
				return true
			}); err != nil {
				t.Fatal(err)
			}
			if stable < 4 {
				t.Logf("only %d tokens before a near-tie", stable)
			}
			if !slices.Equal(got, ref.GreedyTokens[:stable]) {
				t.Errorf("greedy tokens\n got %v\nwant %v (llama.cpp, the first %d before a near-tie)", got, ref.GreedyTokens[:stable], stable)
			}
		})
	}
}

// TestSeededSamplingRepeats checks that a seed reproduces a sampled text.
func TestSeededSamplingRepeats(t *testing.T) {
	_, path, _ := readReference(t, "tiny-llama-256-q8_0")
	m, err := infer.Load(path, infer.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p := sampler.DefaultParams()
	p.Temp, p.Seed = 1.5, 7 // hot enough that the draws matter
	a, _, err := generateText(t, m, context.Background(), "Once upon a time", p, 8)
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := generateText(t, m, context.Background(), "Once upon a time", p, 8)
	p.Seed = 8
	c, _, _ := generateText(t, m, context.Background(), "Once upon a time", p, 8)
	if a != b {
		t.Errorf("seed 7 twice: %q vs %q", a, b)
	}
	if a == c {
		t.Errorf("seeds 7 and 8 gave the same text %q", a)
	}
}

func TestInfo(t *testing.T) {
	m := loadSuccessor(t, numbers, cycle, infer.Options{Threads: 1, ContextLength: 16})
	in := m.Info()
	vocab := uint64(in.VocabSize)
	// token_embd + output (vocab x 32), four 32x32 attention matrices,
	// three 32x32 feed-forward matrices, three norms of 32.
	wantParams := 2*vocab*32 + 7*32*32 + 3*32
	// K and V, one layer, 16 positions of 32 values, 2 bytes each.
	wantKV := int64(2 * 16 * 32 * 2)
	if in.Arch != "llama" || in.Name != "counting" || in.Params != wantParams || in.FileType != "F32" ||
		in.ContextLength != 16 || in.TrainContext != 64 || in.CacheType != "f16" || in.KVCacheBytes != wantKV || in.Threads != 1 {
		t.Errorf("Info = %+v; want llama %q, %d params, F32, context 16 of 64, f16 cache of %d bytes, 1 thread",
			in, "counting", wantParams, wantKV)
	}
}
