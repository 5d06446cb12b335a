// Package model runs language models stored in GGUF files: the llama, qwen2,
// phi3, gemma2, starcoder2 and gpt2 forward passes, with a KV cache, computed the way llama.cpp's CPU
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
)

// DefaultMaxContext caps the context a model gets when Options.ContextLength
// is 0, so that a model trained on 128k positions does not reserve a cache
// for all of them by default.
const DefaultMaxContext = 4096

// Options choose how a model is run.
type Options struct {
	// ContextLength is the number of positions a State's KV cache holds when
	// NewState is given 0. 0: the model's training context, capped at
	// DefaultMaxContext.
	ContextLength int
	// CacheType is the KV cache's element type; the zero value is F16.
	CacheType CacheType
	// Pool runs the kernels; nil runs them on the caller's goroutine.
	Pool *ops.Pool
}

// Config describes a loaded model.
type Config struct {
	Arch          string
	VocabSize     int
	ContextLength int // positions a State holds by default
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
	CacheType     CacheType
	// SlidingWindow is the number of positions (its own included) a query
	// sees in the layers with sliding-window attention (phi3: all, gemma2:
	// the even ones); 0: none.
	SlidingWindow int
	// AttnSoftcap and FinalSoftcap soft-cap the attention scores and the
	// logits to ±c by c·tanh(x/c) (gemma2); 0: no capping.
	AttnSoftcap, FinalSoftcap float32
}

// LM is a loaded language model: its hyperparameters and its weights, bound
// to the file's mapping. An LM never changes after Load, so it is safe for
// concurrent use; each sequence evaluates through a State of its own.
type LM interface {
	Arch() string
	Config() Config
	// NewState allocates a KV cache of contextLength positions (0:
	// Config().ContextLength) and the activation buffers of one sequence.
	NewState(contextLength int) (*State, error)
}

// architecture is what Load needs to know about one model family.
type architecture struct {
	// normEpsKey is the metadata key (after "ARCH.") of the norm epsilon.
	normEpsKey string
	// decoder describes an architecture that runs llama's graph (llama.go);
	// the others have a load function of their own.
	decoder *decoderArch
	load    func(f *gguf.File, cfg Config, pool *ops.Pool) (LM, error)
}

const (
	rmsEpsKey   = "attention.layer_norm_rms_epsilon"
	layerEpsKey = "attention.layer_norm_epsilon"
)

