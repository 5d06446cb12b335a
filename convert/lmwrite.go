package convert

// Writing a language model converted from another format (a Hugging Face
// directory, a llama2.c checkpoint) as GGUF. The source readers describe
// each tensor with its GGUF name and shape and a function that produces its
// elements; this file picks every tensor's output type and streams the
// tensors through gguf.Writer one at a time.
//
// Output types follow llama.cpp. For F32, F16, BF16 and Q8_0 the rules are
// those of convert_hf_to_gguf.py (vectors, norms, biases and position
// embeddings stay F32, everything else gets the type, Q8_0 rows that are not
// whole blocks fall back to F16). For the other schemes (Q4_0, Q4_K_M ...)
// the result is what llama-quantize would make of the model converted at
// its own precision: the same mixture rules and fallbacks, through
// PlanQuantization, so `infer convert --type q4_k_m` equals `infer convert`
// followed by `infer quantize ... Q4_K_M`.

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/quant"
)

// LMOptions tune the conversion of a language model.
type LMOptions struct {
	// Type is the weight scheme (see ParseQuantFileType). The zero value
	// keeps the source's precision: F32, F16 or BF16, whichever the
	// source's weight matrices have (F32 for a quantized llama2.c file).
	Type QuantFileType
	// Name is general.name; empty: the model directory's or file's name.
	Name string
	// Warn, if set, receives notes about the source that do not stop the
	// conversion (an unrecognised pre-tokenizer, an ignored setting).
	Warn func(msg string)
	// Pure, Threads, Progress and Context work as for QuantizeFile.
	QuantizeOptions
}

func (o *LMOptions) warnf(format string, args ...any) {
	if o.Warn != nil {
		o.Warn(fmt.Sprintf(format, args...))
	}
}

// lmTensor is one tensor of a language model on its way to GGUF.
type lmTensor struct {
	name string
	dims []uint64   // ggml order: dims[0] is the row length
	typ  quant.Type // the element type of what load returns: F32, F16 or BF16
	// load returns the tensor's elements, rows one after another: a view of
	// the source where the layout allows, else a transformed copy. It is
	// called once, while the tensor is written, so that only one tensor at
	// a time is held in memory.
	load func() ([]byte, error)
}

func (t *lmTensor) elements() uint64 {
	n := uint64(1)
	for _, d := range t.dims {
		n *= d
	}
	return n
}

// lmModel is a converted model ready to be written.
type lmModel struct {
	arch string
	name string    // general.name unless LMOptions.Name is set
	kv   []gguf.KV // hyperparameters and vocabulary, in order
	// tensors in the order the source lists them; the file gets them in
	// llama-quantize's order.
	tensors []lmTensor
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
func (m *lmModel) sourceType() QuantFileType {
	typ := quant.F32
	for _, t := range m.tensors {
		if len(t.dims) >= 2 {
			typ = t.typ
			break
		}
	}
	for _, ft := range quantFileTypes {
		if ft.Base == typ && !isBlockQuantized(typ) {
			return ft
		}
	}
	return quantFileTypes[0]
}

// write writes m to out as GGUF: atomically, so on any error out is left as
// it was.
func (m *lmModel) write(out string, opts LMOptions) (*QuantizeResult, error) {
	start := time.Now()
	ft := opts.Type
	if ft.Name == "" {
		ft = m.sourceType()
	}
	if tr := ft.Base.Traits(); tr == nil || tr.Quantize == nil {
		return nil, fmt.Errorf("type %s: infer cannot quantize to %s", ft.Name, ft.Base)
	}
	byName := make(map[string]*lmTensor, len(m.tensors))
	for i := range m.tensors {
		t := &m.tensors[i]
		if _, dup := byName[t.name]; dup {
			return nil, fmt.Errorf("tensor %q appears twice", t.name)
		}
		byName[t.name] = t
	}
	plans, err := m.plan(ft, opts.Pure)
	if err != nil {
		return nil, err
	}

	w := gguf.NewWriter()
	w.AddKV("general.architecture", gguf.ValueOf(m.arch))
	w.AddKV("general.type", gguf.ValueOf("model"))
	name := opts.Name
	if name == "" {
		name = m.name
	}
	if name != "" {
		w.AddKV("general.name", gguf.ValueOf(name))
	}
	for _, kv := range m.kv {
		w.AddKV(kv.Key, kv.Value)
	}
	w.AddKV("general.file_type", gguf.ValueOf(ft.ID))
	w.AddKV("general.quantization_version", gguf.ValueOf(uint32(2)))

	return writePlanned(w, out, plans, start, &opts.QuantizeOptions, func(ctx context.Context, dst io.Writer, p *TensorPlan, threads int, progress func(uint64)) error {
		t := byName[p.Name]
		data, err := t.load()
		if err != nil {
			return fmt.Errorf("tensor %q: %w", t.name, err)
		}
		src := &gguf.TensorInfo{Name: t.name, Dims: t.dims, Type: t.typ, Size: uint64(len(data)), Data: data}
		if want := t.elements() * uint64(t.typ.TypeSize()); uint64(len(data)) != want {
			return fmt.Errorf("tensor %q: %d bytes of %s, want %d", t.name, len(data), t.typ, want)
		}
		if err := convertTensor(ctx, dst, src, p.To, threads, progress); err != nil {
			return fmt.Errorf("tensor %q: %w", t.name, err)
		}
		return nil
	})
}

// plan decides each tensor's output type. Tensors llama.cpp's converter
// keeps in F32 enter the planner as F32, the others at the source's
// precision; the planner then applies scheme ft as llama-quantize
// would to that file. SizeFrom is reported at the source's precision.
func (m *lmModel) plan(ft QuantFileType, pure bool) ([]TensorPlan, error) {
	infos := make([]gguf.TensorInfo, len(m.tensors))
	srcSize := make(map[string]uint64, len(m.tensors))
	for i, t := range m.tensors {
		switch t.typ {
		case quant.F32, quant.F16, quant.BF16:
		default:
			return nil, fmt.Errorf("tensor %q: source type %s is not F32, F16 or BF16", t.name, t.typ)
		}
		if len(t.dims) == 0 || t.elements() == 0 {
			return nil, fmt.Errorf("tensor %q: empty shape %v", t.name, t.dims)
		}
		from := t.typ
		if keepsF32(t.name, t.dims) {
			from = quant.F32
		}
		n := t.elements()
		infos[i] = gguf.TensorInfo{Name: t.name, Dims: t.dims, Type: from, Size: n * uint64(from.TypeSize())}
		srcSize[t.name] = n * uint64(t.typ.TypeSize())
	}
	plans, err := planTensors(planModel{arch: m.arch, hparam: m.hparam, tensors: infos}, ft, pure)
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
func (m *lmModel) hparam(key string) (uint32, bool) {
	key = m.arch + "." + key
	for _, kv := range m.kv {
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

// viewTensor is an lmTensor whose bytes are data as they are.
func viewTensor(name string, dims []uint64, typ quant.Type, data []byte) lmTensor {
	return lmTensor{name: name, dims: dims, typ: typ, load: func() ([]byte, error) { return data, nil }}
}

// encodeF32s encodes float32 values little-endian.
func encodeF32s(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}
