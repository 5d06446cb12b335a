package convert

// Hugging Face model directories (read by source.OpenHFDir): the
// architecture comes from config.json's "architectures" (or "model_type"),
// as convert_hf_to_gguf.py chooses it; the per-architecture mapping lives in
// hf_llama.go, hf_gpt2.go, hf_qwen2.go, hf_phi3.go, hf_gemma2.go and
// hf_starcoder2.go, the vocabulary in the vocab package.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/infer-go/infer/convert/source"
	"github.com/infer-go/infer/convert/vocab"
	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/quant"
	"github.com/infer-go/infer/quantize"
)

// hfArchitectures maps config.json's architectures (and model_type values)
// to the converter for them.
var hfArchitectures = map[string]func(h hfDir, opts *LMOptions) (*LanguageModel, error){
	"LlamaForCausalLM":   hfLlama,
	"LLaMAForCausalLM":   hfLlama,
	"MistralForCausalLM": hfLlama,
	"llama":              hfLlama,
	"mistral":            hfLlama,
	"GPT2LMHeadModel":    hfGPT2,
	"gpt2":               hfGPT2,
	// Qwen2.5-VL and the other wrappers that register as Qwen2 in
	// llama.cpp hold vision tensors this mapping does not take.
	"Qwen2ForCausalLM":      hfQwen2,
	"qwen2":                 hfQwen2,
	"Phi3ForCausalLM":       hfPhi3,
	"phi3":                  hfPhi3,
	"Gemma2ForCausalLM":     hfGemma2,
	"gemma2":                hfGemma2,
	"Starcoder2ForCausalLM": hfStarcoder2,
	"starcoder2":            hfStarcoder2,
}

