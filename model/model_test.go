package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/ops"
	"github.com/infer-go/infer/quant"
)

// tinySpec describes a small random model written with gguf.NewWriter, so
// the loader and forward passes can be tested without the reference data.
type tinySpec struct {
	arch                                    string // "llama" or "gpt2"
	embd, layers, heads, headsKV, ff, vocab int
	ctx                                     int
	ropeDims                                int        // llama: 0 means head dim
	ropeFreqs                               bool       // llama: write rope_freqs.weight
	weightType                              quant.Type // of the matrices
	tied                                    bool       // leave output.weight out
	noKVHeads                               bool       // leave attention.head_count_kv out
	activation                              string     // gpt2.activation, if set
	headDim                                 int        // attention.key_length/value_length; 0: embd/heads
	slidingWindow                           int        // attention.sliding_window; 0: not written
	ropeFactors                             bool       // phi3: write rope_factors_long/short.weight
	origCtx                                 int        // phi3: rope.scaling.original_context_length; 0: ctx
	ropeAttnFactor                          float32    // rope.scaling.attn_factor; 0: not written
	spmVocab                                bool       // write tinySPMTokens as a SentencePiece vocabulary (vocab must match)

	// shapes overrides the dims of a tensor (and the amount of data written);
	// missing leaves one out.
	shapes  map[string][]uint64
	missing string
	// archName overrides general.architecture.
	archName string
}

// tensor is one tensor of a tiny model: its name, dims and float values.
type tensor struct {
	name string
	dims []uint64
	vals []float32
}

// tensors returns the model's tensors with deterministic random values:
// norms near 1, biases and weights small, so activations stay O(1).
func (s tinySpec) tensors() []tensor {
	if s.arch != "llama" && s.arch != "gpt2" {
		return s.decoderTensors()
	}
	rng := rand.New(rand.NewPCG(1, uint64(len(s.arch))))
	e, kv, ff := s.embd, s.headsKV*(s.embd/s.heads), s.ff
	var ts []tensor
	add := func(name string, scale, offset float64, dims ...int) {
		d := make([]uint64, len(dims))
		for i, x := range dims {
			d[i] = uint64(x)
		}
		if o, ok := s.shapes[name]; ok {
			d = o
		}
		n := 1
		for _, x := range d {
			n *= int(x)
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(offset + scale*rng.NormFloat64())
		}
		ts = append(ts, tensor{name, d, v})
	}
	add("token_embd.weight", 1, 0, e, s.vocab)
	if s.arch == "gpt2" {
		add("position_embd.weight", 0.5, 0, e, s.ctx)
	}
	add("output_norm.weight", 0.1, 1, e)
	if s.arch == "gpt2" {
		add("output_norm.bias", 0.1, 0, e)
	}
	if !s.tied {
		add("output.weight", 0.2, 0, e, s.vocab)
	}
	if s.ropeFreqs {
		ropeDims := s.ropeDims
		if ropeDims == 0 {
			ropeDims = s.embd / s.heads
		}
		add("rope_freqs.weight", 0.5, 2, ropeDims/2)
	}
	w := 1 / math.Sqrt(float64(e))
	for l := range s.layers {
		b := func(n string) string { return fmt.Sprintf("blk.%d.%s", l, n) }
		add(b("attn_norm.weight"), 0.1, 1, e)
		add(b("ffn_norm.weight"), 0.1, 1, e)
		add(b("attn_output.weight"), w, 0, e, e)
		add(b("ffn_up.weight"), w, 0, e, ff)
		add(b("ffn_down.weight"), 1/math.Sqrt(float64(ff)), 0, ff, e)
		if s.arch == "gpt2" {
			add(b("attn_norm.bias"), 0.1, 0, e)
			add(b("ffn_norm.bias"), 0.1, 0, e)
			add(b("attn_qkv.weight"), w, 0, e, e+2*kv)
			add(b("attn_qkv.bias"), 0.1, 0, e+2*kv)
			add(b("attn_output.bias"), 0.1, 0, e)
			add(b("ffn_up.bias"), 0.1, 0, ff)
			add(b("ffn_down.bias"), 0.1, 0, e)
		} else {
			add(b("attn_q.weight"), w, 0, e, e)
			add(b("attn_k.weight"), w, 0, e, kv)
			add(b("attn_v.weight"), w, 0, e, kv)
			add(b("ffn_gate.weight"), w, 0, e, ff)
		}
	}
	return ts
}

