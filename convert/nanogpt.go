package convert

// nanoGPT (github.com/karpathy/nanoGPT) checkpoints to GGUF, as llama.cpp's
// gpt2 architecture: token and position embeddings, pre-norm blocks with
// LayerNorm, a fused QKV projection, a GELU MLP, biases, a final LayerNorm
// and an output matrix.
//
// nanoGPT's names map one to one onto llama.cpp's; its nn.Linear weights
// are stored [out, in], which is ggml's layout (GGUF dims [in, out]), so
// they are written as they are, unlike Hugging Face's GPT-2 whose Conv1D
// weights are transposed. The lm_head is tied to wte and written again as
// output.weight, since llama.cpp's gpt2 has no tied-output fallback.

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/infer-go/infer/convert/source"
	"github.com/infer-go/infer/convert/vocab"
	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/quant"
	"github.com/infer-go/infer/quantize"
)

// NanoGPTArgs are nanoGPT's model_args.
type NanoGPTArgs struct {
	NLayer, NHead, NEmbd, BlockSize, VocabSize int
	Bias                                       bool
	NFF                                        int // the MLP's width: 4*NEmbd in nanoGPT
}

// NanoGPTOptions are the choices a conversion takes beyond the source.
type NanoGPTOptions struct {
	// NHead, NLayer, NEmbd and BlockSize give model_args a source does not
	// record; nonzero values must agree with what it does record and with
	// the tensors' shapes. A ckpt.pt records all of them; a safetensors
	// file only the shapes, which give everything but n_head. n_head is
	// then read from the file's __metadata__ "model_args" (JSON), else from
	// a ckpt.pt beside it, else it must be given here.
	NHead, NLayer, NEmbd, BlockSize int
	// Vocab is the vocabulary: nanoGPT's meta.pkl (characters), or GPT-2's
	// BPE as a tokenizer.json or a vocab.json with merges.txt beside it.
	// Empty: meta.pkl beside the source, else data/<dataset>/meta.pkl (the
	// checkpoint's config.dataset) as nanoGPT's sample.py looks for it.
	Vocab string
	// Name is general.name; empty: "nanoGPT <dataset>" or "nanoGPT".
	Name string
	// Threads quantizes rows in parallel; <= 0: every CPU.
	Threads int
	// Progress, if set, is called as tensors are written with the tensor
	// and the elements done so far and in all.
	Progress func(tensor string, done, total uint64)
	// Context cancels a run between batches of rows; nil: never.
	Context context.Context
}

// NanoGPTResult describes a finished conversion.
type NanoGPTResult struct {
	Args     NanoGPTArgs
	ArgsFrom string // where model_args came from
	Vocab    string // what the vocabulary is and where it came from
	Tensors  int
	Params   uint64 // elements in all tensors written
	Bytes    int64  // size of the output file
	Elapsed  time.Duration
	// Written lists the tensors as written: their types, sizes, fallbacks.
	Written *quantize.Result
}

// GELUErfKey is infer's metadata key for gpt2's feed-forward activation:
// "gelu_erf" selects the exact erf GELU nanoGPT's nn.GELU() computes;
// llama.cpp ignores the key and uses its tanh approximation.
const GELUErfKey = "gpt2.activation"

// nanoGPTTensor is one tensor of a nanoGPT state_dict, from either source.
type nanoGPTTensor struct {
	shape []int
	dtype source.SafetensorsDType
	bytes func() ([]byte, error)
}

// nanoGPTSource is a state_dict by nanoGPT name plus what the file says of
// model_args and training.
type nanoGPTSource struct {
	kind     string // "ckpt.pt" or "safetensors"
	tensors  map[string]nanoGPTTensor
	order    []string
	args     map[string]any // model_args as recorded, if any
	argsFrom string
	dataset  string
	describe string // for general.description
	close    func()
}