// HFArchitectures lists the config.json architectures ConvertHF converts.
func HFArchitectures() []string {
	var out []string
	for a := range hfArchitectures {
		if strings.Contains(a, "For") || strings.HasSuffix(a, "Model") {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

// ConvertHF converts the Hugging Face model in directory dir (GPT-2,
// Llama-family, Qwen2, Phi-3, Gemma 2 or StarCoder2: config.json,
// safetensors weights, tokenizer files; see HFArchitectures) to
// a GGUF file at out, the way llama.cpp's convert_hf_to_gguf.py does.
// Tensors are read through the files' mappings and written one at a time;
// on any error no output file is left.
func ConvertHF(dir, out string, opts LMOptions) (*quantize.Result, error) {
	d, err := source.OpenHFDir(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	h := hfDir{d}
	if err := checkNotInside(out, h.WeightFiles()); err != nil {
		return nil, err
	}
	arch, conv, err := h.architecture()
	if err != nil {
		return nil, err
	}
	m, err := conv(h, &opts)
	if err != nil {
		return nil, fmt.Errorf("%s (%s): %w", dir, arch, err)
	}
	if err := h.CheckAllUsed(); err != nil {
		return nil, fmt.Errorf("%s (%s): %w", dir, arch, err)
	}
	if m.Name == "" {
		if abs, err := filepath.Abs(dir); err == nil {
			m.Name = filepath.Base(abs)
		}
	}
	return m.Write(out, opts)
}

// checkNotInside refuses to write the output over one of the inputs.
func checkNotInside(out string, inputs []string) error {
	for _, in := range inputs {
		if err := quantize.CheckDistinct(in, out); err != nil {
			return err
		}
	}
	return nil
}

// hfDir is an opened model directory, with the mapping helpers of the
// architectures' converters.
type hfDir struct{ *source.HFDir }

// appendVocab appends the tokenizer.* keys of the model's vocabulary
// (nVocab rows in the embedding) to kv; sentencePiece as for
// vocab.HFOptions.
func (h hfDir) appendVocab(kv []gguf.KV, nVocab int, sentencePiece bool, opts *LMOptions) ([]gguf.KV, error) {
	v, err := vocab.FromHFDir(h.Dir, h.Config, vocab.HFOptions{NVocab: nVocab, SentencePiece: sentencePiece, Warn: opts.Warn})
	if err != nil {
		return nil, err
	}
	return append(kv, v...), nil
}

// architecture picks the converter from config.json.
func (h hfDir) architecture() (string, func(hfDir, *LMOptions) (*LanguageModel, error), error) {
	archs, _ := h.Config.Strings("architectures")
	for _, a := range archs {
		if conv, ok := hfArchitectures[a]; ok {
			return a, conv, nil
		}
	}
	mt, _ := h.Config.Text("model_type")
	if conv, ok := hfArchitectures[mt]; ok && len(archs) == 0 {
		return mt, conv, nil
	}
	what := strings.Join(archs, ", ")
	if what == "" {
		what = mt
	}
	if what == "" {
		what = "none given"
	}
	return "", nil, fmt.Errorf("%s: architecture %s is not supported (infer converts %s)", h.Dir, what, strings.Join(HFArchitectures(), ", "))
}

// tensor converts the named safetensors tensor (PyTorch shape want,
// outermost first) into a Tensor called gg, read as it is.
func (h hfDir) tensor(name, gg string, want ...int) (Tensor, error) {
	t, ok := h.Take(name)
	if !ok {
		return Tensor{}, fmt.Errorf("missing tensor %q", name)
	}
	if !slices.Equal(t.Shape, want) {
		return Tensor{}, fmt.Errorf("tensor %q: shape %v, want %v", name, t.Shape, want)
	}
	return stToLM(t, gg)
}

// tensorList collects a converter's tensors and the first error met, so
// that a mapping reads as one line per tensor.
type tensorList struct {
	tensors []Tensor
	err     error
}

// add appends t, or records err.
func (l *tensorList) add(t Tensor, err error) {
	if err != nil {
		if l.err == nil {
			l.err = err
		}
		return
	}
	l.tensors = append(l.tensors, t)
}

// addOptional is add for what optionalTensor returns: nothing when the
// tensor is absent.
func (l *tensorList) addOptional(t Tensor, ok bool, err error) {
	if ok || err != nil {
		l.add(t, err)
	}
}

// optionalTensor is tensor for a tensor that may be absent (ok false).
func (h hfDir) optionalTensor(name, gg string, want ...int) (lt Tensor, ok bool, err error) {
	if _, present := h.Tensors[name]; !present {
		return Tensor{}, false, nil
	}
	lt, err = h.tensor(name, gg, want...)
	return lt, err == nil, err
}

// stToLM describes a safetensors tensor in GGUF terms: the shape reversed,
// the data a view of the mapping (F64 is narrowed to F32 when loaded).
func stToLM(t *source.SafetensorsTensor, gg string) (Tensor, error) {
	dims := make([]uint64, len(t.Shape))
	for i, d := range t.Shape {
		dims[len(dims)-1-i] = uint64(d)
	}
	if len(dims) == 0 {
		dims = []uint64{1}
	}
	switch t.DType {
	case "F32":
		return viewTensor(gg, dims, quant.F32, t.Data), nil
	case "F16":
		return viewTensor(gg, dims, quant.F16, t.Data), nil
	case "BF16":
		return viewTensor(gg, dims, quant.BF16, t.Data), nil
	case "F64":
		return Tensor{Name: gg, Dims: dims, Type: quant.F32, Load: func() ([]byte, error) {
			v, err := t.Float32s()
			if err != nil {
				return nil, err
			}
			return encodeF32s(v), nil
		}}, nil
	}
	return Tensor{}, fmt.Errorf("tensor %q: dtype %s is not a float type (F32, F16, BF16, F64)", t.Name, t.DType)
}

// transformed wraps t so that Load applies f to a copy of its bytes.
func transformed(t Tensor, f func(src []byte) ([]byte, error)) Tensor {
	load := t.Load
	t.Load = func() ([]byte, error) {
		src, err := load()
		if err != nil {
			return nil, err
		}
		return f(src)
	}
	return t
}

// hasFile reports whether the model directory holds the regular file name.
func (h hfDir) hasFile(name string) bool {
	st, err := os.Stat(filepath.Join(h.Dir, name))
	return err == nil && st.Mode().IsRegular()
}

// ropeParameters is config.json's rope_scaling, or transformers 5's
// rope_parameters; nil when neither is given.
func ropeParameters(c source.HFConfig) (source.HFConfig, error) {
	for _, key := range []string{"rope_scaling", "rope_parameters"} {
		o, ok, err := c.Object(key)
		if err != nil || ok {
			return o, err
		}
	}
	return nil, nil
}

// ropeHParam reads a rope setting from the top level of config.json, else
// from rope_scaling / rope_parameters (where transformers 5 moved
// rope_theta, partial_rotary_factor and original_max_position_embeddings).
func ropeHParam(c source.HFConfig, key string) (float64, bool, error) {
	v, ok, err := c.Float(key)
	if ok || err != nil {
		return v, ok, err
	}
	rope, err := ropeParameters(c)
	if err != nil || rope == nil {
		return 0, false, err
	}
	return rope.Float(key)
}

// textModelKV writes the keys of convert_hf_to_gguf.py's
// TextModel.set_gguf_parameters, in its order, for the architectures that
// use it as it is (qwen2, starcoder2): each only when config.json gives it,
// except the norm epsilons and rope base, which fall back to defaultRMSEps,
// defaultLayerEps and 10000 (transformers' config defaults; 0: none) so
// that llama.cpp, which requires them, loads the file.
func textModelKV(c source.HFConfig, hp llamaHParams, defaultRMSEps, defaultLayerEps float64, kv func(key string, v any)) error {
	kv("block_count", uint32(hp.layers))
	n, ok, err := c.Int("max_position_embeddings", "n_ctx", "n_positions", "max_length")
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("config.json gives no context length (max_position_embeddings)")
	}
	kv("context_length", uint32(n))
	kv("embedding_length", uint32(hp.embd))
	kv("feed_forward_length", uint32(hp.ff))
	kv("attention.head_count", uint32(hp.heads))
	if c.Has("num_key_value_heads") || c.Has("n_kv_heads") {
		kv("attention.head_count_kv", uint32(hp.headsKV))
	}
	theta, ok, err := ropeHParam(c, "rope_theta")
	if err != nil {
		return err
	}
	if !ok {
		theta = 10000
	}
	kv("rope.freq_base", float32(theta))
	if eps, ok, err := c.Float("rms_norm_eps", "norm_eps"); err != nil {
		return err
	} else if ok || defaultRMSEps > 0 {
		if !ok {
			eps = defaultRMSEps
		}
		kv("attention.layer_norm_rms_epsilon", float32(eps))
	}
	if eps, ok, err := c.Float("layer_norm_eps", "layer_norm_epsilon", "norm_epsilon"); err != nil {
		return err
	} else if ok || defaultLayerEps > 0 {
		if !ok {
			eps = defaultLayerEps
		}
		kv("attention.layer_norm_epsilon", float32(eps))
	}
	if c.Has("head_dim") {
		kv("attention.key_length", uint32(hp.headDim))
		kv("attention.value_length", uint32(hp.headDim))
	}
	return nil
}

// outputTensor maps lm_head.weight: nothing when config.json says the
// embeddings are tied (llama.cpp then uses token_embd) or when the
// checkpoint has none, else output.weight.
func (h hfDir) outputTensor(l *tensorList, hp llamaHParams) {
	if tied, _ := h.Config.Bool("tie_word_embeddings"); tied {
		h.Skip("lm_head.weight") // the same matrix as the embedding
		return
	}
	l.addOptional(h.optionalTensor("lm_head.weight", "output.weight", hp.vocab, hp.embd))
}
