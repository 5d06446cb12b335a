package model

import (
	"fmt"
	"math"

	"github.com/infer-go/infer/gguf"
)

// decoderArch is one row of the architectures table for the models that
// run llama's graph (llama.go): what their graph does differently. The zero
// value is Llama: RMSNorm, normal rotary pairs, separate q/k/v, SwiGLU,
// optional biases, output.weight or tied embeddings.
type decoderArch struct {
	layerNorm bool // LayerNorm with weight and bias (starcoder2), not RMSNorm
	// neox rotates the pairs (i, i+d/2) of each head, not (2i, 2i+1)
	// (llama.cpp's LLAMA_ROPE_TYPE_NEOX).
	neox     bool
	fusedQKV bool // one attn_qkv [embd, qDim+2·kvDim] (q, k, v), no biases (phi3)
	ffn      ffnKind
	// Which biases the file must have; optional ones are added when present.
	qkvBias, outBias, ffnBias need
	output                    outputRule
	postNorms                 bool // post_attention_norm and post_ffw_norm (gemma2)
	ropeFactors               ropeFactorKind
	// slidingLayer says which layers attend through Config.SlidingWindow;
	// nil: none.
	slidingLayer func(layer int) bool
	// hparams reads the architecture's own metadata into m (Config fields,
	// query and embedding scales) before the tensors are bound.
	hparams func(f *gguf.File, m *llama) error
}

// ffnKind is the feed-forward block.
type ffnKind uint8

const (
	swiGLU      ffnKind = iota // down(silu(gate·h) * up·h)
	fusedSwiGLU                // the same with ffn_up [embd, 2·ff] holding gate then up (phi3)
	geGLU                      // down(gelu(gate·h) * up·h), gelu's tanh form (gemma2)
	geluMLP                    // down(gelu(up·h)), no gate (starcoder2)
)

// need says whether a tensor must be in the file.
type need uint8

const (
	optional need = iota
	required
)

// outputRule says where the output projection comes from.
type outputRule uint8

const (
	outputOrTied   outputRule = iota // output.weight, else token_embd (tied)
	outputRequired                   // output.weight (phi3)
	outputTied                       // always token_embd, as llama.cpp's gemma2
)

// ropeFactorKind says which rotary frequency factors a model may have.
type ropeFactorKind uint8

const (
	noRopeFactors    ropeFactorKind = iota
	llama3Factors                   // rope_freqs.weight (Llama 3.1+)
	longShortFactors                // rope_factors_long/short.weight (Phi-3)
)

func allLayers(int) bool    { return true }
func evenLayers(l int) bool { return l%2 == 0 }

// phi3HParams reads phi3's sliding window and rope settings as llama.cpp
// c392e509 does: the window is attention.sliding_window, defaulting (for
// files converted before the key existed) to 2047 for the 32- and 40-layer
// 4k models, 262144 and 131072 for the 128k ones, and required otherwise.
// The query is scaled by 1/sqrt(head dim) before attention.
func phi3HParams(f *gguf.File, m *llama) error {
	c := &m.cfg
	switch {
	case (c.Layers == 32 || c.Layers == 40) && c.TrainContext == 4096:
		c.SlidingWindow = 2047
	case c.Layers == 32 && c.HeadsKV == 32 && c.TrainContext == 131072:
		c.SlidingWindow = 262144
	case c.Layers == 40 && c.TrainContext == 131072:
		c.SlidingWindow = 131072
	}
	key := c.Arch + ".attention.sliding_window"
	if err := readOptionalUint(f, key, &c.SlidingWindow); err != nil {
		return err
	}
	if c.SlidingWindow == 0 {
		return fmt.Errorf("key %q: missing or 0 (llama.cpp needs it for phi3 unless the model is a 32- or 40-layer Phi-3 it knows)", key)
	}
	m.origContext = c.TrainContext
	if err := readOptionalUint(f, c.Arch+".rope.scaling.original_context_length", &m.origContext); err != nil {
		return err
	}
	m.queryScale = invSqrt(c.HeadDim)
	return nil
}