// nanoGPTPrefixes are wrappers' prefixes on state_dict keys: torch.compile
// adds _orig_mod., DistributedDataParallel module.
var nanoGPTPrefixes = []string{"_orig_mod.", "module."}

func stripNanoGPTPrefixes(name string) string {
	for {
		trimmed := name
		for _, p := range nanoGPTPrefixes {
			trimmed = strings.TrimPrefix(trimmed, p)
		}
		if trimmed == name {
			return name
		}
		name = trimmed
	}
}

// isCausalMask tells nanoGPT's registered attention-mask buffer (present
// when PyTorch lacks flash attention) from the attention's c_attn.bias.
func isCausalMask(name string) bool {
	return strings.HasSuffix(name, ".attn.bias") || strings.HasSuffix(name, ".attn.masked_bias")
}

var torchToSafetensors = map[source.TorchDType]source.SafetensorsDType{
	source.TorchFloat32: "F32", source.TorchFloat16: "F16", source.TorchBFloat16: "BF16", source.TorchFloat64: "F64",
}

// IsNanoGPT tells whether a PyTorch checkpoint or safetensors file holds a
// nanoGPT model: a state_dict with transformer.wte.weight whose
// c_attn.weight is stored [3*n_embd, n_embd] (nn.Linear; Hugging Face's
// GPT-2 stores it transposed).
func IsNanoGPT(path string) bool {
	src, err := openNanoGPT(path)
	if err != nil {
		return false
	}
	defer src.close()
	wte, ok1 := src.tensors["transformer.wte.weight"]
	qkv, ok2 := src.tensors["transformer.h.0.attn.c_attn.weight"]
	return ok1 && ok2 && len(wte.shape) == 2 && len(qkv.shape) == 2 &&
		qkv.shape[1] == wte.shape[1] && qkv.shape[0] == 3*wte.shape[1]
}

// openNanoGPT reads the state_dict of a ckpt.pt (a training checkpoint
// with "model", or a bare state_dict) or of a safetensors file.
func openNanoGPT(path string) (*nanoGPTSource, error) {
	kind, err := source.Detect(path)
	if err != nil {
		return nil, err
	}
	switch kind {
	case source.KindTorch:
		return openNanoGPTTorch(path)
	case source.KindSafetensors:
		return openNanoGPTSafetensors(path)
	}
	return nil, fmt.Errorf("%s: a %v, not a PyTorch checkpoint or safetensors file", path, kind)
}

func openNanoGPTTorch(path string) (*nanoGPTSource, error) {
	f, err := source.OpenTorch(path)
	if err != nil {
		return nil, err
	}
	src := &nanoGPTSource{kind: "ckpt.pt", tensors: map[string]nanoGPTTensor{}, close: func() { f.Close() }}
	sd := f.Root
	if m, err := f.Get("model"); err == nil {
		sd = m
	}
	items, ok := source.TorchItems(sd)
	if !ok {
		f.Close()
		return nil, fmt.Errorf("%s: neither a nanoGPT training checkpoint (a dict with \"model\") nor a state_dict", path)
	}
	for _, it := range items {
		key, isStr := it.Key.(string)
		t, isTensor := it.Value.(*source.TorchTensor)
		if !isStr || !isTensor {
			f.Close()
			return nil, fmt.Errorf("%s: state_dict entry %v is not a named tensor", path, it.Key)
		}
		name := stripNanoGPTPrefixes(key)
		dt, ok := torchToSafetensors[t.DType]
		if !ok && !isCausalMask(name) {
			f.Close()
			return nil, fmt.Errorf("%s: tensor %s is %v: want float32, float16, bfloat16 or float64", path, key, t.DType)
		}
		if _, dup := src.tensors[name]; dup {
			f.Close()
			return nil, fmt.Errorf("%s: tensor %s appears twice (with and without a wrapper's prefix)", path, name)
		}
		src.tensors[name] = nanoGPTTensor{shape: t.Shape, dtype: dt, bytes: t.Bytes}
		src.order = append(src.order, name)
	}
	if a, err := f.Get("model_args"); err == nil {
		if src.args, err = pickledArgs(a); err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: model_args: %w", path, err)
		}
		src.argsFrom = filepath.Base(path) + " model_args"
	}
	if d, err := f.Get("config", "dataset"); err == nil {
		src.dataset, _ = d.(string)
	}
	src.describe = "nanoGPT checkpoint " + filepath.Base(path)
	if it, err := f.Get("iter_num"); err == nil {
		if n, ok := it.(int); ok {
			src.describe += fmt.Sprintf(", iter_num %d", n)
		}
	}
	return src, nil
}

