package source

// Hugging Face model directories: config.json, the weights as one
// model.safetensors or as shards listed by model.safetensors.index.json,
// and the JSON files beside them (tokenizer_config.json ...).

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
)

// maxHFJSON bounds the JSON files of a model directory that are read whole
// (config.json, the shard index, tokenizer_config.json); tokenizer.json is
// bounded separately.
const maxHFJSON = 64 << 20

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

// HFDir is an opened model directory: its config.json and its tensors,
// views of the mapped safetensors files until Close. It records which
// tensors a converter has taken, so that Unused can name the ones nobody
// mapped.
type HFDir struct {
	Dir    string
	Config HFConfig
	// Tensors by name, from every shard.
	Tensors map[string]*SafetensorsTensor

	parts []*Safetensors
	names []string // part file names, as parts
	used  map[string]bool
}

// OpenHFDir reads dir's config.json and maps its safetensors weights: the
// shards model.safetensors.index.json names (which must hold exactly the
// tensors it lists), or model.safetensors, or every model*.safetensors.
func OpenHFDir(dir string) (*HFDir, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", dir)
	}
	h := &HFDir{Dir: dir, Tensors: map[string]*SafetensorsTensor{}, used: map[string]bool{}}
	raw, err := ReadHFJSON(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	if h.Config, err = ParseHFConfig(raw); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "config.json"), err)
	}
	if err := h.openWeights(); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// Close releases the mappings; the tensors' Data must not be used after.
func (h *HFDir) Close() {
	for _, p := range h.parts {
		_ = p.Close()
	}
	h.parts = nil
}

// WeightFiles lists the paths of the safetensors files.
func (h *HFDir) WeightFiles() []string {
	files := make([]string, len(h.names))
	for i, n := range h.names {
		files[i] = filepath.Join(h.Dir, n)
	}
	return files
}

