// Package infer runs quantized language models from GGUF files in pure Go.
//
// Load maps a GGUF file (the weights are used in place, not copied), binds
// the model and its tokenizer and reserves the KV cache; Generate then turns a
// prompt into a stream of text:
//
//	m, err := infer.Load("model.gguf", infer.Options{})
//	if err != nil { ... }
//	defer m.Close()
//	_, err = m.Generate(ctx, "Once upon a time", sampler.DefaultParams(), 128,
//		func(piece string) bool { fmt.Print(piece); return true })
//
// A Model holds no global state, so several can be loaded side by side. One
// Model runs one generation at a time (calls on it are serialised, as they
// share its KV cache); tokenizing is safe concurrently.
//
// Context policy: the prompt and the generated tokens share the KV cache of
// Options.ContextLength positions. A prompt longer than the context is an
// error (ErrPromptTooLong). When the cache fills during generation, the
// context shifts as llama.cpp's does: the BOS token (if the sequence starts
// with one) is kept, the older half of the remaining tokens is dropped, and
// the kept tokens are run again as one batch from position 0. Recomputing
// rather than rotating cached keys works for every architecture, including
// learned position embeddings (gpt2), and costs one batch every half
// context. Options.NoContextShift makes generation stop instead
// (Stats.Stop == StopContextFull).
package infer

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/model"
	"github.com/infer-go/infer/ops"
	"github.com/infer-go/infer/quant"
	"github.com/infer-go/infer/tokenizer"
)

// Options choose how Load runs a model. The zero value is a good default.
type Options struct {
	// Threads runs the kernels; 0 means ops.DefaultThreads().
	Threads int
	// ContextLength is the number of positions the KV cache holds; 0 means
	// the model's training context, capped at model.DefaultMaxContext.
	ContextLength int
	// CacheType is the KV cache's element type: "f16" (the default when
	// empty, like llama.cpp) or "f32".
	CacheType string
	// NoContextShift stops generation when the context is full instead of
	// dropping the oldest half of it (llama.cpp's --no-context-shift).
	NoContextShift bool
}

// ErrClosed is returned by calls on a closed Model.
var ErrClosed = errors.New("infer: model is closed")

// Model is a loaded language model with its tokenizer and KV cache.
type Model struct {
	path     string
	file     *gguf.File
	lm       model.LM
	tok      *tokenizer.Tokenizer
	pool     *ops.Pool
	loadTime time.Duration
	cfg      model.Config
	info     Info // computed at Load, so it stays valid after Close
	noShift  bool

	mu     sync.Mutex // serialises uses of the KV cache and Close
	closed bool
	logits []float32 // one row, reused by Generate
}

// Load opens the GGUF file at path and prepares its model for inference.
func Load(path string, opts Options) (*Model, error) {
	start := time.Now()
	mopts, err := modelOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("infer: %w", err)
	}
	if opts.Threads < 0 {
		return nil, fmt.Errorf("infer: %d threads", opts.Threads)
	}
	threads := opts.Threads
	if threads == 0 {
		threads = ops.DefaultThreads()
	}
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("infer: %w", err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("infer: %s: %w", path, err)
	}
	pool := ops.NewPool(threads)
	mopts.Pool = pool
	lm, err := model.Load(f, mopts)
	if err != nil {
		pool.Close()
		f.Close()
		return nil, fmt.Errorf("infer: %s: %w", path, err)
	}
	if v, n := lm.Config().VocabSize, tok.VocabSize(); v != n {
		pool.Close()
		f.Close()
		return nil, fmt.Errorf("infer: %s: the model's output has %d logits but the vocabulary %d tokens", path, v, n)
	}
	m := &Model{path: path, file: f, lm: lm, tok: tok, pool: pool, cfg: lm.Config(), loadTime: time.Since(start), noShift: opts.NoContextShift}
	m.info = m.describe()
	return m, nil
}

func modelOptions(opts Options) (model.Options, error) {
	mo := model.Options{ContextLength: opts.ContextLength}
	switch strings.ToLower(opts.CacheType) {
	case "", "f16":
		mo.CacheType = quant.F16
	case "f32":
		mo.CacheType, mo.CacheF32 = quant.F32, true
	default:
		return mo, fmt.Errorf("cache type %q: want f16 or f32", opts.CacheType)
	}
	if opts.ContextLength < 0 {
		return mo, fmt.Errorf("context length %d is negative", opts.ContextLength)
	}
	return mo, nil
}

// Close releases the model's threads and KV cache and unmaps the file; it
// waits for a running generation to end. Afterwards generation fails with
// ErrClosed, while Config and Info still answer.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	m.pool.Close()
	m.lm = nil
	m.logits = nil
	return m.file.Close()
}

// Config returns the model's hyperparameters and context length.
func (m *Model) Config() model.Config { return m.cfg }

// Tokenizer returns the model's tokenizer.
func (m *Model) Tokenizer() *tokenizer.Tokenizer { return m.tok }

// Tokenize turns text into token ids. addSpecial adds the BOS (and EOS) the
// model's metadata asks for; parseSpecial turns the text of control tokens
// such as "<s>" into those tokens rather than into plain text.
func (m *Model) Tokenize(text string, addSpecial, parseSpecial bool) []int32 {
	return m.tok.Encode(text, addSpecial, parseSpecial)
}

// Detokenize turns token ids back into text.
func (m *Model) Detokenize(ids []int32) string { return m.tok.Decode(ids) }

// Info summarises a loaded model, for display.
type Info struct {
	Path          string
	Arch          string
	Name          string // general.name, if any
	Params        uint64 // elements in all tensors
	FileType      string // e.g. "Q8_0", "Q4_K_M"
	FileBytes     uint64
	ContextLength int    // positions the KV cache holds
	TrainContext  int    // the model's training context
	CacheType     string // "f16" or "f32"
	KVCacheBytes  int64
	VocabSize     int
	Threads       int
	LoadTime      time.Duration
}

// Info describes the model.
func (m *Model) Info() Info { return m.info }

func (m *Model) describe() Info {
	cfg := m.cfg
	in := Info{
		Path:          m.path,
		Arch:          m.lm.Arch(),
		FileType:      fileType(m.file),
		FileBytes:     m.file.Size,
		ContextLength: cfg.ContextLength,
		TrainContext:  cfg.TrainContext,
		CacheType:     strings.ToLower(cfg.CacheType.String()),
		KVCacheBytes:  m.lm.KVCacheBytes(),
		VocabSize:     cfg.VocabSize,
		Threads:       m.pool.Threads(),
		LoadTime:      m.loadTime,
	}
	in.Name, _ = m.file.String("general.name")
	for i := range m.file.Tensors {
		in.Params += m.file.Tensors[i].NumElements()
	}
	return in
}
