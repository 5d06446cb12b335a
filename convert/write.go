package convert

// Writing a language model as GGUF: the one writer of every language model
// infer makes (Hugging Face directories, llama2.c and nanoGPT checkpoints,
// synth's generated models). The converters describe each tensor with its
// GGUF name and shape and a function that produces its elements; this file
// picks every tensor's output type and streams the tensors through
// quantize.Write one at a time.
//
// Output types follow llama.cpp. For F32, F16, BF16 and Q8_0 the rules are
// those of convert_hf_to_gguf.py (vectors, norms, biases and position
// embeddings stay F32, everything else gets the type, Q8_0 rows that are not
// whole blocks fall back to F16). For the other schemes (Q4_0, Q4_K_M ...)
// the result is what llama-quantize would make of the model converted at
// its own precision: the same mixture rules and fallbacks, through
// the quantize package's planner, so `infer convert --type q4_k_m` equals
// `infer convert` followed by `infer quantize ... Q4_K_M`.

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/quant"
	"github.com/infer-go/infer/quantize"
)

// LMOptions tune the writing of a language model.
type LMOptions struct {
	// Type is the weight scheme (see quantize.ParseFileType). The zero
	// value keeps the source's precision: F32, F16 or BF16, whichever the
	// source's weight matrices have (F32 for a quantized llama2.c file).
	Type quantize.FileType
	// Name is general.name; empty: the model directory's or file's name.
	Name string
	// Warn, if set, receives notes about the source that do not stop the
	// conversion (an unrecognised pre-tokenizer, an ignored setting).
	Warn func(msg string)
	// Pure, Threads, Progress and Context work as for quantize.File.
	quantize.Options
}

func (o *LMOptions) warnf(format string, args ...any) {
	if o.Warn != nil {
		o.Warn(fmt.Sprintf(format, args...))
	}
}

// Tensor is one tensor of a language model on its way to GGUF.
type Tensor struct {
	Name string
	Dims []uint64   // ggml order: Dims[0] is the row length
	Type quant.Type // the element type of what Load returns: F32, F16 or BF16
	// Load returns the tensor's elements, rows one after another: a view of
	// the source where the layout allows, else a transformed copy or
	// generated values. It is called once, while the tensor is written,
	// and its bytes are not used once the tensor is written, so that only
	// one tensor at a time is held in memory (a source may reuse one buffer
	// for all its tensors).
	Load func() ([]byte, error)
}

func (t *Tensor) elements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// LanguageModel is a model ready to be written as GGUF: what llama.cpp
// reads of an architecture, the metadata and tensors its converter writes.
type LanguageModel struct {
	Arch string    // general.architecture
	Name string    // general.name unless LMOptions.Name is set; "": none
	KV   []gguf.KV // hyperparameters and vocabulary, in order
	// Tensors in the order the source lists them; the file gets them in
	// llama-quantize's order.
	Tensors []Tensor
	// RequantizedHeader lays the header out as quantize.File (and
	// llama-quantize) does: no general.type, and
	// general.quantization_version before general.file_type at the end.
	// Otherwise the header is convert_hf_to_gguf.py's: general.type after
	// the architecture, general.file_type before
	// general.quantization_version. nanoGPT's converter has always written
	// the former (its files began as an F32 file requantized), and the
	// shipped testdata/shakespeare-char-q8_0.gguf keeps its bytes.
	RequantizedHeader bool
}

// keepsF32 is convert_hf_to_gguf.py's rule for tensors that are written as
// F32 whatever the output type: vectors, norms, biases (anything not named
// .weight) and the small special-purpose matrices llama.cpp reads as F32.
func keepsF32(name string, dims []uint64) bool {
	if len(dims) <= 1 || strings.HasSuffix(name, "_norm.weight") || !strings.HasSuffix(name, ".weight") {
		return true
	}
	base := name
	if strings.HasPrefix(name, "blk.") {
		if j := strings.IndexByte(name[4:], '.'); j >= 0 {
			base = name[4+j+1:]
		}
	}
	switch base {
	case "position_embd.weight", "token_types.weight", "ffn_gate_inp.weight", "ffn_gate_inp_shexp.weight":
		return true
	}
	return false
}

// sourceType is the scheme that keeps the source's precision: the type of
// its first matrix, as convert_hf_to_gguf.py's "auto" guesses it.
func (m *LanguageModel) sourceType() (quantize.FileType, error) {
	typ := quant.F32
	for _, t := range m.Tensors {
		if len(t.Dims) >= 2 {
			typ = t.Type
			break
		}
	}
	return quantize.ParseFileType(typ.String())
}

