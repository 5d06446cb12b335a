// Package synth writes language models of real shapes with seeded random
// weights, in any weight type infer quantizes to, with the vocabulary of a
// GGUF file: test and benchmark models for every architecture without
// downloading one.
//
//	res, err := synth.Write("qwen.gguf", synth.Spec{
//		Shape: "qwen2.5-0.5b", Type: "q4_k_m", Seed: 1,
//		VocabFile: "../shared/vocab/ggml-vocab-gpt-2.gguf",
//	})
//
// A tiny model of any architecture takes a named shape and overrides:
//
//	synth.Spec{Arch: "gemma2", Shape: "gemma-2-2b", Embd: 64, Heads: 2, HeadsKV: 1,
//		HeadDim: 32, FF: 128, Ctx: 256, Type: "q8_0", VocabFile: v, Seed: 1}
//
// The file holds exactly the metadata keys, tensor names, shapes and fused
// tensors llama.cpp's convert_hf_to_gguf.py writes for the architecture
// (llama, gpt2, qwen2, phi3, gemma2, starcoder2), so llama.cpp loads and
// runs it. The weights are scaled as a trained model's are, so that a
// forward pass behaves like one: activations stay O(1) through the layers,
// attention is not uniform and the logits spread over a few units:
//
//   - token_embd ~ N(0, 2.5/sqrt(n_embd)): the RMS-normed inputs are O(1)
//     whatever the scale, and as the tied output (or gemma2's embeddings,
//     scaled by sqrt(n_embd) in its graph) it gives logits of standard
//     deviation about 2.5; an untied output.weight has the same scale;
//   - projections ~ N(0, 1/sqrt(fan_in)), the query and key projections
//     1.5 times that (attention logits of standard deviation about 2), the
//     projections back into the residual stream (attn_output, ffn_down)
//     also divided by sqrt(2 n_layer), as GPT-2 initialises them, so the
//     residual stream stays O(1) however deep;
//   - norm weights 1 + N(0, 0.05), norm and projection biases N(0, 0.02)
//     (qwen2's q/k/v biases N(0, 0.1)), gpt2's position embeddings half
//     the token embeddings' scale; llama 3's rope_freqs.weight as its
//     rope scaling computes it.
//
// Each tensor's values depend only on the seed and the tensor's name, and
// each tensor is generated, quantized and written before the next is
// generated (convert.LanguageModel.Write), so the output is the same for
// any thread count and memory stays near the largest tensor's F32 size
// (about 260 MB for TinyLlama's embedding). The types are planned by
// llama.cpp's mixture rules (package quantize), and the file is written
// atomically.
package synth

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/infer-go/infer/convert"
	"github.com/infer-go/infer/convert/vocab"
	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/quant"
	"github.com/infer-go/infer/quantize"
)

// Architectures lists the architectures synth writes.
func Architectures() []string {
	return []string{"llama", "gpt2", "qwen2", "phi3", "gemma2", "starcoder2"}
}

// Spec says what model to write.
type Spec struct {
	// Arch is the llama.cpp architecture; empty: the shape's.
	Arch string
	// Shape names the dimensions (see Shapes), e.g. "qwen2.5-0.5b".
	Shape string
	// Type is the weight scheme as infer quantize spells it ("f16", "q8_0",
	// "q4_k_m", ...); empty: F16.
	Type string
	// VocabFile is a GGUF file (a model, or one of llama.cpp's
	// vocabulary-only files) whose tokenizer.* keys are copied; the
	// vocabulary's size is the model's.
	VocabFile string
	// Seed chooses the weights: the same Spec writes the same bytes.
	Seed uint64
	// Layers, Embd, FF, Heads, HeadsKV, HeadDim and Ctx override the
	// shape's n_layer, n_embd, feed-forward width, heads, key/value heads,
	// head width and context length; 0 keeps the shape's. Overriding Embd
	// or Heads without HeadDim makes the head width Embd/Heads.
	Layers, Embd, FF, Heads, HeadsKV, HeadDim, Ctx int
	// Untied gives the model its own output.weight where the shape ties
	// the output to the token embedding (gemma2 always ties it).
	Untied bool
	// Name is general.name; empty: "synth SHAPE seed N".
	Name string
	// Threads generates and quantizes in parallel; <= 0: every CPU. The
	// output does not depend on it.
	Threads int
	// Progress, if set, is called as tensors are written (see
	// quantize.Options).
	Progress func(tensor string, done, total uint64)
	// Context cancels a run; nil: never.
	Context context.Context
}

