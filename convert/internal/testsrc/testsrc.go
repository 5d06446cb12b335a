// Package testsrc writes small files in the formats convert reads
// (safetensors, Hugging Face directories, numpy .npy in zip archives,
// pickles, SentencePiece's tokenizer.model, llama2.c's headers and
// tokenizer.bin) for the tests of convert and its packages. It imports
// none of them, so that their own tests can use it.
package testsrc

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Tensor is a tensor of a safetensors file: PyTorch shape, outermost
// first, and the little-endian bytes of a dtype safetensors names ("F32").
type Tensor struct {
	Name  string
	DType string
	Shape []int
	Data  []byte
}

// F32Bytes encodes float32 values little-endian.
func F32Bytes(v ...float32) []byte {
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// F64Bytes encodes float64 values little-endian.
func F64Bytes(v ...float64) []byte {
	b := make([]byte, 0, 8*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	}
	return b
}

// F32Tensor makes an F32 tensor of the given shape with values f(i).
func F32Tensor(name string, shape []int, f func(i int) float32) Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = f(i)
	}
	return Tensor{name, "F32", shape, F32Bytes(v...)}
}

// Safetensors encodes tensors the way the safetensors library does: data in
// the given order, the header (with meta as __metadata__ unless nil) padded
// with spaces to a multiple of 8.
func Safetensors(meta map[string]string, tensors ...Tensor) []byte {
	header := map[string]any{}
	if meta != nil {
		header["__metadata__"] = meta
	}
	var body []byte
	for _, t := range tensors {
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[t.Name] = map[string]any{"dtype": t.DType, "shape": shape, "data_offsets": []int{len(body), len(body) + len(t.Data)}}
		body = append(body, t.Data...)
	}
	h, err := json.Marshal(header)
	if err != nil {
		panic(err)
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	return append(append(out, h...), body...)
}

// WriteJSON writes v as an indented JSON file.
func WriteJSON(tb testing.TB, path string, v any) {
	tb.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// WriteHFWeights writes tensors into dir as model.safetensors, or, with
// shards > 1, as model-0000i-of-0000n.safetensors with
// model.safetensors.index.json.
func WriteHFWeights(tb testing.TB, dir string, tensors []Tensor, shards int) {
	tb.Helper()
	if shards <= 1 {
		if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), Safetensors(nil, tensors...), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	weightMap := map[string]string{}
	per := (len(tensors) + shards - 1) / shards
	for s := range shards {
		name := fmt.Sprintf("model-%05d-of-%05d.safetensors", s+1, shards)
		part := tensors[s*per : min((s+1)*per, len(tensors))]
		for _, x := range part {
			weightMap[x.Name] = name
		}
		if err := os.WriteFile(filepath.Join(dir, name), Safetensors(nil, part...), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	WriteJSON(tb, filepath.Join(dir, "model.safetensors.index.json"), map[string]any{"metadata": map[string]any{}, "weight_map": weightMap})
}

// ZipEntry is a member of a zip archive.
type ZipEntry struct {
	Name string
	Data []byte
}

// Zip stores entries (uncompressed) in a zip archive.
func Zip(tb testing.TB, entries ...ZipEntry) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.Name, Method: zip.Store})
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.Write(e.Data); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// NPY builds a .npy (version 1.0) with the given header dict.
func NPY(dict string, data []byte) []byte {
	h := dict
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	b := []byte("\x93NUMPY\x01\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(len(h)))
	return append(append(b, h...), data...)
}

// NPYF64 is a .npy of float64 values in the given shape (a Python tuple).
func NPYF64(shape string, v ...float64) []byte {
	return NPY(fmt.Sprintf("{'descr': '<f8', 'fortran_order': False, 'shape': %s, }", shape), F64Bytes(v...))
}

// PickleString is the pickle opcode BINUNICODE for s.
func PickleString(s string) string {
	b := []byte{'X'}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
	return string(append(b, s...))
}

// MetaPKL is nanoGPT's meta.pkl for a character vocabulary, as its
// prepare.py writes it ({vocab_size, itos, stoi}; protocol 2 is enough for
// dicts of ints and strings).
func MetaPKL(chars []string) []byte {
	str := PickleString
	num := func(n int) string { return "M" + string(binary.LittleEndian.AppendUint16(nil, uint16(n))) }
	var b strings.Builder
	b.WriteString("\x80\x02}(" + str("vocab_size") + num(len(chars)) + str("itos") + "}(")
	for i, c := range chars {
		b.WriteString(num(i) + str(c))
	}
	b.WriteString("u" + str("stoi") + "}(")
	for i, c := range chars {
		b.WriteString(str(c) + num(i))
	}
	b.WriteString("uu.")
	return []byte(b.String())
}

// SentencePiece piece types (ModelProto.SentencePiece.Type).
const (
	SPMNormal      = 1
	SPMUnknown     = 2
	SPMControl     = 3
	SPMUserDefined = 4
	SPMUnused      = 5
	SPMByte        = 6
)

// Piece is one piece of a SentencePiece model.
type Piece struct {
	Piece string
	Score float32
	Type  int // SPMNormal ...
}

// SPMModel writes a SentencePiece ModelProto: the pieces, a trainer_spec
// (model_type BPE, and a field a reader must skip) and, if addDummyPrefix
// is set, a normalizer_spec saying so.
func SPMModel(pieces []Piece, addDummyPrefix *bool) []byte {
	var out []byte
	key := func(b []byte, field, wire int) []byte { return binary.AppendUvarint(b, uint64(field<<3|wire)) }
	for _, p := range pieces {
		var m []byte
		m = key(m, 1, 2)
		m = binary.AppendUvarint(m, uint64(len(p.Piece)))
		m = append(m, p.Piece...)
		m = key(m, 2, 5)
		m = binary.LittleEndian.AppendUint32(m, math.Float32bits(p.Score))
		if p.Type != SPMNormal {
			m = key(m, 3, 0)
			m = binary.AppendUvarint(m, uint64(p.Type))
		}
		out = key(out, 1, 2)
		out = binary.AppendUvarint(out, uint64(len(m)))
		out = append(out, m...)
	}
	spec := key(nil, 3, 0)
	spec = binary.AppendUvarint(spec, 2)
	spec = key(spec, 1, 2)
	spec = append(spec, 3, 'x', 'y', 'z')
	out = key(out, 2, 2)
	out = binary.AppendUvarint(out, uint64(len(spec)))
	out = append(out, spec...)
	if addDummyPrefix != nil {
		norm := key(nil, 3, 0)
		v := uint64(0)
		if *addDummyPrefix {
			v = 1
		}
		norm = binary.AppendUvarint(norm, v)
		out = key(out, 3, 2)
		out = binary.AppendUvarint(out, uint64(len(norm)))
		out = append(out, norm...)
	}
	return out
}

// Llama2CMagic is "ak42", the start of llama2.c's version 1 and 2 headers.
const Llama2CMagic = 0x616b3432

// Llama2CHeader is a llama2.c checkpoint's header for a model of the given
// dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size and seq_len:
// version 0's seven int32 (a negative vocab_size when the classifier is not
// shared), or versions 1 and 2's 256 bytes (magic, version, the seven, the
// shared flag, version 2's group size).
func Llama2CHeader(version int, shape [7]int, shared bool, groupSize int) []byte {
	if version == 0 && !shared {
		shape[5] = -shape[5]
	}
	var params []byte
	for _, v := range shape {
		params = binary.LittleEndian.AppendUint32(params, uint32(int32(v)))
	}
	if version == 0 {
		return params
	}
	b := binary.LittleEndian.AppendUint32(nil, Llama2CMagic)
	b = binary.LittleEndian.AppendUint32(b, uint32(version))
	b = append(b, params...)
	if shared {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	if version == 2 {
		b = binary.LittleEndian.AppendUint32(b, uint32(groupSize))
	}
	return append(b, make([]byte, 256-len(b))...)
}

// Llama2CTokenizer is a tokenizer.bin as llama2.c's tokenizer.py exports
// it: the longest piece's length, then each piece's score, length and bytes.
func Llama2CTokenizer(pieces []string, scores []float32) []byte {
	maxLen := 0
	for _, p := range pieces {
		maxLen = max(maxLen, len(p))
	}
	b := binary.LittleEndian.AppendUint32(nil, uint32(maxLen))
	for i, p := range pieces {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(scores[i]))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}