// Write writes m to out as GGUF with the weight types opts.Type gives (see
// the file comment): atomically, so on any error out is left as it was.
// Tensors are loaded, converted and written one at a time.
func (m *LanguageModel) Write(out string, opts LMOptions) (*quantize.Result, error) {
	start := time.Now()
	ft := opts.Type
	if ft.Name == "" {
		var err error
		if ft, err = m.sourceType(); err != nil {
			return nil, err
		}
	}
	if tr := ft.Base.Traits(); tr == nil || tr.Quantize == nil {
		return nil, fmt.Errorf("type %s: infer cannot quantize to %s", ft.Name, ft.Base)
	}
	byName := make(map[string]*Tensor, len(m.Tensors))
	for i := range m.Tensors {
		t := &m.Tensors[i]
		if _, dup := byName[t.Name]; dup {
			return nil, fmt.Errorf("tensor %q appears twice", t.Name)
		}
		byName[t.Name] = t
	}
	plans, err := m.plan(ft, opts.Pure)
	if err != nil {
		return nil, err
	}

	w := gguf.NewWriter()
	w.AddKV("general.architecture", gguf.ValueOf(m.Arch))
	if !m.RequantizedHeader {
		w.AddKV("general.type", gguf.ValueOf("model"))
	}
	name := opts.Name
	if name == "" {
		name = m.Name
	}
	if name != "" {
		w.AddKV("general.name", gguf.ValueOf(name))
	}
	for _, kv := range m.KV {
		w.AddKV(kv.Key, kv.Value)
	}
	fileType := gguf.KV{Key: "general.file_type", Value: gguf.ValueOf(ft.ID)}
	version := gguf.KV{Key: "general.quantization_version", Value: gguf.ValueOf(uint32(2))}
	last := []gguf.KV{fileType, version}
	if m.RequantizedHeader {
		last = []gguf.KV{version, fileType}
	}
	for _, kv := range last {
		w.AddKV(kv.Key, kv.Value)
	}

	res, err := quantize.Write(w, out, plans, opts.Options, func(p *quantize.TensorPlan) (*gguf.TensorInfo, error) {
		t := byName[p.Name]
		data, err := t.Load()
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		return &gguf.TensorInfo{Name: t.Name, Dims: t.Dims, Type: t.Type, Size: uint64(len(data)), Data: data}, nil
	})
	if err != nil {
		return nil, err
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// plan decides each tensor's output type. Tensors llama.cpp's converter
// keeps in F32 enter the planner as F32, the others at the source's
// precision; the planner then applies scheme ft as llama-quantize
// would to that file. SizeFrom is reported at the source's precision.
func (m *LanguageModel) plan(ft quantize.FileType, pure bool) ([]quantize.TensorPlan, error) {
	infos := make([]gguf.TensorInfo, len(m.Tensors))
	srcSize := make(map[string]uint64, len(m.Tensors))
	for i, t := range m.Tensors {
		switch t.Type {
		case quant.F32, quant.F16, quant.BF16:
		default:
			return nil, fmt.Errorf("tensor %q: source type %s is not F32, F16 or BF16", t.Name, t.Type)
		}
		if len(t.Dims) == 0 || t.elements() == 0 {
			return nil, fmt.Errorf("tensor %q: empty shape %v", t.Name, t.Dims)
		}
		from := t.Type
		if keepsF32(t.Name, t.Dims) {
			from = quant.F32
		}
		n := t.elements()
		infos[i] = gguf.TensorInfo{Name: t.Name, Dims: t.Dims, Type: from, Size: n * uint64(from.TypeSize())}
		srcSize[t.Name] = n * uint64(t.Type.TypeSize())
	}
	plans, err := quantize.Plan(quantize.Model{Arch: m.Arch, HParam: m.hparam, Tensors: infos}, ft, pure)
	if err != nil {
		return nil, err
	}
	for i := range plans {
		plans[i].SizeFrom = srcSize[plans[i].Name]
	}
	return plans, nil
}

// hparam is the integer hyperparameter ARCH.key of m's metadata, the
// lookup the mixture rules make (the converters write these as UINT32).
func (m *LanguageModel) hparam(key string) (uint32, bool) {
	key = m.Arch + "." + key
	for _, kv := range m.KV {
		if kv.Key != key {
			continue
		}
		switch x := kv.Value.Data.(type) {
		case uint32:
			return x, true
		case int32:
			return uint32(x), x >= 0
		case uint64:
			return uint32(x), x <= math.MaxUint32
		case int64:
			return uint32(x), x >= 0 && x <= math.MaxUint32
		}
		return 0, false
	}
	return 0, false
}

// viewTensor is a Tensor whose bytes are data as they are.
func viewTensor(name string, dims []uint64, typ quant.Type, data []byte) Tensor {
	return Tensor{Name: name, Dims: dims, Type: typ, Load: func() ([]byte, error) { return data, nil }}
}

// encodeF32s encodes float32 values little-endian.
func encodeF32s(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}
