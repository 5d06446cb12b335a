package quantize

// The plan of a quantization: which type each tensor of a model gets under
// one of llama.cpp's schemes (llama_tensor_get_type in src/llama-quant.cpp
// at the reference commit) and where a row length forces a fallback.

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/quant"
)

// FileType is one of llama.cpp's llama_ftype values: a quantization scheme
// for a whole model.
type FileType struct {
	Name string // as llama-quantize spells it: "Q4_K_M"
	// ID is the LLAMA_FTYPE value, written as general.file_type.
	ID uint32
	// Base is the type most weight matrices get; the mixture rules
	// give some tensors more bits.
	Base quant.Type
}

// fileTypes are the schemes infer can produce: every one whose tensor types
// quant can quantize to without an importance matrix.
var fileTypes = []FileType{
	{"F32", 0, quant.F32},
	{"F16", 1, quant.F16},
	{"BF16", 32, quant.BF16},
	{"Q8_0", 7, quant.Q8_0},
	{"Q4_0", 2, quant.Q4_0},
	{"Q4_1", 3, quant.Q4_1},
	{"Q5_0", 8, quant.Q5_0},
	{"Q5_1", 9, quant.Q5_1},
	{"IQ4_NL", 25, quant.IQ4_NL},
	{"Q2_K", 10, quant.Q2_K},
	{"Q3_K_S", 11, quant.Q3_K},
	{"Q3_K_M", 12, quant.Q3_K},
	{"Q3_K_L", 13, quant.Q3_K},
	{"Q4_K_S", 14, quant.Q4_K},
	{"Q4_K_M", 15, quant.Q4_K},
	{"Q5_K_S", 16, quant.Q5_K},
	{"Q5_K_M", 17, quant.Q5_K},
	{"Q6_K", 18, quant.Q6_K},
}

// fileTypeAliases are llama-quantize's short names for the _M mixtures.
var fileTypeAliases = map[string]string{"Q3_K": "Q3_K_M", "Q4_K": "Q4_K_M", "Q5_K": "Q5_K_M"}

// llama_ftype ids the mixture rules test.
const (
	ftypeQ2K  = 10
	ftypeQ3KS = 11
	ftypeQ3KM = 12
	ftypeQ3KL = 13
	ftypeQ4KS = 14
	ftypeQ4KM = 15
	ftypeQ5KM = 17
	ftypeIQ4  = 25
)

// FileTypes lists the schemes ParseFileType accepts.
func FileTypes() []FileType { return slices.Clone(fileTypes) }

// ParseFileType finds a scheme by name, case-insensitively ("q4_k_m",
// "Q8_0", and llama-quantize's "Q4_K" for Q4_K_M), or by its numeric
// llama_ftype id ("15").
func ParseFileType(s string) (FileType, error) {
	name := strings.ToUpper(strings.TrimSpace(s))
	if alias, ok := fileTypeAliases[name]; ok {
		name = alias
	}
	id, numErr := strconv.ParseUint(name, 10, 32)
	for _, ft := range fileTypes {
		if ft.Name == name || (numErr == nil && uint64(ft.ID) == id) {
			return ft, nil
		}
	}
	names := make([]string, len(fileTypes))
	for i, ft := range fileTypes {
		names[i] = ft.Name
	}
	return FileType{}, fmt.Errorf("unknown quantization type %q; valid types: %s (or their llama.cpp ftype numbers)",
		s, strings.Join(names, ", "))
}

// TensorPlan says what happens to one tensor.
type TensorPlan struct {
	Name string
	Dims []uint64
	From quant.Type
	To   quant.Type // From when the tensor is copied as it is
	// Wanted is the type the rules chose; Fallback is set when the row
	// length does not fit it, so To is llama.cpp's substitute.
	Wanted   quant.Type
	Fallback bool
	Elements uint64
	SizeFrom uint64 // bytes before
	SizeTo   uint64 // bytes after
	src      *gguf.TensorInfo
}

// PlanFile decides the output type of each tensor of f for scheme ft, in
// the order llama-quantize writes them (tensors outside blocks first, then
// block by block, by name within each), which is also the order its mixture
// counters see them. pure is llama-quantize's --pure (Options.Pure).
func PlanFile(f *gguf.File, ft FileType, pure bool) ([]TensorPlan, error) {
	arch, _ := f.String("general.architecture")
	hparam := func(key string) (uint32, bool) {
		if v, err := f.Uint32(arch + "." + key); err == nil {
			return v, true
		}
		// Some models give per-layer values; llama.cpp's n_gqa() reads layer 0.
		if v, err := f.Int32s(arch + "." + key); err == nil && len(v) > 0 && v[0] >= 0 {
			return uint32(v[0]), true
		}
		return 0, false
	}
	return Plan(Model{Arch: arch, HParam: hparam, Tensors: f.Tensors}, ft, pure)
}

