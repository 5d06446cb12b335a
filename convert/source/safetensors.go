package source

// A reader of Hugging Face's safetensors format: an 8-byte little-endian
// header length N, N bytes of JSON describing each tensor (dtype, shape, and
// the [begin, end) byte range of its data in the section that follows) plus
// an optional "__metadata__" map of strings, then the data. The file is
// mapped read-only and every tensor's Data is a view into the mapping, as
// gguf.Open does for GGUF files.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/infer-go/infer/quant"
)

// SafetensorsDType is an element type as safetensors names it: "F32",
// "BF16", "I64" ...
type SafetensorsDType string

// safetensorsSizes are the bytes per element of the dtypes the format
// defines. Only the float types convert to float32; the others can be listed
// and their bytes read.
var safetensorsSizes = map[SafetensorsDType]int{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8,
}

// Size is the bytes per element (0 for an unknown dtype).
func (d SafetensorsDType) Size() int { return safetensorsSizes[d] }

// maxSafetensorsHeader bounds the JSON header, as the reference
// implementation does (100 MB); real headers are kilobytes to a few
// megabytes.
const maxSafetensorsHeader = 100 << 20

// maxSafetensorsDims bounds a tensor's rank.
const maxSafetensorsDims = 16

// SafetensorsTensor is one tensor of a safetensors file.
type SafetensorsTensor struct {
	Name  string
	DType SafetensorsDType
	Shape []int // outermost first, as PyTorch; empty for a scalar
	// Data is the tensor's bytes, row-major, little-endian: a view into
	// the file's mapping, valid until Close.
	Data []byte
	// Offset is where Data starts in the file.
	Offset int64
}

// NumElements is the product of the shape (1 for a scalar).
func (t *SafetensorsTensor) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Float32s converts the tensor's elements to float32; only float dtypes
// (F32, F16, BF16, F64) convert.
func (t *SafetensorsTensor) Float32s() ([]float32, error) {
	out := make([]float32, t.NumElements())
	if err := DecodeFloats(out, t.DType, t.Data); err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	return out, nil
}

// DecodeFloats converts little-endian elements of a float dtype (F32, F16,
// BF16, F64) to float32; src holds exactly len(dst) of them.
func DecodeFloats(dst []float32, dt SafetensorsDType, src []byte) error {
	if dt.Size() == 0 || len(src) != len(dst)*dt.Size() {
		return fmt.Errorf("%d bytes of %s for %d elements", len(src), dt, len(dst))
	}
	le := binary.LittleEndian
	switch dt {
	case "F32":
		for i := range dst {
			dst[i] = math.Float32frombits(le.Uint32(src[4*i:]))
		}
	case "F16":
		for i := range dst {
			dst[i] = quant.F16ToF32(le.Uint16(src[2*i:]))
		}
	case "BF16":
		for i := range dst {
			dst[i] = quant.BF16ToF32(le.Uint16(src[2*i:]))
		}
	case "F64":
		for i := range dst {
			dst[i] = float32(math.Float64frombits(le.Uint64(src[8*i:])))
		}
	default:
		return fmt.Errorf("dtype %s does not convert to float32 (F32, F16, BF16, F64 do)", dt)
	}
	return nil
}

// Safetensors is a parsed safetensors file.
type Safetensors struct {
	// Metadata is the header's "__metadata__" (string to string), or nil.
	Metadata map[string]string
	// Tensors are in the order of their data in the file.
	Tensors []SafetensorsTensor
	// HeaderSize is N, the length of the JSON header.
	HeaderSize uint64

	byName map[string]int
	unmap  func() error
}