// pickledArgs turns a pickled model_args dict into a map of ints and bools.
func pickledArgs(v any) (map[string]any, error) {
	items, ok := source.TorchItems(v)
	if !ok {
		return nil, fmt.Errorf("%T is not a dict", v)
	}
	args := map[string]any{}
	for _, it := range items {
		if k, ok := it.Key.(string); ok {
			args[k] = it.Value
		}
	}
	return args, nil
}

func openNanoGPTSafetensors(path string) (*nanoGPTSource, error) {
	s, err := source.OpenSafetensors(path)
	if err != nil {
		return nil, err
	}
	src := &nanoGPTSource{kind: "safetensors", tensors: map[string]nanoGPTTensor{}, close: func() { s.Close() }}
	for i := range s.Tensors {
		t := &s.Tensors[i]
		name := stripNanoGPTPrefixes(t.Name)
		if _, dup := src.tensors[name]; dup {
			s.Close()
			return nil, fmt.Errorf("%s: tensor %s appears twice (with and without a wrapper's prefix)", path, name)
		}
		src.tensors[name] = nanoGPTTensor{shape: t.Shape, dtype: t.DType, bytes: func() ([]byte, error) { return t.Data, nil }}
		src.order = append(src.order, name)
	}
	src.describe = "nanoGPT weights " + filepath.Base(path)
	if js, ok := s.Metadata["model_args"]; ok {
		if err := json.Unmarshal([]byte(js), &src.args); err != nil {
			s.Close()
			return nil, fmt.Errorf("%s: __metadata__ model_args %q: %w", path, js, err)
		}
		src.argsFrom = filepath.Base(path) + " __metadata__ model_args"
	}
	return src, nil
}