// architectures is every general.architecture Load runs, and how each
// differs from Llama's graph, as llama.cpp c392e509 builds them
// (src/llama.cpp build_qwen2, build_phi3, build_gemma2, build_starcoder2).
var architectures = map[string]architecture{
	"llama": {normEpsKey: rmsEpsKey, decoder: &decoderArch{ropeFactors: llama3Factors}},
	"qwen2": {normEpsKey: rmsEpsKey, decoder: &decoderArch{neox: true, qkvBias: required}},
	"phi3": {normEpsKey: rmsEpsKey, decoder: &decoderArch{
		neox: true, fusedQKV: true, ffn: fusedSwiGLU, output: outputRequired,
		ropeFactors: longShortFactors, slidingLayer: allLayers, hparams: phi3HParams,
	}},
	"gemma2": {normEpsKey: rmsEpsKey, decoder: &decoderArch{
		neox: true, ffn: geGLU, postNorms: true, output: outputTied,
		slidingLayer: evenLayers, hparams: gemma2HParams,
	}},
	"starcoder2": {normEpsKey: layerEpsKey, decoder: &decoderArch{
		neox: true, layerNorm: true, qkvBias: required, outBias: required, ffn: geluMLP, ffnBias: required,
	}},
	"gpt2": {normEpsKey: layerEpsKey, load: loadGPT2},
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
	var lm LM // a nil Pool runs on the caller's goroutine
	if arch.decoder != nil {
		lm, err = loadLlama(f, cfg, opts.Pool, arch.decoder)
	} else {
		lm, err = arch.load(f, cfg, opts.Pool)
	}
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

// base is what every architecture shares: an architecture embeds it and
// supplies the forward pass of one batch and its activation buffers.
type base struct {
	cfg  Config
	pool *ops.Pool
	// maxPositions is the longest context the architecture can run (gpt2:
	// its learned positions).
	maxPositions int
	// batch runs one batch of tokens at positions pos.. on s and writes the
	// logits of its last outRows positions into out.
	batch func(s *State, tokens []int32, pos, outRows int, out []float32)
	// newBuffers returns empty activation buffers for a State.
	newBuffers func() any
}

// init sets up the shared part of a model whose weights are bound.
func (m *base) init(cfg Config, pool *ops.Pool, maxPositions int, batch func(*State, []int32, int, int, []float32), newBuffers func() any) error {
	*m = base{cfg: cfg, pool: pool, maxPositions: maxPositions, batch: batch, newBuffers: newBuffers}
	return m.checkContext(cfg.ContextLength)
}

func (m *base) Arch() string   { return m.cfg.Arch }
func (m *base) Config() Config { return m.cfg }

func (m *base) checkContext(n int) error {
	if n > m.maxPositions {
		if m.maxPositions == m.cfg.TrainContext {
			return fmt.Errorf("context length %d is longer than the %d learned positions", n, m.maxPositions)
		}
		return fmt.Errorf("context length %d is above the limit of %d", n, m.maxPositions)
	}
	if n < 1 {
		return fmt.Errorf("context length %d: want at least 1", n)
	}
	return nil
}

func (m *base) NewState(contextLength int) (*State, error) {
	if contextLength == 0 {
		contextLength = m.cfg.ContextLength
	}
	if err := m.checkContext(contextLength); err != nil {
		return nil, err
	}
	cache := NewKVCache(m.cfg.CacheType, m.cfg.Layers, contextLength, m.cfg.HeadsKV*m.cfg.HeadDim)
	return &State{model: m, cache: cache, buf: m.newBuffers()}, nil
}

// State is one sequence's working memory: its KV cache and the activation
// buffers of its forward passes. Its size is KVCacheBytes plus the
// activations of the largest batch run so far (at most maxBatch positions:
// a few times n x (embd + ff) floats). A State is not safe for concurrent
// use; different States of one LM may run at the same time.
type State struct {
	model *base
	cache *KVCache
	// filled is the number of positions the cache holds.
	filled int
	buf    any // the architecture's activation buffers
}

// Len is the number of positions the State's cache holds at most.
func (s *State) Len() int { return s.cache.Len }

// Filled is the number of positions the cache holds now.
func (s *State) Filled() int { return s.filled }

// KVCacheBytes is the memory the cache holds (K and V together).
func (s *State) KVCacheBytes() int64 { return s.cache.Bytes() }

// Truncate forgets every position from n on (n <= Filled()), so the next
// Forward may start at n.
func (s *State) Truncate(n int) {
	s.filled = max(0, min(n, s.filled))
}

// Forward runs tokens at positions pos, pos+1, ... (one batch), appending
// to the KV cache (positions >= pos are overwritten; pos=0 starts over).
// It writes logits into out: len(tokens)*VocabSize floats when all is
// true, else VocabSize floats for the last token.
func (s *State) Forward(tokens []int32, pos int, all bool, out []float32) error {
	m := s.model
	if err := checkForward(&m.cfg, tokens, pos, s.filled, s.cache.Len, all, out); err != nil {
		return err
	}
	inBatches(tokens, pos, all, out, m.cfg.VocabSize, func(tokens []int32, pos, outRows int, out []float32) {
		m.batch(s, tokens, pos, outRows, out)
	})
	s.filled = pos + len(tokens)
	return nil
}

// ErrContextFull is wrapped by Forward's error when the tokens do not fit in
// the State's cache.
var ErrContextFull = errors.New("past the context")

// checkForward validates a Forward call against the model and its cache.
// filled is the number of positions the cache holds now, length its size.
func checkForward(cfg *Config, tokens []int32, pos, filled, length int, all bool, out []float32) error {
	if len(tokens) == 0 {
		return errors.New("forward: no tokens")
	}
	if end := pos + len(tokens); end > length {
		return fmt.Errorf("forward: positions %d..%d are %w of %d", pos, end-1, ErrContextFull, length)
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