// Model is what the planner reads of a model: its architecture, the
// hyperparameters of the mixture rules and its tensors.
type Model struct {
	Arch string
	// HParam looks up the integer hyperparameter ARCH.key as llama.cpp
	// reads it; false: the model does not have it.
	HParam func(key string) (uint32, bool)
	// Tensors need their Name, Dims, Type and Size; Data is not read.
	Tensors []gguf.TensorInfo
}

// Plan is PlanFile for any model, in a file or not: each tensor's type is
// planned from its Type as it stands (From).
func Plan(model Model, ft FileType, pure bool) ([]TensorPlan, error) {
	tensors := model.Tensors
	order := make([]int, len(tensors))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return compareWeightNames(tensors[a].Name, tensors[b].Name) })

	m := newMixture(model, ft)
	plans := make([]TensorPlan, 0, len(order))
	for _, i := range order {
		t := &tensors[i]
		p := TensorPlan{Name: t.Name, Dims: t.Dims, From: t.Type, To: t.Type, Elements: t.NumElements(), SizeFrom: t.Size, src: t}
		p.Wanted = t.Type
		if quantizable(t) {
			to := ft.Base
			if isBlockQuantized(ft.Base) && !pure {
				var err error
				if to, err = m.tensorType(t, to); err != nil {
					return nil, err
				}
			}
			p.Wanted = to
			p.To, p.Fallback = fallbackType(to, t.Dims[0])
		}
		if p.To != p.From {
			if tr := p.From.Traits(); tr == nil || tr.Dequantize == nil {
				return nil, fmt.Errorf("tensor %q: cannot convert from type %s to %s: infer cannot decode %s", t.Name, p.From, p.To, p.From)
			}
		}
		rowLen := rowLength(t)
		size, err := p.To.RowSize(int(rowLen))
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		p.SizeTo = uint64(size) * (p.Elements / rowLen)
		plans = append(plans, p)
	}
	return plans, nil
}

// rowLength is a tensor's ne0 (1 for a scalar stored without dimensions).
func rowLength(t *gguf.TensorInfo) uint64 {
	if len(t.Dims) == 0 {
		return 1
	}
	return t.Dims[0]
}