// resolveArgs settles model_args from the shapes, what the source (or a
// ckpt.pt beside it) records and the options, refusing any disagreement.
func (src *nanoGPTSource) resolveArgs(path string, opts NanoGPTOptions) (NanoGPTArgs, string, error) {
	var a NanoGPTArgs
	from := []string{"tensor shapes"}
	wte, ok := src.tensors["transformer.wte.weight"]
	if !ok || len(wte.shape) != 2 {
		return a, "", fmt.Errorf("%s: no 2-D transformer.wte.weight: not a nanoGPT model", path)
	}
	wpe, ok := src.tensors["transformer.wpe.weight"]
	if !ok || len(wpe.shape) != 2 {
		return a, "", fmt.Errorf("%s: no 2-D transformer.wpe.weight: not a nanoGPT model", path)
	}
	a.VocabSize, a.NEmbd, a.BlockSize = wte.shape[0], wte.shape[1], wpe.shape[0]
	for name := range src.tensors {
		if rest, ok := strings.CutPrefix(name, "transformer.h."); ok {
			i, err := strconv.Atoi(rest[:max(0, strings.IndexByte(rest, '.'))])
			if err != nil || i < 0 {
				return a, "", fmt.Errorf("%s: tensor %s: cannot read its block number", path, name)
			}
			a.NLayer = max(a.NLayer, i+1)
		}
	}
	a.NFF = 4 * a.NEmbd // nanoGPT's MLP; a missing c_fc is reported later
	if fc, ok := src.tensors["transformer.h.0.mlp.c_fc.weight"]; ok && len(fc.shape) == 2 {
		a.NFF = fc.shape[0]
	}
	_, a.Bias = src.tensors["transformer.h.0.ln_1.bias"]

	recorded := src.args
	if recorded == nil && src.kind == "safetensors" {
		// nanoGPT keeps model_args in ckpt.pt only.
		sibling := filepath.Join(filepath.Dir(path), "ckpt.pt")
		if f, err := source.OpenTorch(sibling); err == nil {
			if v, err := f.Get("model_args"); err == nil {
				recorded, _ = pickledArgs(v)
				src.argsFrom = sibling + " model_args"
			}
			f.Close()
		}
	}
	if recorded != nil {
		from = append(from, src.argsFrom)
	}
	check := func(key string, dst *int, flag int) error {
		if v, ok := recorded[key]; ok {
			n, isInt := jsonOrPickleInt(v)
			if !isInt {
				return fmt.Errorf("%s: %s is %v, not an integer", src.argsFrom, key, v)
			}
			if *dst != 0 && n != *dst {
				return fmt.Errorf("%s: %s says %s = %d, but the tensors' shapes give %d", path, src.argsFrom, key, n, *dst)
			}
			*dst = n
		}
		if flag != 0 {
			if *dst != 0 && flag != *dst {
				return fmt.Errorf("%s: %s %d was given, but the model has %d", path, key, flag, *dst)
			}
			*dst = flag
		}
		return nil
	}
	for _, c := range []struct {
		key  string
		dst  *int
		flag int
	}{
		{"n_layer", &a.NLayer, opts.NLayer}, {"n_embd", &a.NEmbd, opts.NEmbd}, {"block_size", &a.BlockSize, opts.BlockSize},
		{"vocab_size", &a.VocabSize, 0}, {"n_head", &a.NHead, opts.NHead},
	} {
		if err := check(c.key, c.dst, c.flag); err != nil {
			return a, "", err
		}
	}
	if opts.NHead != 0 || opts.NLayer != 0 || opts.NEmbd != 0 || opts.BlockSize != 0 {
		from = append(from, "options")
	}
	if v, ok := recorded["bias"]; ok {
		if b, isBool := v.(bool); isBool && b != a.Bias {
			return a, "", fmt.Errorf("%s: %s says bias = %v, but transformer.h.0.ln_1.bias is %s", path, src.argsFrom, b, map[bool]string{true: "missing", false: "present"}[b])
		}
	}
	if a.NHead == 0 {
		return a, "", fmt.Errorf("%s: n_head is not recorded (no model_args in the file, no ckpt.pt beside it): give it (--n-head N)", path)
	}
	switch {
	case a.NLayer < 1 || a.NEmbd < 1 || a.BlockSize < 1 || a.VocabSize < 1 || a.NFF < 1:
		return a, "", fmt.Errorf("%s: model_args %+v: want positive sizes", path, a)
	case a.NEmbd%a.NHead != 0:
		return a, "", fmt.Errorf("%s: n_embd %d is not a multiple of n_head %d", path, a.NEmbd, a.NHead)
	}
	return a, strings.Join(from, ", "), nil
}

// jsonOrPickleInt reads an integer from a pickle (int) or JSON (float64)
// value.
func jsonOrPickleInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<31 {
			return int(x), true
		}
	}
	return 0, false
}

