package convert

// Hugging Face model directories: config.json, the weights as one
// model.safetensors or as shards listed by model.safetensors.index.json,
// and the tokenizer files. The architecture comes from config.json's
// "architectures" (or "model_type"), as convert_hf_to_gguf.py chooses it;
// the per-architecture mapping lives in hf_llama.go and hf_gpt2.go, the
// vocabulary in hf_tokenizer.go.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/infer-go/infer/quant"
)

// maxHFJSON bounds the JSON files of a model directory that are read whole
// (config.json, the shard index, tokenizer_config.json); tokenizer.json is
// bounded separately.
const maxHFJSON = 64 << 20

// hfArchitectures maps config.json's architectures (and model_type values)
// to the converter for them.
var hfArchitectures = map[string]func(h *hfDir, opts *LMOptions) (*lmModel, error){
	"LlamaForCausalLM":   hfLlama,
	"LLaMAForCausalLM":   hfLlama,
	"MistralForCausalLM": hfLlama,
	"llama":              hfLlama,
	"mistral":            hfLlama,
	"GPT2LMHeadModel":    hfGPT2,
	"gpt2":               hfGPT2,
}

// IsHFDir reports whether path is a directory holding a config.json: what
// infer convert takes for a Hugging Face model.
func IsHFDir(path string) bool {
	st, err := os.Stat(path)
	if err != nil || !st.IsDir() {
		return false
	}
	st, err = os.Stat(filepath.Join(path, "config.json"))
	return err == nil && st.Mode().IsRegular()
}

// ConvertHF converts the Hugging Face model in directory dir (a GPT-2 or a
// Llama-family model: config.json, safetensors weights, tokenizer files) to
// a GGUF file at out, the way llama.cpp's convert_hf_to_gguf.py does.
// Tensors are read through the files' mappings and written one at a time;
// on any error no output file is left.
func ConvertHF(dir, out string, opts LMOptions) (*QuantizeResult, error) {
	h, err := openHFDir(dir)
	if err != nil {
		return nil, err
	}
	defer h.close()
	if err := checkNotInside(out, h.weightFiles()); err != nil {
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
	if err := h.checkAllUsed(); err != nil {
		return nil, fmt.Errorf("%s (%s): %w", dir, arch, err)
	}
	if m.name == "" {
		if abs, err := filepath.Abs(dir); err == nil {
			m.name = filepath.Base(abs)
		}
	}
	return m.write(out, opts)
}

// checkNotInside refuses to write the output over one of the inputs.
func checkNotInside(out string, inputs []string) error {
	for _, in := range inputs {
		if err := checkDistinct(in, out); err != nil {
			return err
		}
	}
	return nil
}

// hfDir is an opened model directory.
type hfDir struct {
	dir    string
	config hfConfig
	parts  []*Safetensors
	names  []string // part file names, as parts
	// tensors by name, and which of them a converter has taken.
	tensors map[string]*SafetensorsTensor
	used    map[string]bool
}

func openHFDir(dir string) (*hfDir, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", dir)
	}
	h := &hfDir{dir: dir, tensors: map[string]*SafetensorsTensor{}, used: map[string]bool{}}
	raw, err := readHFJSON(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	if h.config, err = parseHFConfig(raw); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "config.json"), err)
	}
	if err := h.openWeights(); err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

func (h *hfDir) close() {
	for _, p := range h.parts {
		_ = p.Close()
	}
	h.parts = nil
}

func (h *hfDir) weightFiles() []string {
	files := make([]string, len(h.names))
	for i, n := range h.names {
		files[i] = filepath.Join(h.dir, n)
	}
	return files
}