// Resolve applies the spec's architecture and overrides to its shape and
// checks the result against what llama.cpp accepts for the architecture.
func (s Spec) Resolve() (Shape, error) {
	sh, err := LookupShape(s.Shape)
	if err != nil {
		return Shape{}, err
	}
	if s.Arch != "" {
		sh.Arch = strings.ToLower(s.Arch)
	}
	if !slices.Contains(Architectures(), sh.Arch) {
		return Shape{}, fmt.Errorf("architecture %q: synth writes %s", sh.Arch, strings.Join(Architectures(), ", "))
	}
	for _, o := range []struct {
		name string
		v    int
	}{{"layers", s.Layers}, {"embd", s.Embd}, {"ff", s.FF}, {"heads", s.Heads}, {"heads-kv", s.HeadsKV}, {"head-dim", s.HeadDim}, {"ctx", s.Ctx}} {
		if o.v < 0 {
			return Shape{}, fmt.Errorf("%s %d: want a positive number", o.name, o.v)
		}
	}
	set := func(dst *int, v int) {
		if v > 0 {
			*dst = v
		}
	}
	set(&sh.Layers, s.Layers)
	set(&sh.Embd, s.Embd)
	set(&sh.FF, s.FF)
	set(&sh.Heads, s.Heads)
	set(&sh.HeadsKV, s.HeadsKV)
	set(&sh.Ctx, s.Ctx)
	if s.HeadsKV == 0 && sh.HeadsKV > sh.Heads {
		sh.HeadsKV = sh.Heads
	}
	switch {
	case s.HeadDim > 0:
		sh.HeadDim = s.HeadDim
	case s.Embd > 0 || s.Heads > 0:
		if sh.Embd%sh.Heads != 0 {
			return Shape{}, fmt.Errorf("n_embd %d is not a multiple of %d heads: give the head width (head-dim)", sh.Embd, sh.Heads)
		}
		sh.HeadDim = sh.Embd / sh.Heads
	}
	if s.Untied {
		if sh.Arch == "gemma2" {
			return Shape{}, fmt.Errorf("untied output: llama.cpp's gemma2 always outputs through token_embd")
		}
		sh.TiedOutput = false
	}
	switch sh.Arch {
	case "gpt2":
		sh.HeadsKV, sh.TiedOutput = sh.Heads, false // one fused QKV; llama.cpp's gpt2 has no tied output
	case "phi3":
		sh.TiedOutput = false // llama.cpp's phi3 requires output.weight
		if sh.SlidingWindow == 0 {
			sh.SlidingWindow = 2047 // Phi-3-mini's
		}
	case "gemma2":
		sh.TiedOutput = true // llama.cpp's gemma2 always outputs through token_embd
		if sh.SlidingWindow == 0 {
			sh.SlidingWindow = 4096
		}
		if sh.AttnSoftcap == 0 {
			sh.AttnSoftcap = 50
		}
		if sh.FinalSoftcap == 0 {
			sh.FinalSoftcap = 30
		}
	}
	if sh.RopeBase == 0 {
		sh.RopeBase = 10000
	}
	if sh.Arch != "llama" {
		sh.Llama3Rope = nil // rope_freqs.weight is llama's alone
	}
	switch {
	case sh.Embd < 1 || sh.Layers < 1 || sh.Heads < 1 || sh.HeadsKV < 1 || sh.HeadDim < 1 || sh.FF < 1 || sh.Ctx < 1:
		return Shape{}, fmt.Errorf("%s as %s: n_embd %d, %d layers, %d/%d heads of %d, n_ff %d, context %d: want positive sizes",
			sh.Name, sh.Arch, sh.Embd, sh.Layers, sh.Heads, sh.HeadsKV, sh.HeadDim, sh.FF, sh.Ctx)
	case sh.Heads%sh.HeadsKV != 0:
		return Shape{}, fmt.Errorf("%d heads is not a multiple of %d key/value heads", sh.Heads, sh.HeadsKV)
	case sh.HeadDim%2 != 0:
		return Shape{}, fmt.Errorf("head width %d: rotary embeddings need an even one", sh.HeadDim)
	case sh.Heads*sh.HeadDim != sh.Embd && !slices.Contains([]string{"llama", "qwen2", "gemma2"}, sh.Arch):
		return Shape{}, fmt.Errorf("%s: %d heads of %d is not n_embd %d (llama.cpp's %s needs heads x head width = n_embd)",
			sh.Arch, sh.Heads, sh.HeadDim, sh.Embd, sh.Arch)
	case sh.Arch == "gemma2" && !slices.Contains([]int{26, 42, 46}, sh.Layers):
		// llama.cpp c392e509 takes gemma2's model size (and so its query
		// scale) from the layer count and refuses any other.
		return Shape{}, fmt.Errorf("gemma2 with %d layers: llama.cpp loads gemma2 only with 26, 42 or 46 layers", sh.Layers)
	case sh.Arch == "gpt2" && sh.Ctx > 1<<20:
		return Shape{}, fmt.Errorf("gpt2 context %d: its learned position embeddings would be too large", sh.Ctx)
	}
	return sh, nil
}