// compareWeightNames is llama.cpp's weight_name_comparer: by the N of a
// "blk.N." prefix (-1 without one), then by name.
func compareWeightNames(a, b string) int {
	la, lb := blockIndex(a), blockIndex(b)
	if la != lb {
		if la < lb {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// blockIndex reads N from a name starting "blk.N" as sscanf("blk.%d.") does,
// or returns -1.
func blockIndex(name string) int {
	s, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return -1
	}
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	end := 0
	if end < len(s) && (s[end] == '+' || s[end] == '-') {
		end++
	}
	digits := end
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	if end == digits {
		return -1
	}
	n, err := strconv.Atoi(s[:end])
	if err != nil {
		return -1
	}
	return n
}

// isBlockQuantized is ggml_is_quantized: only those types get mixture rules
// and fallbacks.
func isBlockQuantized(t quant.Type) bool {
	switch t {
	case quant.F32, quant.F16, quant.BF16, quant.F64, quant.I8, quant.I16, quant.I32, quant.I64:
		return false
	}
	return true
}

// quantizable is llama.cpp's test of whether a tensor is converted at all:
// weight matrices only; norms, biases, vectors, routers and the small
// special-purpose matrices of some architectures stay as they are.
func quantizable(t *gguf.TensorInfo) bool {
	name := t.Name
	if nDims(t.Dims) < 2 || !strings.HasSuffix(name, "weight") {
		return false
	}
	switch name {
	case "position_embd.weight", "token_types.weight":
		return false
	}
	for _, s := range keptAsIs {
		if strings.Contains(name, s) {
			return false
		}
	}
	return true
}

// keptAsIs are the name fragments llama.cpp never quantizes.
var keptAsIs = []string{
	"_norm.weight",
	"ffn_gate_inp.weight", // MoE routers
	"altup", "laurel", "per_layer_model_proj",
	"ssm_conv1d.weight", "shortconv.conv.weight",
	"time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight",
	"time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight",
	"time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight",
	"time_mix_g1.weight", "time_mix_g2.weight",
	"time_mix_decay_w1.weight", "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight",
	"attn_rel_b.weight",
	".position_embd.",
}

// nDims is ggml_n_dims: the dimensions up to the last one above 1.
func nDims(dims []uint64) int {
	for i := len(dims) - 1; i >= 1; i-- {
		if dims[i] > 1 {
			return i + 1
		}
	}
	return 1
}

// fallbackType replaces a block type whose block size does not divide the
// row length, as llama.cpp does; where llama.cpp has no substitute (it stops
// with an error) infer keeps the weights in F16.
func fallbackType(t quant.Type, rowLen uint64) (quant.Type, bool) {
	if rowLen%uint64(t.BlockSize()) == 0 {
		return t, false
	}
	var sub quant.Type
	switch t {
	case quant.TQ1_0, quant.TQ2_0:
		sub = quant.Q4_0
	case quant.IQ2_XXS, quant.IQ2_XS, quant.IQ2_S, quant.IQ3_XXS, quant.IQ3_S, quant.IQ1_S, quant.IQ1_M,
		quant.Q2_K, quant.Q3_K, quant.IQ4_XS:
		sub = quant.IQ4_NL
	case quant.Q4_K:
		sub = quant.Q5_0
	case quant.Q5_K:
		sub = quant.Q5_1
	case quant.Q6_K:
		sub = quant.Q8_0
	default:
		return quant.F16, true
	}
	if rowLen%uint64(sub.BlockSize()) != 0 {
		return quant.F16, true
	}
	return sub, true
}

// mixture holds what llama.cpp's llama_tensor_get_type needs: the model's
// shape and counters that advance as the tensors are seen in order.
type mixture struct {
	ft       uint32
	arch     string
	nLayer   int
	nHead    uint32
	nHeadKV  uint32
	nExpert  uint32
	is70B    bool
	hasOut   bool // output.weight exists, so token_embd is not the output too
	nAttnV   int
	iAttnV   int
	iFFNDown int
	iFFNGate int
	iFFNUp   int
}

func newMixture(model Model, ft FileType) *mixture {
	m := &mixture{ft: ft.ID, arch: model.Arch}
	hp := model.HParam
	if n, ok := hp("block_count"); ok {
		m.nLayer = int(n)
	} else {
		// Not a llama.cpp model; count the blocks instead.
		for i := range model.Tensors {
			m.nLayer = max(m.nLayer, blockIndex(model.Tensors[i].Name)+1)
		}
	}
	m.nHead, _ = hp("attention.head_count")
	m.nHeadKV = m.nHead
	if v, ok := hp("attention.head_count_kv"); ok {
		m.nHeadKV = v
	}
	m.nExpert, _ = hp("expert_count")
	// llama.cpp's LLM_TYPE_70B: an 80-layer llama with grouped-query attention.
	m.is70B = m.arch == "llama" && m.nLayer == 80 && m.nHead != m.nHeadKV
	for i := range model.Tensors {
		name := model.Tensors[i].Name
		if strings.Contains(name, "attn_v.weight") || strings.Contains(name, "attn_qkv.weight") ||
			strings.Contains(name, "attn_kv_b.weight") {
			m.nAttnV++
		} else if name == "output.weight" {
			m.hasOut = true
		}
	}
	return m
}

// gqa is llama.cpp's n_gqa(): query heads per key/value head.
func (m *mixture) gqa() uint32 {
	if m.nHeadKV == 0 {
		return 0
	}
	return m.nHead / m.nHeadKV
}

// useMoreBits picks the layers llama.cpp's _M mixtures give more bits: the
// first and last eighth and every third layer in between.
func useMoreBits(i, n int) bool {
	return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2
}

// layer is llama.cpp's layer_info: the running count, except in
// mixture-of-experts models, where expert tensors are not in layer order
// and the layer comes from the name.
func (m *mixture) layer(counter int, name string) (int, error) {
	if m.nExpert <= 1 {
		return counter, nil
	}
	i := blockIndex(name)
	if i < 0 || !strings.HasPrefix(name, "blk.") {
		return 0, fmt.Errorf("tensor %q: cannot tell its layer", name)
	}
	if i >= m.nLayer {
		return 0, fmt.Errorf("tensor %q: layer %d, the model has %d", name, i, m.nLayer)
	}
	return i, nil
}

// tensorType is llama_tensor_get_type for the schemes infer supports (no
// IQ1/IQ2/IQ3 schemes, no importance matrix): base is the scheme's type.
func (m *mixture) tensorType(t *gguf.TensorInfo, base quant.Type) (quant.Type, error) {
	name, ft, typ := t.Name, m.ft, base
	falcon := m.arch == "falcon"
	has := func(s string) bool { return strings.Contains(name, s) }
	switch {
	case name == "output.weight" || (!m.hasOut && name == "token_embd.weight"):
		// The output matrix (or the embedding that doubles as it) is the
		// most sensitive: Q6_K unless the scheme is Q8_0 already.
		if falcon || t.Dims[0]%uint64(base.BlockSize()) != 0 {
			typ = quant.Q8_0
		} else if base != quant.Q8_0 {
			typ = quant.Q6_K
		}
	case name == "token_embd.weight" || name == "per_layer_token_embd.weight":
		// Only IQ1/IQ2/IQ3/TQ schemes change the embedding.
	case has("attn_v.weight"):
		switch {
		case ft == ftypeQ2K:
			typ = quant.Q3_K
			if m.gqa() >= 4 {
				typ = quant.Q4_K
			}
		case ft == ftypeQ3KM:
			typ = quant.Q4_K
			if m.iAttnV < 2 {
				typ = quant.Q5_K
			}
		case ft == ftypeQ3KL:
			typ = quant.Q5_K
		case ft == ftypeIQ4 && m.gqa() >= 4:
			typ = quant.Q5_K
		case (ft == ftypeQ4KM || ft == ftypeQ5KM) && useMoreBits(m.iAttnV, m.nAttnV):
			typ = quant.Q6_K
		case ft == ftypeQ4KS && m.iAttnV < 4:
			typ = quant.Q5_K
		}
		if m.is70B && (typ == quant.Q3_K || typ == quant.Q4_K) {
			typ = quant.Q5_K
		}
		if m.nExpert == 8 {
			typ = quant.Q8_0
		}
		m.iAttnV++
	case has("attn_k.weight"):
		if m.nExpert == 8 {
			typ = quant.Q8_0
		}
	case has("attn_q.weight"):
		// Only IQ3 schemes change attn_q.
	case has("ffn_down"):
		i, err := m.layer(m.iFFNDown, name)
		if err != nil {
			return 0, err
		}
		n := m.nLayer
		switch {
		case ft == ftypeQ2K:
			typ = quant.Q3_K
		case ft == ftypeQ3KM:
			switch {
			case i < n/16:
				typ = quant.Q5_K
			case !falcon || useMoreBits(i, n):
				typ = quant.Q4_K
			default:
				typ = quant.Q3_K
			}
		case ft == ftypeQ3KL:
			typ = quant.Q5_K
			if falcon {
				typ = quant.Q4_K
			}
		case ft == ftypeQ4KM:
			switch {
			case !falcon:
				if useMoreBits(i, n) {
					typ = quant.Q6_K
				}
			case i < n/16:
				typ = quant.Q6_K
			case useMoreBits(i, n):
				typ = quant.Q5_K
			default:
				typ = quant.Q4_K
			}
		case i < n/8 && ft == ftypeIQ4:
			typ = quant.Q5_K
		case ft == ftypeQ5KM && useMoreBits(i, n):
			typ = quant.Q6_K
		case ft == ftypeQ4KS && !falcon && i < n/8:
			typ = quant.Q5_K
		}
		m.iFFNDown++
	case has("attn_output.weight"):
		switch {
		case falcon:
			if ft == ftypeQ3KL {
				typ = quant.Q4_K
			}
		case m.nExpert == 8:
			switch ft {
			case ftypeQ2K, ftypeQ3KS, ftypeQ3KM, ftypeIQ4, ftypeQ4KS, ftypeQ4KM:
				typ = quant.Q5_K
			}
		case ft == ftypeQ2K:
			typ = quant.Q3_K
		case ft == ftypeQ3KM:
			typ = quant.Q4_K
		case ft == ftypeQ3KL:
			typ = quant.Q5_K
		}
	case has("attn_qkv.weight"):
		switch ft {
		case ftypeQ3KM, ftypeQ3KL:
			typ = quant.Q4_K
		case ftypeQ4KM:
			typ = quant.Q5_K
		case ftypeQ5KM:
			typ = quant.Q6_K
		}
	case has("ffn_gate"):
		// Only IQ3_XS changes these; the layer check still applies.
		if _, err := m.layer(m.iFFNGate, name); err != nil {
			return 0, err
		}
		m.iFFNGate++
	case has("ffn_up"):
		if _, err := m.layer(m.iFFNUp, name); err != nil {
			return 0, err
		}
		m.iFFNUp++
	}
	return typ, nil
}