// nanoGPTTensorMap lists the GGUF tensors of a model with its nanoGPT
// source tensor and PyTorch shape. output.weight is lm_head.weight when the
// state_dict has it (nanoGPT's is wte's storage), else wte.
func nanoGPTTensorMap(a NanoGPTArgs, src *nanoGPTSource) []ggufFromNanoGPT {
	e, f, v := a.NEmbd, a.NFF, a.VocabSize
	out := "transformer.wte.weight"
	if _, ok := src.tensors["lm_head.weight"]; ok {
		out = "lm_head.weight"
	}
	m := []ggufFromNanoGPT{
		{"token_embd.weight", "transformer.wte.weight", []int{v, e}},
		{"position_embd.weight", "transformer.wpe.weight", []int{a.BlockSize, e}},
		{"output_norm.weight", "transformer.ln_f.weight", []int{e}},
		{"output_norm.bias", "transformer.ln_f.bias", []int{e}},
		{"output.weight", out, []int{v, e}},
	}
	for i := range a.NLayer {
		b := func(gg, nano string, shape ...int) {
			m = append(m, ggufFromNanoGPT{fmt.Sprintf("blk.%d.%s", i, gg), fmt.Sprintf("transformer.h.%d.%s", i, nano), shape})
		}
		b("attn_norm.weight", "ln_1.weight", e)
		b("attn_norm.bias", "ln_1.bias", e)
		b("attn_qkv.weight", "attn.c_attn.weight", 3*e, e)
		b("attn_qkv.bias", "attn.c_attn.bias", 3*e)
		b("attn_output.weight", "attn.c_proj.weight", e, e)
		b("attn_output.bias", "attn.c_proj.bias", e)
		b("ffn_norm.weight", "ln_2.weight", e)
		b("ffn_norm.bias", "ln_2.bias", e)
		b("ffn_up.weight", "mlp.c_fc.weight", f, e)
		b("ffn_up.bias", "mlp.c_fc.bias", f)
		b("ffn_down.weight", "mlp.c_proj.weight", e, f)
		b("ffn_down.bias", "mlp.c_proj.bias", e)
	}
	return m
}

type ggufFromNanoGPT struct {
	gguf, nano string
	shape      []int // PyTorch order
}

