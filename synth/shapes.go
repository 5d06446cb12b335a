package synth

import (
	"fmt"
	"slices"
	"strings"

	"github.com/infer-go/infer/convert"
)

// Shape is the configuration of a real model, as its config.json gives it
// (the vocabulary comes from Spec.VocabFile instead).
type Shape struct {
	Name string
	// Arch is the llama.cpp architecture the model converts to.
	Arch string
	// Embd is n_embd (hidden_size), Layers n_layer, Heads and HeadsKV the
	// query and key/value heads, HeadDim one head's width, FF the
	// feed-forward width (intermediate_size), Ctx the context length.
	Embd, Layers, Heads, HeadsKV, HeadDim, FF, Ctx int
	RopeBase                                       float32
	NormEps                                        float32 // RMSNorm or LayerNorm epsilon
	// TiedOutput: the output matrix is the token embedding (no
	// output.weight). gpt2 and phi3 always have their own output, gemma2
	// never does.
	TiedOutput bool
	// SlidingWindow is the attention window of phi3 and of gemma2's
	// alternate layers (0: none).
	SlidingWindow int
	// AttnSoftcap and FinalSoftcap are gemma2's attention-logit and
	// final-logit soft-capping.
	AttnSoftcap, FinalSoftcap float32
	// Llama3Rope is Llama 3.1's rope scaling, written as rope_freqs.weight;
	// nil for none.
	Llama3Rope *convert.Llama3RopeScaling
}

// shapes are the named shapes, from each model's config.json on the
// Hugging Face Hub.
var shapes = []Shape{
	{Name: "tinyllama-1.1b", Arch: "llama", Embd: 2048, Layers: 22, Heads: 32, HeadsKV: 4, HeadDim: 64, FF: 5632, Ctx: 2048,
		RopeBase: 10000, NormEps: 1e-5},
	{Name: "llama-3.2-1b", Arch: "llama", Embd: 2048, Layers: 16, Heads: 32, HeadsKV: 8, HeadDim: 64, FF: 8192, Ctx: 131072,
		RopeBase: 500000, NormEps: 1e-5, TiedOutput: true,
		Llama3Rope: &convert.Llama3RopeScaling{Factor: 32, LowFreqFactor: 1, HighFreqFactor: 4, OriginalContext: 8192}},
	{Name: "smollm2-135m", Arch: "llama", Embd: 576, Layers: 30, Heads: 9, HeadsKV: 3, HeadDim: 64, FF: 1536, Ctx: 8192,
		RopeBase: 100000, NormEps: 1e-5, TiedOutput: true},
	{Name: "stories15m", Arch: "llama", Embd: 288, Layers: 6, Heads: 6, HeadsKV: 6, HeadDim: 48, FF: 768, Ctx: 256,
		RopeBase: 10000, NormEps: 1e-5, TiedOutput: true},
	{Name: "qwen2.5-0.5b", Arch: "qwen2", Embd: 896, Layers: 24, Heads: 14, HeadsKV: 2, HeadDim: 64, FF: 4864, Ctx: 32768,
		RopeBase: 1000000, NormEps: 1e-6, TiedOutput: true},
	{Name: "qwen2.5-1.5b", Arch: "qwen2", Embd: 1536, Layers: 28, Heads: 12, HeadsKV: 2, HeadDim: 128, FF: 8960, Ctx: 32768,
		RopeBase: 1000000, NormEps: 1e-6, TiedOutput: true},
	{Name: "gemma-2-2b", Arch: "gemma2", Embd: 2304, Layers: 26, Heads: 8, HeadsKV: 4, HeadDim: 256, FF: 9216, Ctx: 8192,
		RopeBase: 10000, NormEps: 1e-6, TiedOutput: true, SlidingWindow: 4096, AttnSoftcap: 50, FinalSoftcap: 30},
	{Name: "phi-3-mini", Arch: "phi3", Embd: 3072, Layers: 32, Heads: 32, HeadsKV: 32, HeadDim: 96, FF: 8192, Ctx: 4096,
		RopeBase: 10000, NormEps: 1e-5, SlidingWindow: 2047},
	{Name: "gpt2-124m", Arch: "gpt2", Embd: 768, Layers: 12, Heads: 12, HeadsKV: 12, HeadDim: 64, FF: 3072, Ctx: 1024,
		NormEps: 1e-5},
	{Name: "starcoder2-3b", Arch: "starcoder2", Embd: 3072, Layers: 30, Heads: 24, HeadsKV: 2, HeadDim: 128, FF: 12288, Ctx: 16384,
		RopeBase: 999999.4, NormEps: 1e-5, TiedOutput: true},
}

// Shapes lists the named shapes.
func Shapes() []Shape { return slices.Clone(shapes) }

// LookupShape finds a named shape, case-insensitively.
func LookupShape(name string) (Shape, error) {
	for _, s := range shapes {
		if strings.EqualFold(s.Name, name) {
			return s, nil
		}
	}
	names := make([]string, len(shapes))
	for i, s := range shapes {
		names[i] = s.Name
	}
	return Shape{}, fmt.Errorf("unknown shape %q; known shapes: %s", name, strings.Join(names, ", "))
}