func isMatrix(t tensor) bool {
	return len(t.dims) == 2 && t.name != "position_embd.weight"
}

// write stores the model in dir and returns its path.
func (s tinySpec) write(tb testing.TB, dir string) string {
	tb.Helper()
	w := gguf.NewWriter()
	arch := s.arch
	if s.archName != "" {
		arch = s.archName
	}
	kv := func(k string, v any) { w.AddKV(k, gguf.ValueOf(v)) }
	kv("general.architecture", arch)
	kv(arch+".context_length", uint32(s.ctx))
	kv(arch+".embedding_length", uint32(s.embd))
	kv(arch+".block_count", uint32(s.layers))
	kv(arch+".feed_forward_length", uint32(s.ff))
	kv(arch+".attention.head_count", uint32(s.heads))
	if !s.noKVHeads {
		kv(arch+".attention.head_count_kv", uint32(s.headsKV))
	}
	if s.arch == "gpt2" || s.arch == "starcoder2" {
		kv(arch+".attention.layer_norm_epsilon", float32(1e-5))
	} else {
		kv(arch+".attention.layer_norm_rms_epsilon", float32(1e-5))
	}
	if s.arch != "gpt2" {
		kv(arch+".rope.freq_base", float32(10000))
		if s.ropeDims != 0 {
			kv(arch+".rope.dimension_count", uint32(s.ropeDims))
		}
	}
	if s.headDim != 0 {
		kv(arch+".attention.key_length", uint32(s.headDim))
		kv(arch+".attention.value_length", uint32(s.headDim))
	}
	if s.slidingWindow != 0 {
		kv(arch+".attention.sliding_window", uint32(s.slidingWindow))
	}
	switch s.arch {
	case "gemma2":
		kv(arch+".attn_logit_softcapping", float32(50))
		kv(arch+".final_logit_softcapping", float32(30))
	case "phi3":
		orig := s.origCtx
		if orig == 0 {
			orig = s.ctx
		}
		kv(arch+".rope.scaling.original_context_length", uint32(orig))
	}
	if s.ropeAttnFactor != 0 {
		kv(arch+".rope.scaling.attn_factor", s.ropeAttnFactor)
	}
	if s.spmVocab {
		writeTinySPM(w)
	}
	if s.activation != "" {
		kv(activationKey, s.activation)
	}
	for _, t := range s.tensors() {
		if t.name == s.missing {
			continue
		}
		typ := quant.F32
		if isMatrix(t) {
			typ = s.weightType
		}
		data := make([]byte, len(t.vals)/typ.BlockSize()*typ.TypeSize())
		if err := quant.Quantize(typ, data, t.vals); err != nil {
			tb.Fatal(err)
		}
		if err := w.AddTensor(t.name, typ, t.dims, data); err != nil {
			tb.Fatal(err)
		}
	}
	path := filepath.Join(dir, "tiny.gguf")
	if err := w.WriteFile(path); err != nil {
		tb.Fatal(err)
	}
	return path
}

var tinyLlama = tinySpec{arch: "llama", embd: 64, layers: 2, heads: 4, headsKV: 4, ff: 96, vocab: 96, ctx: 32, weightType: quant.F32}

var tinyGPT2 = tinySpec{arch: "gpt2", embd: 64, layers: 2, heads: 4, headsKV: 4, ff: 128, vocab: 96, ctx: 32, weightType: quant.F32}