// openWeights maps the safetensors files: the shards the index names, or
// model.safetensors, or every model*.safetensors file.
func (h *HFDir) openWeights() error {
	indexPath := filepath.Join(h.Dir, "model.safetensors.index.json")
	var fromIndex map[string]string
	if _, err := os.Stat(indexPath); err == nil {
		raw, err := ReadHFJSON(indexPath)
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
		entries, err := os.ReadDir(h.Dir)
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
					return fmt.Errorf("%s: the weights are PyTorch .bin files (%s); infer converts safetensors weights only", h.Dir, e.Name())
				}
			}
			return fmt.Errorf("%s: no model.safetensors (nor model-*.safetensors shards with model.safetensors.index.json)", h.Dir)
		}
	}
	for _, n := range h.names {
		st, err := OpenSafetensors(filepath.Join(h.Dir, n))
		if err != nil {
			return err
		}
		h.parts = append(h.parts, st)
		for i := range st.Tensors {
			t := &st.Tensors[i]
			if _, dup := h.Tensors[t.Name]; dup {
				return fmt.Errorf("%s: tensor %q is in more than one shard", h.Dir, t.Name)
			}
			h.Tensors[t.Name] = t
		}
	}
	if fromIndex != nil {
		var missing, extra []string
		for name, part := range fromIndex {
			if _, ok := h.Tensors[name]; !ok {
				missing = append(missing, fmt.Sprintf("%s (in %s)", name, part))
			}
		}
		for name := range h.Tensors {
			if _, ok := fromIndex[name]; !ok {
				extra = append(extra, name)
			}
		}
		slices.Sort(missing)
		slices.Sort(extra)
		if len(missing) > 0 {
			return fmt.Errorf("%s: the index lists tensors the shards lack: %s", h.Dir, firstFew(missing))
		}
		if len(extra) > 0 {
			return fmt.Errorf("%s: the shards hold tensors the index does not list: %s", h.Dir, firstFew(extra))
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

// Take returns the named tensor and marks it taken.
func (h *HFDir) Take(name string) (*SafetensorsTensor, bool) {
	t, ok := h.Tensors[name]
	if ok {
		h.used[name] = true
	}
	return t, ok
}

// Skip marks a tensor as deliberately left out.
func (h *HFDir) Skip(name string) { h.used[name] = true }

// CheckAllUsed fails on tensors that were neither taken nor skipped, as
// convert_hf_to_gguf.py does ("Can not map tensor"): they mean the
// directory holds something other than its architecture claims.
func (h *HFDir) CheckAllUsed() error {
	var left []string
	for name := range h.Tensors {
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

// ReadHFJSON reads a JSON file of a model directory, refusing one larger
// than such a file should be (64 MiB).
func ReadHFJSON(path string) ([]byte, error) {
	f, size, err := openSized(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if size > maxHFJSON {
		return nil, fmt.Errorf("%s: %d bytes is more than a JSON file of a model directory should hold", path, size)
	}
	var b bytes.Buffer
	if _, err := b.ReadFrom(f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b.Bytes(), nil
}

// HFConfig is a parsed config.json (or another JSON object of a model
// directory): its members by name, undecoded until asked for.
type HFConfig map[string]json.RawMessage

// ParseHFConfig parses a config.json: top-level members, with a
// "text_config" (multimodal wrappers) merged over them as
// convert_hf_to_gguf.py does.
func ParseHFConfig(raw []byte) (HFConfig, error) {
	var c HFConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	if c == nil {
		return nil, errors.New("not a JSON object")
	}
	if tc, ok := c["text_config"]; ok && !IsJSONNull(tc) {
		var inner HFConfig
		if err := json.Unmarshal(tc, &inner); err != nil {
			return nil, fmt.Errorf("text_config: %w", err)
		}
		for k, v := range inner {
			c[k] = v
		}
	}
	return c, nil
}

// IsJSONNull reports a JSON value that is absent or null.
func IsJSONNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// Has reports whether key is present and not null.
func (c HFConfig) Has(key string) bool {
	v, ok := c[key]
	return ok && !IsJSONNull(v)
}

// Number reads the first of keys that is present as a number.
func (c HFConfig) Number(keys ...string) (v float64, key string, ok bool, err error) {
	for _, k := range keys {
		if !c.Has(k) {
			continue
		}
		if err := json.Unmarshal(c[k], &v); err != nil {
			return 0, k, true, fmt.Errorf("config.json %q: want a number: %w", k, err)
		}
		return v, k, true, nil
	}
	return 0, "", false, nil
}

// Int reads the first of keys present as a non-negative integer that fits
// an int32.
func (c HFConfig) Int(keys ...string) (int, bool, error) {
	v, k, ok, err := c.Number(keys...)
	if !ok || err != nil {
		return 0, ok, err
	}
	if v != math.Trunc(v) || v < 0 || v > math.MaxInt32 {
		return 0, true, fmt.Errorf("config.json %q: %v is not a count", k, v)
	}
	return int(v), true, nil
}

// RequireInt is Int for a key the conversion cannot do without; the value
// must be positive.
func (c HFConfig) RequireInt(keys ...string) (int, error) {
	n, ok, err := c.Int(keys...)
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

// Float reads the first of keys that is present as a number.
func (c HFConfig) Float(keys ...string) (float64, bool, error) {
	v, _, ok, err := c.Number(keys...)
	return v, ok, err
}

// Text reads key as a string.
func (c HFConfig) Text(key string) (string, bool) {
	var s string
	if !c.Has(key) || json.Unmarshal(c[key], &s) != nil {
		return "", false
	}
	return s, true
}

// Bool reads key as a boolean.
func (c HFConfig) Bool(key string) (b, ok bool) {
	if !c.Has(key) || json.Unmarshal(c[key], &b) != nil {
		return false, false
	}
	return b, true
}

// Strings reads key as a list of strings.
func (c HFConfig) Strings(key string) ([]string, bool) {
	var s []string
	if !c.Has(key) || json.Unmarshal(c[key], &s) != nil {
		return nil, false
	}
	return s, true
}

// Object reads a nested object (rope_scaling).
func (c HFConfig) Object(key string) (HFConfig, bool, error) {
	if !c.Has(key) {
		return nil, false, nil
	}
	var o HFConfig
	if err := json.Unmarshal(c[key], &o); err != nil {
		return nil, true, fmt.Errorf("config.json %q: want an object: %w", key, err)
	}
	return o, true, nil
}