// gemma2HParams reads gemma2's sliding window (default 4096) and soft-caps
// (defaults 50 and 30), and sets its scales: embeddings times sqrt(embd),
// and the query times 1/sqrt(head dim) for the 2B and 9B models or
// 1/sqrt(embd/heads) for the 27B, which llama.cpp tells apart by their layer
// count (26, 42, 46) and refuses any other.
func gemma2HParams(f *gguf.File, m *llama) error {
	c := &m.cfg
	c.SlidingWindow = 4096
	if err := readOptionalUint(f, c.Arch+".attention.sliding_window", &c.SlidingWindow); err != nil {
		return err
	}
	c.AttnSoftcap, c.FinalSoftcap = 50, 30
	for _, k := range []struct {
		key string
		dst *float32
	}{{"attn_logit_softcapping", &c.AttnSoftcap}, {"final_logit_softcapping", &c.FinalSoftcap}} {
		key := c.Arch + "." + k.key
		if !f.Has(key) {
			continue
		}
		v, err := f.Float32(key)
		if err != nil {
			return err
		}
		if !(v > 0) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("key %q: soft-cap %g is not a positive number", key, v)
		}
		*k.dst = v
	}
	switch c.Layers {
	case 26, 42: // Gemma 2 2B, 9B
		m.queryScale = invSqrt(c.HeadDim)
	case 46: // Gemma 2 27B
		m.queryScale = invSqrt(c.Embd / c.Heads)
	default:
		return fmt.Errorf("gemma2 with %d layers: llama.cpp knows the query scale only for 26, 42 and 46 layers (2B, 9B, 27B)", c.Layers)
	}
	m.embedScale = float32(math.Sqrt(float64(float32(c.Embd)))) // sqrtf(n_embd)
	return nil
}

// ropeAttnFactor reads rope.scaling.attn_factor (default 1), which
// llama.cpp multiplies into the cosines and sines of every rotation
// (cparams.yarn_attn_factor *= hparams.rope_attn_factor; Phi-3.5's long
// context files have 1.19), and refuses the rope scaling the graph does not
// implement (linear or YaRN), rather than silently computing something else.
func ropeAttnFactor(f *gguf.File, arch string) (float32, error) {
	factor := float32(1)
	if key := arch + ".rope.scaling.attn_factor"; f.Has(key) {
		v, err := f.Float32(key)
		if err != nil {
			return 0, err
		}
		if !(v > 0) || math.IsInf(float64(v), 0) {
			return 0, fmt.Errorf("key %q: %g is not a positive number", key, v)
		}
		factor = v
	}
	return factor, checkNoRopeScaling(f, arch)
}

func checkNoRopeScaling(f *gguf.File, arch string) error {
	for _, k := range []string{"rope.scaling.factor", "rope.scale_linear"} {
		key := arch + "." + k
		if !f.Has(key) {
			continue
		}
		v, err := f.Float32(key)
		if err != nil {
			return err
		}
		if v != 0 && v != 1 {
			return fmt.Errorf("key %q: rope scaling %g is not supported", key, v)
		}
	}
	if key := arch + ".rope.scaling.type"; f.Has(key) {
		t, err := f.String(key)
		if err != nil {
			return err
		}
		if t != "none" && t != "linear" { // linear by a factor of 1 is no scaling
			return fmt.Errorf("key %q: rope scaling %q is not supported", key, t)
		}
	}
	return nil
}

// readOptionalUint reads a uint32 key into dst when the file has it.
func readOptionalUint(f *gguf.File, key string, dst *int) error {
	if !f.Has(key) {
		return nil
	}
	v, err := f.Uint32(key)
	if err != nil {
		return err
	}
	if v > maxContext*64 {
		return fmt.Errorf("key %q: %d is out of range", key, v)
	}
	*dst = int(v)
	return nil
}