// tinyDecoders are tiny models of the other architectures of llama's graph,
// each with what sets it apart (see archReferenceSpecs), in Q8_0.
var tinyDecoders = []tinySpec{
	{arch: "qwen2", embd: 64, layers: 2, heads: 4, headsKV: 2, ff: 96, vocab: 96, ctx: 32, weightType: quant.Q8_0},
	{arch: "phi3", embd: 64, layers: 2, heads: 4, headsKV: 2, ff: 96, vocab: 96, ctx: 32, weightType: quant.Q8_0,
		slidingWindow: 3, ropeDims: 8, ropeFactors: true},
	{arch: "gemma2", embd: 64, layers: 26, heads: 4, headsKV: 2, headDim: 32, ff: 96, vocab: 96, ctx: 32, weightType: quant.Q8_0,
		slidingWindow: 4, tied: true},
	{arch: "starcoder2", embd: 64, layers: 2, heads: 4, headsKV: 2, ff: 96, vocab: 96, ctx: 32, weightType: quant.Q8_0},
}

// loadTiny writes spec into a temporary directory and loads it.
func loadTiny(tb testing.TB, spec tinySpec, opts Options) (LM, error) {
	tb.Helper()
	f, err := gguf.Open(spec.write(tb, tb.TempDir()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	return Load(f, opts)
}

func mustLoadTiny(tb testing.TB, spec tinySpec, opts Options) LM {
	tb.Helper()
	lm, err := loadTiny(tb, spec, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return lm
}

func mustState(tb testing.TB, lm LM) *State {
	tb.Helper()
	st, err := lm.NewState(0)
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

func TestLoadErrors(t *testing.T) {
	q := func(s tinySpec, f func(*tinySpec)) tinySpec { f(&s); return s }
	tests := []struct {
		name string
		spec tinySpec
		opts Options
		want string
	}{
		{"shape disagrees with metadata", q(tinyLlama, func(s *tinySpec) {
			s.shapes = map[string][]uint64{"blk.1.attn_q.weight": {64, 128}}
		}), Options{}, `tensor "blk.1.attn_q.weight": shape [64 128], want [64 64]`},
		{"ffn width disagrees", q(tinyGPT2, func(s *tinySpec) {
			s.shapes = map[string][]uint64{"blk.0.ffn_down.weight": {96, 64}}
		}), Options{}, `tensor "blk.0.ffn_down.weight": shape [96 64], want [128 64]`},
		{"norm length disagrees", q(tinyLlama, func(s *tinySpec) {
			s.shapes = map[string][]uint64{"output_norm.weight": {32}}
		}), Options{}, `tensor "output_norm.weight": shape [32], want [64]`},
		{"missing tensor", q(tinyLlama, func(s *tinySpec) { s.missing = "blk.1.ffn_gate.weight" }),
			Options{}, `tensor "blk.1.ffn_gate.weight": missing`},
		{"missing gpt2 bias", q(tinyGPT2, func(s *tinySpec) { s.missing = "blk.0.attn_qkv.bias" }),
			Options{}, `tensor "blk.0.attn_qkv.bias": missing`},
		{"unknown architecture", q(tinyLlama, func(s *tinySpec) { s.archName = "mamba" }),
			Options{}, `unknown architecture "mamba" (supported: gemma2, gpt2, llama, phi3, qwen2, starcoder2)`},
		{"unsupported weight type", q(tinyLlama, func(s *tinySpec) { s.weightType = quant.Q8_1 }),
			Options{}, `tensor "output.weight": matrix multiplication with Q8_1 weights is not supported`},
		{"gpt2 context past its positions", tinyGPT2, Options{ContextLength: 64}, "context length 64 is longer than the 32 learned positions"},
		{"rope dims past head dim", q(tinyLlama, func(s *tinySpec) { s.ropeDims = 32 }),
			Options{}, `key "llama.rope.dimension_count": 32 out of range [2, 16]`},
		{"bad gpt2 activation", q(tinyGPT2, func(s *tinySpec) { s.activation = "relu" }),
			Options{}, `activation "relu" is not supported`},
		{"missing qwen2 bias", q(tinyDecoders[0], func(s *tinySpec) { s.missing = "blk.1.attn_k.bias" }),
			Options{}, `tensor "blk.1.attn_k.bias": missing`},
		{"phi3 without a sliding window", q(tinyDecoders[1], func(s *tinySpec) { s.slidingWindow = 0 }),
			Options{}, `key "phi3.attention.sliding_window": missing or 0`},
		{"phi3 without output", q(tinyDecoders[1], func(s *tinySpec) { s.tied = true }),
			Options{}, `tensor "output.weight": missing`},
		{"phi3 fused ffn_up too narrow", q(tinyDecoders[1], func(s *tinySpec) {
			s.shapes = map[string][]uint64{"blk.0.ffn_up.weight": {64, 96}}
		}), Options{}, `tensor "blk.0.ffn_up.weight": shape [64 96], want [64 192]`},
		{"gemma2 of unknown size", q(tinyDecoders[2], func(s *tinySpec) { s.layers = 25 }),
			Options{}, "gemma2 with 25 layers: llama.cpp knows the query scale only for 26, 42 and 46 layers"},
		{"gemma2 q width from key_length", q(tinyDecoders[2], func(s *tinySpec) {
			s.shapes = map[string][]uint64{"blk.3.attn_q.weight": {64, 64}}
		}), Options{}, `tensor "blk.3.attn_q.weight": shape [64 64], want [64 128]`},
		{"gemma2 output from key_length", q(tinyDecoders[2], func(s *tinySpec) {
			s.shapes = map[string][]uint64{"blk.0.attn_output.weight": {64, 64}}
		}), Options{}, `tensor "blk.0.attn_output.weight": shape [64 64], want [128 64]`},
		{"gemma2 post-norm missing", q(tinyDecoders[2], func(s *tinySpec) { s.missing = "blk.7.post_ffw_norm.weight" }),
			Options{}, `tensor "blk.7.post_ffw_norm.weight": missing`},
		{"missing starcoder2 norm bias", q(tinyDecoders[3], func(s *tinySpec) { s.missing = "blk.0.ffn_norm.bias" }),
			Options{}, `tensor "blk.0.ffn_norm.bias": missing`},
		{"missing starcoder2 ffn bias", q(tinyDecoders[3], func(s *tinySpec) { s.missing = "blk.1.ffn_up.bias" }),
			Options{}, `tensor "blk.1.ffn_up.bias": missing`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lm, err := loadTiny(t, tt.spec, tt.opts)
			if err == nil {
				t.Fatalf("Load succeeded (%s), want error containing %q", lm.Arch(), tt.want)
			}
			if !contains(err.Error(), tt.want) {
				t.Fatalf("Load error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestForwardErrors(t *testing.T) {
	for _, spec := range append([]tinySpec{tinyLlama, tinyGPT2}, tinyDecoders...) {
		t.Run(spec.arch, func(t *testing.T) {
			lm := mustLoadTiny(t, spec, Options{})
			st := mustState(t, lm)
			vocab := lm.Config().VocabSize
			out := make([]float32, 40*vocab)
			if err := st.Forward([]int32{1, 2, 3}, 0, false, out); err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				name   string
				tokens []int32
				pos    int
				all    bool
				out    []float32
				want   string
			}{
				{"position past the context", []int32{1, 2}, 31, false, out, "positions 31..32 are past the context of 32"},
				{"batch past the context", make([]int32, 33), 0, true, out, "positions 0..32 are past the context of 32"},
				{"token id too large", []int32{1, int32(vocab)}, 3, false, out, fmt.Sprintf("token %d (batch index 1) out of range [0, %d)", vocab, vocab)},
				{"negative token id", []int32{-1}, 3, false, out, "token -1 (batch index 0) out of range"},
				{"gap after the cache", []int32{1}, 5, false, out, "position 5: the cache holds 3 positions, so a batch must start at 0..3"},
				{"negative position", []int32{1}, -1, false, out, "position -1"},
				{"no tokens", nil, 0, false, out, "no tokens"},
				{"logits buffer too small", []int32{1, 2}, 3, true, out[:vocab], fmt.Sprintf("holds %d floats, need %d", vocab, 2*vocab)},
			}
			for _, tt := range tests {
				if err := st.Forward(tt.tokens, tt.pos, tt.all, tt.out); err == nil || !contains(err.Error(), tt.want) {
					t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
				}
			}
		})
	}
}

func TestConfig(t *testing.T) {
	spec := tinyLlama
	spec.headsKV, spec.noKVHeads = 4, true // head_count_kv defaults to head_count
	lm := mustLoadTiny(t, spec, Options{})
	cfg := lm.Config()
	want := Config{Arch: "llama", VocabSize: 96, ContextLength: 32, TrainContext: 32, Embd: 64, Layers: 2,
		Heads: 4, HeadsKV: 4, HeadDim: 16, FF: 96, RopeDims: 16, RopeBase: 10000, NormEps: 1e-5, CacheType: CacheF16}
	if cfg != want {
		t.Errorf("Config() = %+v\nwant       %+v", cfg, want)
	}
	// F16 cache: K and V, 2 layers x 32 positions x 64 values x 2 bytes.
	if got := mustState(t, lm).KVCacheBytes(); got != 2*2*32*64*2 {
		t.Errorf("KVCacheBytes() = %d, want %d", got, 2*2*32*64*2)
	}
	lm = mustLoadTiny(t, tinyLlama, Options{ContextLength: 8, CacheType: CacheF32})
	if cfg := lm.Config(); cfg.ContextLength != 8 || cfg.CacheType != CacheF32 {
		t.Errorf("with options: ContextLength %d, CacheType %v; want 8, F32", cfg.ContextLength, cfg.CacheType)
	}
	if got := mustState(t, lm).KVCacheBytes(); got != 2*2*8*64*4 {
		t.Errorf("F32 KVCacheBytes() = %d, want %d", got, 2*2*8*64*4)
	}
}

// maxAbs is the largest |x[i]|.
func maxAbs(x []float32) float64 {
	m := 0.0
	for _, v := range x {
		m = max(m, math.Abs(float64(v)))
	}
	return m
}

// sameRoutes reports whether llama.cpp multiplies weights of type t in the
// same order for one activation row and for a batch. For F32 and F16 it
// does not (ggml's vec_dot for one row, llamafile's tinyBLAS for batches),
// so a row computed alone and in a batch may differ in the last bits, in
// llama.cpp as here.
func sameRoutes(t quant.Type) bool { return t != quant.F32 && t != quant.F16 }

// closeLogits is the tolerance between logits computed through the two
// routes, relative to the largest logit: a last-bit difference can flip the
// f16 rounding of an input of gpt2's GELU table, which moves its output by
// up to an f16 step (2^-11 relative).
const closeLogits = 1e-3

// TestBatchMatchesIncremental checks that a prompt run as one batch gives the
// same logits as the same tokens fed one at a time (bit for bit where
// llama.cpp's kernels make that so, else within rounding), that all=false
// returns the batch's last row, and that pos=0 starts over.
func TestBatchMatchesIncremental(t *testing.T) {
	gqa := tinyLlama
	gqa.headsKV, gqa.weightType = 2, quant.Q8_0
	for _, spec := range append([]tinySpec{tinyLlama, gqa, tinyGPT2}, tinyDecoders...) {
		t.Run(fmt.Sprintf("%s-kv%d-%v", spec.arch, spec.headsKV, spec.weightType), func(t *testing.T) {
			pool := ops.NewPool(2)
			defer pool.Close()
			lm := mustLoadTiny(t, spec, Options{Pool: pool})
			st := mustState(t, lm)
			vocab := lm.Config().VocabSize
			tokens := []int32{5, 17, 3, 90, 42, 42, 7, 0, 63}
			n := len(tokens)
			batch := make([]float32, n*vocab)
			if err := st.Forward(tokens, 0, true, batch); err != nil {
				t.Fatal(err)
			}
			tol := 0.0
			if !sameRoutes(spec.weightType) {
				tol = closeLogits * maxAbs(batch)
			}
			one := make([]float32, vocab)
			// Round 1 starts over at pos 0 and must repeat round 0's logits.
			var first []float32
			for round := range 2 {
				for i, tok := range tokens {
					if err := st.Forward([]int32{tok}, i, false, one); err != nil {
						t.Fatal(err)
					}
					if d := maxAbsDiff(one, batch[i*vocab:(i+1)*vocab]); d > tol {
						t.Fatalf("round %d position %d: incremental logits differ from the batch's by %g", round, i, d)
					}
					if round == 0 {
						first = append(first, one...)
					} else if d := maxAbsDiff(one, first[i*vocab:(i+1)*vocab]); d != 0 {
						t.Fatalf("position %d: starting over changed the incremental logits by %g", i, d)
					}
				}
			}
			last := make([]float32, vocab)
			if err := st.Forward(tokens, 0, false, last); err != nil {
				t.Fatal(err)
			}
			if d := maxAbsDiff(last, batch[(n-1)*vocab:]); d > tol {
				t.Fatalf("all=false logits differ from the batch's last row by %g", d)
			}
			// Rewinding into the cache (pos < filled) overwrites what follows.
			again := make([]float32, vocab)
			if err := st.Forward(tokens[4:], 4, false, again); err != nil {
				t.Fatal(err)
			}
			if err := st.Forward(tokens, 0, false, last); err != nil {
				t.Fatal(err)
			}
			if err := st.Forward(tokens[4:], 4, false, one); err != nil {
				t.Fatal(err)
			}
			if d := maxAbsDiff(again, one); d != 0 {
				t.Fatalf("re-running from position 4 changed the last logits by %g", d)
			}
		})
	}
}

// TestLongInputInBatches checks that an input longer than maxBatch, run in
// several batches, gives the logits of a single batch: bit for bit, since
// every batch of two rows or more takes the same kernels (the last batch
// here has three tokens).
func TestLongInputInBatches(t *testing.T) {
	for _, spec := range append([]tinySpec{tinyLlama, tinyGPT2}, tinyDecoders...) {
		t.Run(spec.arch, func(t *testing.T) {
			lm := mustLoadTiny(t, spec, Options{})
			st := mustState(t, lm)
			vocab := lm.Config().VocabSize
			tokens := []int32{3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5}
			whole := make([]float32, len(tokens)*vocab)
			if err := st.Forward(tokens, 0, true, whole); err != nil {
				t.Fatal(err)
			}
			wholeLast := make([]float32, vocab)
			if err := st.Forward(tokens, 0, false, wholeLast); err != nil {
				t.Fatal(err)
			}
			defer func(b int) { maxBatch = b }(maxBatch)
			maxBatch = 4
			split := make([]float32, len(tokens)*vocab)
			if err := st.Forward(tokens, 0, true, split); err != nil {
				t.Fatal(err)
			}
			if d := maxAbsDiff(split, whole); d != 0 {
				t.Fatalf("all positions: batches of 4 differ from one batch by %g", d)
			}
			last := make([]float32, vocab)
			if err := st.Forward(tokens, 0, false, last); err != nil {
				t.Fatal(err)
			}
			if d := maxAbsDiff(last, wholeLast); d != 0 {
				t.Fatalf("last position: batches of 4 differ from one batch by %g", d)
			}
		})
	}
}

func TestTiedOutput(t *testing.T) {
	// A model without output.weight multiplies by token_embd.
	tied := tinyLlama
	tied.tied = true
	lmTied := mustLoadTiny(t, tied, Options{CacheType: CacheF32})
	stTied := mustState(t, lmTied)
	vocab := lmTied.Config().VocabSize
	got := make([]float32, vocab)
	if err := stTied.Forward([]int32{1, 2, 3}, 0, false, got); err != nil {
		t.Fatal(err)
	}
	ref := naiveForward(t, tied, []int32{1, 2, 3})
	if d := maxAbsDiff(got, ref[len(ref)-vocab:]); d > 1e-3 {
		t.Fatalf("tied output: logits differ from the naive forward by %g", d)
	}
}

// TestMatchesNaiveForward compares the forward passes with a straightforward
// float64 implementation written from the equations, on F32 weights and an
// F32 cache (so MatMul does not quantize activations): grouped-query heads,
// partial rotary dimensions with frequency factors, and both GELUs.
func TestMatchesNaiveForward(t *testing.T) {
	gqa := tinyLlama
	gqa.headsKV, gqa.ropeDims, gqa.ropeFreqs = 2, 8, true
	erf := tinyGPT2
	erf.activation = "gelu_erf"
	for _, spec := range []tinySpec{tinyLlama, gqa, tinyGPT2, erf} {
		t.Run(fmt.Sprintf("%s-kv%d-rope%d-%s", spec.arch, spec.headsKV, spec.ropeDims, spec.activation), func(t *testing.T) {
			lm := mustLoadTiny(t, spec, Options{CacheType: CacheF32})
			st := mustState(t, lm)
			tokens := []int32{9, 4, 77, 31, 31, 2, 60}
			vocab := lm.Config().VocabSize
			got := make([]float32, len(tokens)*vocab)
			if err := st.Forward(tokens, 0, true, got); err != nil {
				t.Fatal(err)
			}
			want := naiveForward(t, spec, tokens)
			// GELU's f16 table (tanh variant) rounds to about 1e-3.
			tol := 1e-4
			if spec.arch == "gpt2" && spec.activation == "" {
				tol = 2e-2
			}
			if d := maxAbsDiff(got, want); d > tol {
				t.Fatalf("logits differ from the naive forward by %g (tolerance %g)", d, tol)
			}
		})
	}
}

func maxAbsDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

// naiveForward computes every position's logits for spec's random model in
// float64, directly from the equations of the architecture.
func naiveForward(t *testing.T, spec tinySpec, tokens []int32) []float32 {
	t.Helper()
	w := map[string][]float64{}
	for _, ts := range spec.tensors() {
		v := make([]float64, len(ts.vals))
		for i, x := range ts.vals {
			v[i] = float64(x)
		}
		w[ts.name] = v
	}
	e, hd := spec.embd, spec.embd/spec.heads
	kvDim := spec.headsKV * hd
	n := len(tokens)
	row := func(m []float64, cols, r int) []float64 { return m[r*cols : (r+1)*cols] }
	matvec := func(m []float64, cols int, x []float64) []float64 {
		out := make([]float64, len(m)/cols)
		for r := range out {
			for c, v := range row(m, cols, r) {
				out[r] += v * x[c]
			}
		}
		return out
	}
	rmsNorm := func(x, g []float64) []float64 {
		var ss float64
		for _, v := range x {
			ss += v * v
		}
		s := 1 / math.Sqrt(ss/float64(len(x))+1e-5)
		out := make([]float64, len(x))
		for i := range x {
			out[i] = x[i] * s * g[i]
		}
		return out
	}
	layerNorm := func(x, g, b []float64) []float64 {
		var mean, vr float64
		for _, v := range x {
			mean += v
		}
		mean /= float64(len(x))
		for _, v := range x {
			vr += (v - mean) * (v - mean)
		}
		s := 1 / math.Sqrt(vr/float64(len(x))+1e-5)
		out := make([]float64, len(x))
		for i := range x {
			out[i] = (x[i]-mean)*s*g[i] + b[i]
		}
		return out
	}
	addTo := func(x, y []float64) {
		for i := range x {
			x[i] += y[i]
		}
	}
	ropeDims := spec.ropeDims
	if ropeDims == 0 {
		ropeDims = hd
	}
	rope := func(x []float64, heads, pos int) {
		for h := range heads {
			for i := 0; i < ropeDims/2; i++ {
				theta := float64(pos) * math.Pow(10000, -2*float64(i)/float64(ropeDims))
				if f, ok := w["rope_freqs.weight"]; ok {
					theta /= f[i]
				}
				a, b := x[h*hd+2*i], x[h*hd+2*i+1]
				x[h*hd+2*i] = a*math.Cos(theta) - b*math.Sin(theta)
				x[h*hd+2*i+1] = a*math.Sin(theta) + b*math.Cos(theta)
			}
		}
	}

	x := make([][]float64, n)
	for i, tok := range tokens {
		x[i] = append([]float64(nil), row(w["token_embd.weight"], e, int(tok))...)
		if spec.arch == "gpt2" {
			addTo(x[i], row(w["position_embd.weight"], e, i))
		}
	}
	for l := range spec.layers {
		p := func(s string) []float64 { return w[fmt.Sprintf("blk.%d.%s", l, s)] }
		q, k, v := make([][]float64, n), make([][]float64, n), make([][]float64, n)
		for i := range n {
			if spec.arch == "gpt2" {
				h := layerNorm(x[i], p("attn_norm.weight"), p("attn_norm.bias"))
				qkv := matvec(p("attn_qkv.weight"), e, h)
				addTo(qkv, p("attn_qkv.bias"))
				q[i], k[i], v[i] = qkv[:e], qkv[e:e+kvDim], qkv[e+kvDim:]
			} else {
				h := rmsNorm(x[i], p("attn_norm.weight"))
				q[i], k[i], v[i] = matvec(p("attn_q.weight"), e, h), matvec(p("attn_k.weight"), e, h), matvec(p("attn_v.weight"), e, h)
				rope(q[i], spec.heads, i)
				rope(k[i], spec.headsKV, i)
			}
		}
		for i := range n {
			att := make([]float64, e)
			for h := range spec.heads {
				g := h / (spec.heads / spec.headsKV)
				scores := make([]float64, i+1)
				var mx float64 = math.Inf(-1)
				for j := range scores {
					for d := range hd {
						scores[j] += q[i][h*hd+d] * k[j][g*hd+d]
					}
					scores[j] /= math.Sqrt(float64(hd))
					mx = math.Max(mx, scores[j])
				}
				var sum float64
				for j := range scores {
					scores[j] = math.Exp(scores[j] - mx)
					sum += scores[j]
				}
				for j := range scores {
					for d := range hd {
						att[h*hd+d] += scores[j] / sum * v[j][g*hd+d]
					}
				}
			}
			o := matvec(p("attn_output.weight"), e, att)
			if spec.arch == "gpt2" {
				addTo(o, p("attn_output.bias"))
			}
			addTo(x[i], o)

			var f []float64
			if spec.arch == "gpt2" {
				h := layerNorm(x[i], p("ffn_norm.weight"), p("ffn_norm.bias"))
				u := matvec(p("ffn_up.weight"), e, h)
				addTo(u, p("ffn_up.bias"))
				for j, z := range u {
					if spec.activation == "gelu_erf" {
						u[j] = 0.5 * z * (1 + math.Erf(z/math.Sqrt2))
					} else {
						u[j] = 0.5 * z * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(z+0.044715*z*z*z)))
					}
				}
				f = matvec(p("ffn_down.weight"), spec.ff, u)
				addTo(f, p("ffn_down.bias"))
			} else {
				h := rmsNorm(x[i], p("ffn_norm.weight"))
				g, u := matvec(p("ffn_gate.weight"), e, h), matvec(p("ffn_up.weight"), e, h)
				for j := range g {
					g[j] = g[j] / (1 + math.Exp(-g[j])) * u[j]
				}
				f = matvec(p("ffn_down.weight"), spec.ff, g)
			}
			addTo(x[i], f)
		}
	}
	out := make([]float32, 0, n*spec.vocab)
	outW := w["output.weight"]
	if spec.tied {
		outW = w["token_embd.weight"]
	}
	for i := range n {
		var h []float64
		if spec.arch == "gpt2" {
			h = layerNorm(x[i], w["output_norm.weight"], w["output_norm.bias"])
		} else {
			h = rmsNorm(x[i], w["output_norm.weight"])
		}
		for _, v := range matvec(outW, e, h) {
			out = append(out, float32(v))
		}
	}
	return out
}

// FuzzLoad feeds mutated tiny models to Load: it must return an error or a
// model whose Forward works, never panic.
func FuzzLoad(f *testing.F) {
	for _, spec := range append([]tinySpec{tinyLlama, tinyGPT2}, tinyDecoders...) {
		spec.ctx = 4
		if spec.arch != "gemma2" { // gemma2 needs one of llama.cpp's layer counts
			spec.layers = 1
		}
		data, err := os.ReadFile(spec.write(f, f.TempDir()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		gf, err := gguf.Parse(data)
		if err != nil {
			return
		}
		lm, err := Load(gf, Options{ContextLength: 4})
		if err != nil {
			return
		}
		st, err := lm.NewState(0)
		if err != nil {
			t.Fatalf("NewState on a model Load accepted: %v", err)
		}
		out := make([]float32, 2*lm.Config().VocabSize)
		if err := st.Forward([]int32{0, 1 % int32(lm.Config().VocabSize)}, 0, true, out); err != nil {
			t.Fatalf("Forward on a model Load accepted: %v", err)
		}
	})
}