// Write writes the model spec describes to path (see the package comment)
// and reports the tensors' types.
func Write(path string, spec Spec) (*quantize.Result, error) {
	sh, err := spec.Resolve()
	if err != nil {
		return nil, err
	}
	typeName := spec.Type
	if typeName == "" {
		typeName = "f16"
	}
	ft, err := quantize.ParseFileType(typeName)
	if err != nil {
		return nil, err
	}
	if spec.VocabFile == "" {
		return nil, fmt.Errorf("no vocabulary: give a GGUF file to copy it from")
	}
	if err := quantize.CheckDistinct(spec.VocabFile, path); err != nil {
		return nil, err
	}
	vocabKV, nVocab, err := vocab.FromGGUF(spec.VocabFile)
	if err != nil {
		return nil, err
	}
	if nVocab < 1 {
		return nil, fmt.Errorf("%s: an empty vocabulary", spec.VocabFile)
	}
	threads := spec.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	g := &generator{shape: sh, nVocab: nVocab, seed: spec.Seed, threads: threads}
	m, err := g.model(vocabKV)
	if err != nil {
		return nil, err
	}
	m.Name = spec.Name
	if m.Name == "" {
		m.Name = fmt.Sprintf("synth %s seed %d", sh.Name, spec.Seed)
	}
	return m.Write(path, convert.LMOptions{Type: ft,
		Options: quantize.Options{Threads: threads, Progress: spec.Progress, Context: spec.Context}})
}

// generator makes one model's tensors.
type generator struct {
	shape   Shape
	nVocab  int
	seed    uint64
	threads int
	tensors []convert.Tensor
	// buf holds the tensor being written. The writer loads one tensor at a
	// time and drops it before loading the next (convert.Tensor.Load), so
	// one buffer serves them all and memory stays at one tensor's F32 size
	// instead of the two a fresh allocation per tensor costs until the
	// garbage collector frees the last one.
	buf []byte
}

// rowInit gives the mean and standard deviation of a row's values.
type rowInit func(row int) (mean, std float64)

func constant(mean, std float64) rowInit { return func(int) (float64, float64) { return mean, std } }

// segments is a fused tensor's initialisation: rows [0, n0) by the first,
// the next n1 by the second, ...
func segments(rows []int, inits []rowInit) rowInit {
	return func(r int) (float64, float64) {
		for i, n := range rows {
			if r < n {
				return inits[i](r)
			}
			r -= n
		}
		return inits[len(inits)-1](r)
	}
}

// add appends a tensor of GGUF shape dims ([row length] or [row length,
// rows]) with values drawn as init says.
func (g *generator) add(name string, init rowInit, dims ...int) {
	d := make([]uint64, len(dims))
	for i, x := range dims {
		d[i] = uint64(x)
	}
	cols, rows := dims[0], 1
	if len(dims) > 1 {
		rows = dims[1]
	}
	g.tensors = append(g.tensors, convert.Tensor{Name: name, Dims: d, Type: quant.F32, Load: func() ([]byte, error) {
		return g.gaussian(name, rows, cols, init), nil
	}})
}