// ConvertNanoGPT writes the nanoGPT model in src (a ckpt.pt or a
// safetensors file with nanoGPT's names) to out as a gpt2 GGUF with weights
// of scheme ft, through the writer every language model takes: byte for
// byte what converting to F32 and then `infer quantize` would make of it.
// The output appears atomically, and not at all on error.
func ConvertNanoGPT(srcPath, out string, ft quantize.FileType, opts NanoGPTOptions) (*NanoGPTResult, error) {
	start := time.Now()
	if err := quantize.CheckDistinct(srcPath, out); err != nil {
		return nil, err
	}
	src, err := openNanoGPT(srcPath)
	if err != nil {
		return nil, err
	}
	defer src.close()
	args, argsFrom, err := src.resolveArgs(srcPath, opts)
	if err != nil {
		return nil, err
	}
	v, err := vocab.ForNanoGPT(srcPath, src.dataset, opts.Vocab)
	if err != nil {
		return nil, err
	}
	if err := v.PadTo(args.VocabSize); err != nil {
		return nil, fmt.Errorf("%s: %w", v.Description, err)
	}
	plan := nanoGPTTensorMap(args, src)
	if err := checkNanoGPTTensors(srcPath, src, plan, args); err != nil {
		return nil, err
	}

	m := &LanguageModel{Arch: "gpt2", Name: strings.TrimSpace("nanoGPT " + src.dataset), RequantizedHeader: true}
	kv := func(key string, v any) { m.KV = append(m.KV, gguf.KV{Key: key, Value: gguf.ValueOf(v)}) }
	kv("general.description", src.describe+", converted by infer")
	kv("gpt2.context_length", uint32(args.BlockSize))
	kv("gpt2.embedding_length", uint32(args.NEmbd))
	kv("gpt2.feed_forward_length", uint32(args.NFF))
	kv("gpt2.block_count", uint32(args.NLayer))
	kv("gpt2.attention.head_count", uint32(args.NHead))
	kv("gpt2.attention.layer_norm_epsilon", float32(1e-5))
	kv(GELUErfKey, "gelu_erf")
	m.KV = append(m.KV, v.KVs()...)

	res := &NanoGPTResult{Args: args, ArgsFrom: argsFrom, Vocab: v.Description, Tensors: len(plan)}
	for _, p := range plan {
		dims := make([]uint64, len(p.shape))
		for i, d := range p.shape {
			dims[len(dims)-1-i] = uint64(d)
		}
		n := numElements(p.shape)
		res.Params += uint64(n)
		t, ok := src.tensors[p.nano]
		if !ok {
			// A model without biases (nanoGPT's bias=False) gets zeros:
			// llama.cpp's gpt2 requires every bias.
			m.Tensors = append(m.Tensors, Tensor{Name: p.gguf, Dims: dims, Type: quant.F32,
				Load: func() ([]byte, error) { return make([]byte, 4*n), nil }})
			continue
		}
		typ, load := nanoGPTLoad(t, n)
		m.Tensors = append(m.Tensors, Tensor{Name: p.gguf, Dims: dims, Type: typ, Load: func() ([]byte, error) {
			b, err := load()
			if err != nil {
				return nil, fmt.Errorf("tensor %s: %w", p.nano, err)
			}
			return b, nil
		}})
	}
	res.Written, err = m.Write(out, LMOptions{Type: ft, Name: opts.Name,
		Options: quantize.Options{Threads: opts.Threads, Progress: opts.Progress, Context: opts.Context}})
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(out); err == nil {
		res.Bytes = st.Size()
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// nanoGPTLoad gives the type a tensor of n elements enters the writer as and
// the function that reads its bytes: F32, F16 and BF16 as they are, F64
// narrowed to F32 (converting F16 or BF16 to F32 first, as infer once did,
// gives the same bytes in every output type).
func nanoGPTLoad(t nanoGPTTensor, n int) (quant.Type, func() ([]byte, error)) {
	switch t.dtype {
	case "F32":
		return quant.F32, t.bytes
	case "F16":
		return quant.F16, t.bytes
	case "BF16":
		return quant.BF16, t.bytes
	}
	return quant.F32, func() ([]byte, error) {
		b, err := t.bytes()
		if err != nil {
			return nil, err
		}
		vals := make([]float32, n)
		if err := source.DecodeFloats(vals, t.dtype, b); err != nil {
			return nil, err
		}
		return encodeF32s(vals), nil
	}
}

// checkNanoGPTTensors verifies every tensor the model needs against its
// expected shape and refuses tensors a nanoGPT GPT does not have.
func checkNanoGPTTensors(path string, src *nanoGPTSource, plan []ggufFromNanoGPT, a NanoGPTArgs) error {
	used := map[string]bool{}
	for _, p := range plan {
		t, ok := src.tensors[p.nano]
		if !ok {
			if a.Bias && strings.HasSuffix(p.nano, ".bias") || !strings.HasSuffix(p.nano, ".bias") {
				return fmt.Errorf("%s: missing tensor %s (for %s)", path, p.nano, p.gguf)
			}
			continue
		}
		used[p.nano] = true
		if !slices.Equal(t.shape, p.shape) {
			return fmt.Errorf("%s: tensor %s has shape %v, want %v (n_layer %d, n_embd %d, vocab %d, block_size %d)",
				path, p.nano, t.shape, p.shape, a.NLayer, a.NEmbd, a.VocabSize, a.BlockSize)
		}
		if t.dtype.Size() == 0 {
			return fmt.Errorf("%s: tensor %s has no float dtype", path, p.nano)
		}
	}
	if lm, ok := src.tensors["lm_head.weight"]; ok && !slices.Equal(lm.shape, []int{a.VocabSize, a.NEmbd}) {
		return fmt.Errorf("%s: tensor lm_head.weight has shape %v, want %v", path, lm.shape, []int{a.VocabSize, a.NEmbd})
	}
	for _, name := range src.order {
		if !used[name] && !isCausalMask(name) && name != "lm_head.weight" {
			return fmt.Errorf("%s: tensor %s (shape %v) is not part of a nanoGPT GPT", path, name, src.tensors[name].shape)
		}
	}
	return nil
}

func numElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}