// openWeights maps the safetensors files: the shards the index names, or
// model.safetensors, or every model*.safetensors file.
func (h *hfDir) openWeights() error {
	indexPath := filepath.Join(h.dir, "model.safetensors.index.json")
	var fromIndex map[string]string
	if _, err := os.Stat(indexPath); err == nil {
		raw, err := readHFJSON(indexPath)
		if err != nil {
			return err
		}
		var index struct {
			WeightMap map[string]string `json:"weight_map"`
		}
		if err := json.Unmarshal(raw, &index); err != nil {
			return fmt.Errorf("%s: %w", indexPath, err)
		}
		if len(index.WeightMap) == 0 {
			return fmt.Errorf("%s: no weight_map", indexPath)
		}
		fromIndex = index.WeightMap
		seen := map[string]bool{}
		for _, part := range index.WeightMap {
			if part != filepath.Base(part) || part == "" || part == "." || part == ".." {
				return fmt.Errorf("%s: shard %q is not a file name in the directory", indexPath, part)
			}
			if !seen[part] {
				seen[part] = true
				h.names = append(h.names, part)
			}
		}
		sort.Strings(h.names)
	} else {
		entries, err := os.ReadDir(h.dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			n := e.Name()
			if strings.HasPrefix(n, "model") && strings.HasSuffix(n, ".safetensors") && !e.IsDir() {
				h.names = append(h.names, n)
			}
		}
		if len(h.names) == 0 {
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), "pytorch_model") && strings.HasSuffix(e.Name(), ".bin") {
					return fmt.Errorf("%s: the weights are PyTorch .bin files (%s); infer converts safetensors weights only", h.dir, e.Name())
				}
			}
			return fmt.Errorf("%s: no model.safetensors (nor model-*.safetensors shards with model.safetensors.index.json)", h.dir)
		}
	}
	for _, n := range h.names {
		st, err := OpenSafetensors(filepath.Join(h.dir, n))
		if err != nil {
			return err
		}
		h.parts = append(h.parts, st)
		for i := range st.Tensors {
			t := &st.Tensors[i]
			if _, dup := h.tensors[t.Name]; dup {
				return fmt.Errorf("%s: tensor %q is in more than one shard", h.dir, t.Name)
			}
			h.tensors[t.Name] = t
		}
	}
	if fromIndex != nil {
		var missing, extra []string
		for name, part := range fromIndex {
			if _, ok := h.tensors[name]; !ok {
				missing = append(missing, fmt.Sprintf("%s (in %s)", name, part))
			}
		}
		for name := range h.tensors {
			if _, ok := fromIndex[name]; !ok {
				extra = append(extra, name)
			}
		}
		slices.Sort(missing)
		slices.Sort(extra)
		if len(missing) > 0 {
			return fmt.Errorf("%s: the index lists tensors the shards lack: %s", h.dir, firstFew(missing))
		}
		if len(extra) > 0 {
			return fmt.Errorf("%s: the shards hold tensors the index does not list: %s", h.dir, firstFew(extra))
		}
	}
	return nil
}

func firstFew(names []string) string {
	if len(names) > 5 {
		return strings.Join(names[:5], ", ") + fmt.Sprintf(" and %d more", len(names)-5)
	}
	return strings.Join(names, ", ")
}

// architecture picks the converter from config.json.
func (h *hfDir) architecture() (string, func(*hfDir, *LMOptions) (*lmModel, error), error) {
	archs, _ := h.config.strings("architectures")
	for _, a := range archs {
		if conv, ok := hfArchitectures[a]; ok {
			return a, conv, nil
		}
	}
	mt, _ := h.config.str("model_type")
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
	return "", nil, fmt.Errorf("%s: architecture %s is not supported (infer converts GPT2LMHeadModel and LlamaForCausalLM/MistralForCausalLM)", h.dir, what)
}

// take returns the named tensor and marks it converted.
func (h *hfDir) take(name string) (*SafetensorsTensor, bool) {
	t, ok := h.tensors[name]
	if ok {
		h.used[name] = true
	}
	return t, ok
}

// skip marks a tensor as deliberately left out.
func (h *hfDir) skip(name string) { h.used[name] = true }

// checkAllUsed fails on tensors the converter did not map, as
// convert_hf_to_gguf.py does ("Can not map tensor"): they mean the
// directory holds something other than the architecture claims.
func (h *hfDir) checkAllUsed() error {
	var left []string
	for name := range h.tensors {
		if !h.used[name] {
			left = append(left, name)
		}
	}
	if len(left) == 0 {
		return nil
	}
	slices.Sort(left)
	return fmt.Errorf("cannot map tensor(s) %s", firstFew(left))
}

// tensor converts the named safetensors tensor (PyTorch shape want,
// outermost first) into an lmTensor called gg, read as it is.
func (h *hfDir) tensor(name, gg string, want ...int) (lmTensor, error) {
	t, ok := h.take(name)
	if !ok {
		return lmTensor{}, fmt.Errorf("missing tensor %q", name)
	}
	if !slices.Equal(t.Shape, want) {
		return lmTensor{}, fmt.Errorf("tensor %q: shape %v, want %v", name, t.Shape, want)
	}
	return stToLM(t, gg)
}

// optionalTensor is tensor for a tensor that may be absent (ok false).
func (h *hfDir) optionalTensor(name, gg string, want ...int) (lt lmTensor, ok bool, err error) {
	if _, present := h.tensors[name]; !present {
		return lmTensor{}, false, nil
	}
	lt, err = h.tensor(name, gg, want...)
	return lt, err == nil, err
}

