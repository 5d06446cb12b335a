// Package model runs language models stored in GGUF files: the llama and
// gpt2 forward passes, with a KV cache, computed the way llama.cpp's CPU
// backend computes them (same operations in the same order, same roundings
// to F16 and to the quantized activation types) so that the logits agree
// with llama.cpp's.
//
// An architecture is data (the hyperparameter keys it reads, the tensors it
// binds) plus one forward pass written to read like the maths. Weights are
// ops.Matrix views into the GGUF mapping; nothing large is copied.
package model

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/ops"
	"github.com/infer-go/infer/quant"
)

// DefaultMaxContext caps the context a model gets when Options.ContextLength
// is 0, so that a model trained on 128k positions does not reserve a cache
// for all of them by default.
const DefaultMaxContext = 4096

// Options choose how a model is run.
type Options struct {
	// ContextLength is the number of positions the KV cache holds. 0: the
	// model's training context, capped at DefaultMaxContext.
	ContextLength int
	// CacheType is the KV cache's element type. quant.F16 is the default,
	// like llama.cpp's --cache-type f16; since the zero value of a
	// quant.Type is F32's id, it also means F16, and an F32 cache is asked
	// for with CacheF32. Other types are an error.
	CacheType quant.Type
	// CacheF32 selects an F32 cache (exact keys and values, twice the memory).
	CacheF32 bool
	// Pool runs the kernels; nil runs them on the caller's goroutine.
	Pool *ops.Pool
}

// Config describes a loaded model.
type Config struct {
	Arch          string
	VocabSize     int
	ContextLength int // positions the KV cache holds
	TrainContext  int // the model's context_length
	Embd          int
	Layers        int
	Heads         int
	HeadsKV       int
	HeadDim       int
	FF            int
	RopeDims      int     // llama: dimensions rotated per head
	RopeBase      float32 // llama: rope.freq_base
	NormEps       float32
	CacheType     quant.Type
}

// LM is a loaded language model with its KV cache. An LM is not safe for
// concurrent use: Forward appends to the one cache it holds.
type LM interface {
	Arch() string
	Config() Config
	KVCacheBytes() int64
	// Forward runs tokens at positions pos, pos+1, ... (one batch), appending
	// to the KV cache (positions >= pos are overwritten; pos=0 starts over).
	// It writes logits into out: len(tokens)*VocabSize floats when all is
	// true, else VocabSize floats for the last token.
	Forward(tokens []int32, pos int, all bool, out []float32) error
}

// architecture is what Load needs to know about one model family.
type architecture struct {
	// normEpsKey is the metadata key (after "ARCH.") of the norm epsilon.
	normEpsKey string
	load       func(f *gguf.File, cfg Config, pool *ops.Pool) (LM, error)
}

var architectures = map[string]architecture{
	"llama": {normEpsKey: "attention.layer_norm_rms_epsilon", load: loadLlama},
	"gpt2":  {normEpsKey: "attention.layer_norm_epsilon", load: loadGPT2},
}

// ErrUnknownArchitecture is wrapped by Load's error for a general.architecture
// this package cannot run.
var ErrUnknownArchitecture = errors.New("unknown architecture")

// Load binds the model in f, choosing the architecture by
// general.architecture. f must stay open (mapped) while the LM is used.
func Load(f *gguf.File, opts Options) (LM, error) {
	name, err := f.String("general.architecture")
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	arch, ok := architectures[name]
	if !ok {
		return nil, fmt.Errorf("model: %w %q (supported: %s)", ErrUnknownArchitecture, name,
			strings.Join(slices.Sorted(maps.Keys(architectures)), ", "))
	}
	cfg, err := readConfig(f, name, arch.normEpsKey, opts)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", name, err)
	}
	lm, err := arch.load(f, cfg, opts.Pool) // a nil Pool runs on the caller's goroutine
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", name, err)
	}
	return lm, nil
}

// maxBatch is the most positions one pass computes at once; longer inputs
// are run in consecutive batches (llama.cpp's n_ubatch is 512 too), which
// bounds the activation buffers without changing any result: every matrix
// row and every attention query is computed independently.
var maxBatch = 512

// inBatches runs tokens through forward in batches of at most maxBatch,
// asking each for the logits the caller wants: every position's when all is
// true, else only the very last one (none from earlier batches).
func inBatches(tokens []int32, pos int, all bool, out []float32, vocab int,
	forward func(tokens []int32, pos, outRows int, out []float32)) {
	for start := 0; start < len(tokens); start += maxBatch {
		end := min(start+maxBatch, len(tokens))
		switch {
		case all:
			forward(tokens[start:end], pos+start, end-start, out[start*vocab:end*vocab])
		case end == len(tokens):
			forward(tokens[start:end], pos+start, 1, out[:vocab])
		default:
			forward(tokens[start:end], pos+start, 0, nil)
		}
	}
}

// base is the state and the LM methods every architecture shares; an
// architecture embeds it and supplies the forward pass of one batch.
type base struct {
	cfg   Config
	pool  *ops.Pool
	cache *KVCache
	// filled is the number of positions the cache holds.
	filled int
	// batch runs one batch of tokens at positions pos.. and writes the
	// logits of its last outRows positions into out.
	batch func(tokens []int32, pos, outRows int, out []float32)
}

// init sets up the shared state of a model whose weights are bound,
// allocating its KV cache.
func (m *base) init(cfg Config, pool *ops.Pool, batch func(tokens []int32, pos, outRows int, out []float32)) error {
	cache, err := NewKVCache(cfg.CacheType, cfg.Layers, cfg.ContextLength, cfg.HeadsKV*cfg.HeadDim)
	if err != nil {
		return err
	}
	*m = base{cfg: cfg, pool: pool, cache: cache, batch: batch}
	return nil
}

func (m *base) Arch() string        { return m.cfg.Arch }
func (m *base) Config() Config      { return m.cfg }
func (m *base) KVCacheBytes() int64 { return m.cache.Bytes() }

func (m *base) Forward(tokens []int32, pos int, all bool, out []float32) error {
	if err := checkForward(&m.cfg, tokens, pos, m.filled, all, out); err != nil {
		return err
	}
	inBatches(tokens, pos, all, out, m.cfg.VocabSize, m.batch)
	m.filled = pos + len(tokens)
	return nil
}

// checkForward validates a Forward call against the model and its cache.
// filled is the number of positions the cache holds now.
func checkForward(cfg *Config, tokens []int32, pos, filled int, all bool, out []float32) error {
	if len(tokens) == 0 {
		return errors.New("forward: no tokens")
	}
	if end := pos + len(tokens); end > cfg.ContextLength {
		return fmt.Errorf("forward: positions %d..%d are past the context of %d", pos, end-1, cfg.ContextLength)
	}
	if pos < 0 || pos > filled {
		return fmt.Errorf("forward: position %d: the cache holds %d positions, so a batch must start at 0..%d", pos, filled, filled)
	}
	for i, t := range tokens {
		if t < 0 || int(t) >= cfg.VocabSize {
			return fmt.Errorf("forward: token %d (batch index %d) out of range [0, %d)", t, i, cfg.VocabSize)
		}
	}
	want := cfg.VocabSize
	if all {
		want *= len(tokens)
	}
	if len(out) < want {
		return fmt.Errorf("forward: logits buffer holds %d floats, need %d", len(out), want)
	}
	return nil
}
