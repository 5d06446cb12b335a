// Package infer runs quantized language models from GGUF files in pure Go.
//
// Load maps a GGUF file (the weights are used in place, not copied) and binds
// the model and its tokenizer. Generate turns a prompt into a stream of text:
//
//	m, err := infer.Load("model.gguf", infer.Options{})
//	if err != nil { ... }
//	defer m.Close()
//	_, err = m.Generate(ctx, "Once upon a time", infer.GenerateOptions{Sampler: sampler.DefaultParams(), MaxTokens: 128},
//		func(piece string) bool { fmt.Print(piece); return true })
//
// A conversation is a Session (NewSession): its own KV cache, which keeps
// the tokens of earlier turns so each turn evaluates only its new tokens.
// Sessions of one Model share its weights and threads and may run at once.
// Model.Generate and Model.Logits are one-shot calls on one session the
// Model keeps for them (they run one at a time). A Model holds no global
// state, so several can be loaded side by side.
//
// Context policy: the prompt and the generated tokens share a session's KV
// cache. A prompt longer than the context is an error (ErrPromptTooLong).
// When the cache fills during generation, the context shifts as llama.cpp's
// does: the BOS token (if the sequence starts with one) is kept, the older
// half of the remaining tokens is dropped, and the kept tokens are run again
// as one batch from position 0. GenerateOptions.NoContextShift makes
// generation stop instead (Stats.Stop == StopContextFull).
package infer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/model"
	"github.com/infer-go/infer/ops"
	"github.com/infer-go/infer/tokenizer"
)

// Options choose how Load runs a model. The zero value is a good default.
type Options struct {
	// Threads runs the kernels; 0 means ops.DefaultThreads().
	Threads int
	// ContextLength is the number of positions a session's KV cache holds
	// by default; 0 means the model's training context, capped at
	// model.DefaultMaxContext.
	ContextLength int
	// CacheType is the KV cache's element type; the zero value is F16, like
	// llama.cpp's default.
	CacheType model.CacheType
}

// ErrClosed is returned by calls on a closed Model or Session.
var ErrClosed = errors.New("infer: model is closed")

// Model is a loaded language model with its tokenizer.
type Model struct {
	path     string
	file     *gguf.File
	lm       model.LM
	tok      *tokenizer.Tokenizer
	pool     *ops.Pool
	loadTime time.Duration
	cfg      model.Config
	info     Info // computed at Load, so it stays valid after Close

	// done is cancelled by Close, which makes running calls return; busy
	// counts them so Close can wait until they have, before unmapping.
	done   context.Context
	cancel context.CancelFunc
	mu     sync.Mutex // guards closed and busy's Add against Close
	closed bool
	busy   sync.WaitGroup

	oneShotMu sync.Mutex // serialises Generate, Logits and Perplexity
	oneShot   *Session   // made on first use
}

// Load opens the GGUF file at path and prepares its model for inference.
func Load(path string, opts Options) (*Model, error) {
	start := time.Now()
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
	lm, err := model.Load(f, model.Options{ContextLength: opts.ContextLength, CacheType: opts.CacheType, Pool: pool})
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
	m := &Model{path: path, file: f, lm: lm, tok: tok, pool: pool, cfg: lm.Config(), loadTime: time.Since(start)}
	m.done, m.cancel = context.WithCancel(context.Background())
	m.info = m.describe()
	return m, nil
}

// enter registers a call that uses the model's weights; leave ends it.
func (m *Model) enter() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.busy.Add(1)
	return nil
}

func (m *Model) leave() { m.busy.Done() }

// watch returns ctx, also cancelled when the Model is closed.
func (m *Model) watch(ctx context.Context) context.Context {
	if ctx.Done() == nil {
		return m.done
	}
	merged, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(m.done, cancel)
	// The merged context lives as long as ctx; release the hook with it.
	context.AfterFunc(merged, func() { stop() })
	return merged
}

// Close cancels the model's running calls (Generate and Eval return
// ErrClosed-wrapping or context errors within a batch), waits for them to
// return, then releases the threads and unmaps the file. Afterwards every
// call fails with ErrClosed, while Config and Info still answer.
func (m *Model) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	m.cancel()
	m.busy.Wait()
	m.pool.Close()
	m.lm = nil
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
	KVCacheBytes  int64  // of one session of ContextLength positions
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
		CacheType:     cfg.CacheType.String(),
		KVCacheBytes:  kvCacheBytes(cfg, cfg.ContextLength),
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

// kvCacheBytes is the size of a KV cache of n positions.
func kvCacheBytes(cfg model.Config, n int) int64 {
	elem := int64(2)
	if cfg.CacheType == model.CacheF32 {
		elem = 4
	}
	return 2 * int64(cfg.Layers) * int64(n) * int64(cfg.HeadsKV*cfg.HeadDim) * elem
}

// Metadata returns the GGUF file's key-value pairs in file order (shared:
// do not modify). They stay valid after Close.
func (m *Model) Metadata() []gguf.KV { return m.file.KV }

// SpecialTokens are the vocabulary's special token ids (-1: none) and the
// rule for the BOS token.
type SpecialTokens struct {
	BOS, EOS, EOT, EOM, UNK, PAD int32
	// EOG is every token that ends generation: eos, eot, eom and the chat
	// markers the vocabulary flags as end-of-generation (<|im_end|>,
	// <end_of_turn>, <|eot_id|> ...).
	EOG    []int32
	AddBOS bool
	AddEOS bool
}

// SpecialTokens describes the vocabulary's special tokens.
func (m *Model) SpecialTokens() SpecialTokens {
	t := m.tok
	return SpecialTokens{BOS: t.BOS(), EOS: t.EOS(), EOT: t.EOT(), EOM: t.EOM(), UNK: t.UNK(), PAD: t.PAD(),
		EOG: t.EOGTokens(), AddBOS: t.AddBOS(), AddEOS: t.AddEOS()}
}