// chunkElements is how many values share one random stream: chunks are
// generated in parallel, and their streams depend only on the seed, the
// tensor's name and the chunk's index.
const chunkElements = 1 << 16

// gaussian draws rows x cols normal values, row r's with init(r), as
// little-endian float32.
func (g *generator) gaussian(name string, rows, cols int, init rowInit) []byte {
	h := fnv.New64a()
	h.Write([]byte(name))
	stream := h.Sum64() ^ g.seed*0x9e3779b97f4a7c15
	if cap(g.buf) < 4*rows*cols {
		g.buf = nil // let the old one go before the larger one is allocated
		g.buf = make([]byte, 4*rows*cols)
	}
	out := g.buf[:4*rows*cols]
	rowsPerChunk := max(1, chunkElements/cols)
	nChunks := (rows + rowsPerChunk - 1) / rowsPerChunk
	var wg sync.WaitGroup
	work := make(chan int)
	for range min(g.threads, nChunks) {
		wg.Go(func() {
			for c := range work {
				r := rand.New(rand.NewPCG(stream, uint64(c)))
				for row := c * rowsPerChunk; row < min(rows, (c+1)*rowsPerChunk); row++ {
					mean, std := init(row)
					b := out[4*row*cols : 4*(row+1)*cols]
					for i := range cols {
						binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(mean+std*r.NormFloat64())))
					}
				}
			}
		})
	}
	for c := range nChunks {
		work <- c
	}
	close(work)
	wg.Wait()
	return out
}