// OpenSafetensors maps the file at path read-only and parses its header.
// Tensor data stays on disk until touched; Close releases the mapping.
func OpenSafetensors(path string) (*Safetensors, error) {
	data, unmap, err := mapSafetensors(path)
	if err != nil {
		return nil, err
	}
	s, err := ParseSafetensors(data)
	if err != nil {
		_ = unmap()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s.unmap = unmap
	return s, nil
}

// Close releases the file's mapping; tensor Data must not be used after.
func (s *Safetensors) Close() error {
	if s.unmap == nil {
		return nil
	}
	err := s.unmap()
	s.unmap = nil
	return err
}

// Tensor finds a tensor by name.
func (s *Safetensors) Tensor(name string) (*SafetensorsTensor, bool) {
	i, ok := s.byName[name]
	if !ok {
		return nil, false
	}
	return &s.Tensors[i], true
}

// ParseSafetensors parses a whole safetensors file held in data; tensor
// views point into data. Every offset is checked against the data section
// and against the tensor's dtype and shape, and tensors may not overlap.
func ParseSafetensors(data []byte) (*Safetensors, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("safetensors: %d bytes: too short for the header length", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > uint64(len(data)-8) {
		return nil, fmt.Errorf("safetensors: header of %d bytes, but the file has %d after the length: truncated or not safetensors", n, len(data)-8)
	}
	if n > maxSafetensorsHeader {
		return nil, fmt.Errorf("safetensors: header of %d bytes is above the limit of %d", n, maxSafetensorsHeader)
	}
	header := data[8 : 8+n]
	if len(bytes.TrimSpace(header)) == 0 || bytes.TrimSpace(header)[0] != '{' {
		return nil, errors.New("safetensors: the header is not a JSON object")
	}
	body := data[8+n:]
	s := &Safetensors{HeaderSize: n, byName: map[string]int{}}
	type span struct{ begin, end uint64 }
	var spans []span
	err := parseJSONObject(header, func(key string, raw json.RawMessage) error {
		if key == "__metadata__" {
			if s.Metadata != nil {
				return errors.New("__metadata__ appears twice")
			}
			s.Metadata = map[string]string{}
			if err := json.Unmarshal(raw, &s.Metadata); err != nil {
				return fmt.Errorf("__metadata__: want a map of strings: %w", err)
			}
			return nil
		}
		if _, dup := s.byName[key]; dup {
			return fmt.Errorf("tensor %q appears twice", key)
		}
		var info struct {
			DType   *string   `json:"dtype"`
			Shape   *[]uint64 `json:"shape"`
			Offsets *[]uint64 `json:"data_offsets"`
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&info); err != nil {
			return fmt.Errorf("tensor %q: %w", key, err)
		}
		if info.DType == nil || info.Shape == nil || info.Offsets == nil {
			return fmt.Errorf("tensor %q: want dtype, shape and data_offsets", key)
		}
		t := SafetensorsTensor{Name: key, DType: SafetensorsDType(*info.DType)}
		size := uint64(t.DType.Size())
		if size == 0 {
			return fmt.Errorf("tensor %q: unknown dtype %q", key, *info.DType)
		}
		if len(*info.Shape) > maxSafetensorsDims {
			return fmt.Errorf("tensor %q: %d dimensions", key, len(*info.Shape))
		}
		// Shapes whose byte count overflows are refused before the
		// offsets are compared with it.
		bytesWant := size
		t.Shape = make([]int, len(*info.Shape))
		for i, d := range *info.Shape {
			if d > math.MaxInt32 || d != 0 && bytesWant > math.MaxInt64/d {
				return fmt.Errorf("tensor %q: shape %v is too large", key, *info.Shape)
			}
			bytesWant *= d
			t.Shape[i] = int(d)
		}
		limit := uint64(len(body))
		off := *info.Offsets
		if len(off) != 2 {
			return fmt.Errorf("tensor %q: data_offsets %v: want [begin, end]", key, off)
		}
		begin, end := off[0], off[1]
		if begin > end || end > limit {
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] outside the %d bytes of data", key, begin, end, limit)
		}
		if end-begin != bytesWant {
			return fmt.Errorf("tensor %q: %d bytes at data_offsets [%d, %d], but %s %v needs %d", key, end-begin, begin, end, t.DType, t.Shape, bytesWant)
		}
		t.Data = body[begin:end:end]
		t.Offset = int64(8 + n + begin)
		s.byName[key] = len(s.Tensors)
		s.Tensors = append(s.Tensors, t)
		spans = append(spans, span{begin, end})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("safetensors: header: %w", err)
	}

	// Order by data offset, and refuse overlapping tensors: the format
	// stores each tensor once (tied weights are saved once).
	order := make([]int, len(s.Tensors))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case spans[a].begin != spans[b].begin:
			return cmpU64(spans[a].begin, spans[b].begin)
		default:
			return cmpU64(spans[a].end, spans[b].end)
		}
	})
	sorted := make([]SafetensorsTensor, len(order))
	for i, j := range order {
		sorted[i] = s.Tensors[j]
		if i > 0 {
			prev := spans[order[i-1]]
			if spans[j].begin < prev.end {
				return nil, fmt.Errorf("safetensors: tensors %q and %q overlap", sorted[i-1].Name, sorted[i].Name)
			}
		}
		s.byName[sorted[i].Name] = i
	}
	s.Tensors = sorted
	return s, nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// parseJSONObject calls f for each member of the JSON object in data, in
// order (encoding/json's maps would lose the order and hide duplicates).
func parseJSONObject(data []byte, f func(key string, raw json.RawMessage) error) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errors.New("not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("object key %v is not a string", tok)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("%q: %w", key, err)
		}
		if err := f(key, raw); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
}

// safetensorsMapSize checks that a file can be mapped: a regular file at
// least as long as the header length, and addressable.
func safetensorsMapSize(path string, st os.FileInfo) (int, error) {
	switch {
	case st.IsDir():
		return 0, fmt.Errorf("%s: is a directory, not a safetensors file", path)
	case st.Size() < 8:
		return 0, fmt.Errorf("%s: %d bytes: too short for a safetensors file", path, st.Size())
	case uint64(st.Size()) > math.MaxInt:
		return 0, fmt.Errorf("%s: %d bytes: too large to map on this system", path, st.Size())
	}
	return int(st.Size()), nil
}