// stToLM describes a safetensors tensor in GGUF terms: the shape reversed,
// the data a view of the mapping (F64 is narrowed to F32 when loaded).
func stToLM(t *SafetensorsTensor, gg string) (lmTensor, error) {
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
		return lmTensor{name: gg, dims: dims, typ: quant.F32, load: func() ([]byte, error) {
			v, err := t.Float32s()
			if err != nil {
				return nil, err
			}
			return encodeF32s(v), nil
		}}, nil
	}
	return lmTensor{}, fmt.Errorf("tensor %q: dtype %s is not a float type (F32, F16, BF16, F64)", t.Name, t.DType)
}

// transformed wraps t so that load applies f to a copy of its bytes.
func transformed(t lmTensor, f func(src []byte) ([]byte, error)) lmTensor {
	load := t.load
	t.load = func() ([]byte, error) {
		src, err := load()
		if err != nil {
			return nil, err
		}
		return f(src)
	}
	return t
}

// readHFJSON reads a JSON file of a model directory.
func readHFJSON(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > maxHFJSON {
		return nil, fmt.Errorf("%s: %d bytes is more than a JSON file of a model directory should hold", path, st.Size())
	}
	var b bytes.Buffer
	if _, err := b.ReadFrom(f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b.Bytes(), nil
}

// hfConfig is a parsed config.json: top-level members, with a
// "text_config" (multimodal wrappers) merged over them as
// convert_hf_to_gguf.py does.
type hfConfig map[string]json.RawMessage

func parseHFConfig(raw []byte) (hfConfig, error) {
	var c hfConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	if c == nil {
		return nil, errors.New("not a JSON object")
	}
	if tc, ok := c["text_config"]; ok && !isJSONNull(tc) {
		var inner hfConfig
		if err := json.Unmarshal(tc, &inner); err != nil {
			return nil, fmt.Errorf("text_config: %w", err)
		}
		for k, v := range inner {
			c[k] = v
		}
	}
	return c, nil
}

func isJSONNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// has reports whether key is present and not null.
func (c hfConfig) has(key string) bool {
	v, ok := c[key]
	return ok && !isJSONNull(v)
}

// number reads the first of keys that is present as a number.
func (c hfConfig) number(keys ...string) (v float64, key string, ok bool, err error) {
	for _, k := range keys {
		if !c.has(k) {
			continue
		}
		if err := json.Unmarshal(c[k], &v); err != nil {
			return 0, k, true, fmt.Errorf("config.json %q: want a number: %w", k, err)
		}
		return v, k, true, nil
	}
	return 0, "", false, nil
}

// int reads the first of keys present as a non-negative integer that fits
// a uint32.
func (c hfConfig) int(keys ...string) (int, bool, error) {
	v, k, ok, err := c.number(keys...)
	if !ok || err != nil {
		return 0, ok, err
	}
	if v != math.Trunc(v) || v < 0 || v > math.MaxInt32 {
		return 0, true, fmt.Errorf("config.json %q: %v is not a count", k, v)
	}
	return int(v), true, nil
}

// requireInt is int for a key the conversion cannot do without; the value
// must be positive.
func (c hfConfig) requireInt(keys ...string) (int, error) {
	n, ok, err := c.int(keys...)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("config.json has none of %s", strings.Join(keys, ", "))
	}
	if n == 0 {
		return 0, fmt.Errorf("config.json %s is 0", keys[0])
	}
	return n, nil
}

func (c hfConfig) float(keys ...string) (float64, bool, error) {
	v, _, ok, err := c.number(keys...)
	return v, ok, err
}

func (c hfConfig) str(key string) (string, bool) {
	var s string
	if !c.has(key) || json.Unmarshal(c[key], &s) != nil {
		return "", false
	}
	return s, true
}

func (c hfConfig) boolean(key string) (b, ok bool) {
	if !c.has(key) || json.Unmarshal(c[key], &b) != nil {
		return false, false
	}
	return b, true
}

func (c hfConfig) strings(key string) ([]string, bool) {
	var s []string
	if !c.has(key) || json.Unmarshal(c[key], &s) != nil {
		return nil, false
	}
	return s, true
}

// object reads a nested object (rope_scaling).
func (c hfConfig) object(key string) (hfConfig, bool, error) {
	if !c.has(key) {
		return nil, false, nil
	}
	var o hfConfig
	if err := json.Unmarshal(c[key], &o); err != nil {
		return nil, true, fmt.Errorf("config.json %q: want an object: %w", key, err)
	}
	return o, true, nil
}