// model lays out the architecture's metadata and tensors as llama.cpp's
// converter writes them.
func (g *generator) model(vocabKV []gguf.KV) (*convert.LanguageModel, error) {
	sh := g.shape
	arch := sh.Arch
	E, L, H, Hkv, hd, F, V := sh.Embd, sh.Layers, sh.Heads, sh.HeadsKV, sh.HeadDim, sh.FF, g.nVocab
	qDim, kvDim := H*hd, Hkv*hd
	m := &convert.LanguageModel{Arch: arch}
	kv := func(key string, v any) { m.KV = append(m.KV, gguf.KV{Key: arch + "." + key, Value: gguf.ValueOf(v)}) }
	headWidths := func() {
		if qDim != E || arch == "gemma2" {
			kv("attention.key_length", uint32(hd))
			kv("attention.value_length", uint32(hd))
		}
	}
	// The keys in the order convert_hf_to_gguf.py writes them.
	switch arch {
	case "llama":
		kv("block_count", uint32(L))
		kv("context_length", uint32(sh.Ctx))
		kv("embedding_length", uint32(E))
		kv("feed_forward_length", uint32(F))
		kv("attention.head_count", uint32(H))
		kv("attention.head_count_kv", uint32(Hkv))
		kv("rope.freq_base", sh.RopeBase)
		kv("attention.layer_norm_rms_epsilon", sh.NormEps)
		headWidths()
		kv("vocab_size", uint32(V))
		kv("rope.dimension_count", uint32(hd))
	case "gpt2":
		kv("block_count", uint32(L))
		kv("context_length", uint32(sh.Ctx))
		kv("embedding_length", uint32(E))
		kv("feed_forward_length", uint32(F))
		kv("attention.head_count", uint32(H))
		kv("attention.layer_norm_epsilon", sh.NormEps)
	default:
		kv("context_length", uint32(sh.Ctx))
		kv("embedding_length", uint32(E))
		kv("block_count", uint32(L))
		kv("feed_forward_length", uint32(F))
		kv("attention.head_count", uint32(H))
		kv("attention.head_count_kv", uint32(Hkv))
		switch arch {
		case "qwen2":
			kv("rope.freq_base", sh.RopeBase)
			kv("attention.layer_norm_rms_epsilon", sh.NormEps)
			headWidths()
		case "phi3":
			kv("rope.scaling.original_context_length", uint32(sh.Ctx))
			kv("attention.layer_norm_rms_epsilon", sh.NormEps)
			kv("rope.dimension_count", uint32(hd))
			kv("rope.freq_base", sh.RopeBase)
			kv("attention.sliding_window", uint32(sh.SlidingWindow))
		case "gemma2":
			kv("attention.layer_norm_rms_epsilon", sh.NormEps)
			headWidths()
			kv("attn_logit_softcapping", sh.AttnSoftcap)
			kv("final_logit_softcapping", sh.FinalSoftcap)
			kv("attention.sliding_window", uint32(sh.SlidingWindow))
		case "starcoder2":
			kv("rope.freq_base", sh.RopeBase)
			kv("attention.layer_norm_epsilon", sh.NormEps)
		}
	}
	m.KV = append(m.KV, vocabKV...)

	// Scales: see the package comment.
	embStd := 2.5 / math.Sqrt(float64(E))
	in := func(fanIn int) float64 { return 1 / math.Sqrt(float64(fanIn)) }
	residual := 1 / math.Sqrt(2*float64(L))
	const qkGain = 1.5
	norm := constant(1, 0.05)
	bias := constant(0, 0.02)
	layerNorm := arch == "gpt2" || arch == "starcoder2"
	allBiases := layerNorm

	g.add("token_embd.weight", constant(0, embStd), E, V)
	if arch == "gpt2" {
		g.add("position_embd.weight", constant(0, embStd/2), E, sh.Ctx)
	}
	g.add("output_norm.weight", norm, E)
	if layerNorm {
		g.add("output_norm.bias", bias, E)
	}
	if !sh.TiedOutput {
		g.add("output.weight", constant(0, embStd), E, V)
	}
	if sh.Llama3Rope != nil {
		factors, err := convert.Llama3RopeFactors(*sh.Llama3Rope, float64(sh.RopeBase), hd)
		if err != nil {
			return nil, err
		}
		b := make([]byte, 4*len(factors))
		for i, f := range factors {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
		}
		g.tensors = append(g.tensors, convert.Tensor{Name: "rope_freqs.weight", Dims: []uint64{uint64(len(factors))}, Type: quant.F32,
			Load: func() ([]byte, error) { return b, nil }})
	}
	qk := constant(0, qkGain*in(E))
	v := constant(0, in(E))
	for i := range L {
		blk := func(s string) string { return fmt.Sprintf("blk.%d.%s", i, s) }
		withBias := func(name string, init rowInit, cols, rows int) {
			g.add(blk(name+".weight"), init, cols, rows)
			if allBiases {
				g.add(blk(name+".bias"), bias, rows)
			}
		}
		normAndBias := func(name string) {
			g.add(blk(name+".weight"), norm, E)
			if layerNorm {
				g.add(blk(name+".bias"), bias, E)
			}
		}
		normAndBias("attn_norm")
		switch arch {
		case "gpt2", "phi3":
			withBias("attn_qkv", segments([]int{qDim, kvDim, kvDim}, []rowInit{qk, qk, v}), E, qDim+2*kvDim)
		default:
			withBias("attn_q", qk, E, qDim)
			withBias("attn_k", qk, E, kvDim)
			withBias("attn_v", v, E, kvDim)
			if arch == "qwen2" {
				qkvBias := constant(0, 0.1)
				g.add(blk("attn_q.bias"), qkvBias, qDim)
				g.add(blk("attn_k.bias"), qkvBias, kvDim)
				g.add(blk("attn_v.bias"), qkvBias, kvDim)
			}
		}
		withBias("attn_output", constant(0, in(qDim)*residual), qDim, E)
		if arch == "gemma2" {
			g.add(blk("post_attention_norm.weight"), norm, E)
		}
		normAndBias("ffn_norm")
		switch arch {
		case "gpt2", "starcoder2":
			withBias("ffn_up", constant(0, in(E)), E, F)
		case "phi3":
			g.add(blk("ffn_up.weight"), constant(0, in(E)), E, 2*F) // gate, then up
		default:
			g.add(blk("ffn_gate.weight"), constant(0, in(E)), E, F)
			g.add(blk("ffn_up.weight"), constant(0, in(E)), E, F)
		}
		withBias("ffn_down", constant(0, in(F)*residual), F, E)
		if arch == "gemma2" {
			g.add(blk("post_ffw_norm.weight"), norm, E)
		}
	}
	m.Tensors = g.tensors
	return m, nil
}
