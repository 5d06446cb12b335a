package source

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infer-go/infer/convert/internal/testsrc"
	"github.com/infer-go/infer/internal/testref"
	"github.com/infer-go/infer/quant"
)

// rawSafetensors builds a file from a literal header, for malformed cases.
func rawSafetensors(header string, body []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(out, header...), body...)
}

func TestParseSafetensorsDTypes(t *testing.T) {
	vals := []float32{1, -2.5, 0.15625, 65504}
	le := binary.LittleEndian
	var f16, bf16, f64 []byte
	for _, v := range vals {
		f16 = le.AppendUint16(f16, quant.F32ToF16(v))
		bf16 = le.AppendUint16(bf16, quant.F32ToBF16(v))
		f64 = le.AppendUint64(f64, math.Float64bits(float64(v)))
	}
	data := testsrc.Safetensors(map[string]string{"format": "pt"},
		testsrc.F32Tensor("a.f32", []int{2, 2}, func(i int) float32 { return vals[i] }),
		testsrc.Tensor{Name: "b.f16", DType: "F16", Shape: []int{4}, Data: f16},
		testsrc.Tensor{Name: "c.bf16", DType: "BF16", Shape: []int{1, 4}, Data: bf16},
		testsrc.Tensor{Name: "d.f64", DType: "F64", Shape: []int{4}, Data: f64},
		testsrc.Tensor{Name: "e.i64", DType: "I64", Shape: []int{2}, Data: make([]byte, 16)},
		testsrc.Tensor{Name: "f.scalar", DType: "F32", Shape: nil, Data: le.AppendUint32(nil, math.Float32bits(7))},
		testsrc.Tensor{Name: "g.empty", DType: "F32", Shape: []int{0, 3}, Data: nil},
	)
	s, err := ParseSafetensors(data)
	if err != nil {
		t.Fatal(err)
	}
	if s.Metadata["format"] != "pt" {
		t.Errorf("metadata %v", s.Metadata)
	}
	var names []string
	for _, tn := range s.Tensors {
		names = append(names, tn.Name)
	}
	if got := strings.Join(names, " "); got != "a.f32 b.f16 c.bf16 d.f64 e.i64 f.scalar g.empty" {
		t.Errorf("tensor order %q, want the data order", got)
	}
	bf16Vals := []float32{1, -2.5, 0.15625, 65536} // 65504 rounds to 65536 in bf16
	for _, tc := range []struct {
		name string
		want []float32
	}{
		{"a.f32", vals}, {"b.f16", vals}, {"c.bf16", bf16Vals}, {"d.f64", vals}, {"f.scalar", []float32{7}}, {"g.empty", []float32{}},
	} {
		tn, ok := s.Tensor(tc.name)
		if !ok {
			t.Fatalf("no tensor %s", tc.name)
		}
		got, err := tn.Float32s()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	i64, _ := s.Tensor("e.i64")
	if _, err := i64.Float32s(); err == nil || !strings.Contains(err.Error(), "I64") {
		t.Errorf("I64 to float32: error %v, want one naming the dtype", err)
	}
	if a, _ := s.Tensor("a.f32"); &a.Data[0] != &data[8+s.HeaderSize] {
		t.Error("tensor data is a copy, want a view of the file's bytes")
	}
}

func TestParseSafetensorsMalformed(t *testing.T) {
	four := make([]byte, 16)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"short", []byte{1, 2, 3}, "too short"},
		{"header past end", binary.LittleEndian.AppendUint64(nil, 1<<40), "truncated"},
		{"header length overflow", append(binary.LittleEndian.AppendUint64(nil, math.MaxUint64), '{', '}'), "truncated"},
		{"not json object", rawSafetensors(`[1, 2]`, nil), "not a JSON object"},
		{"bad json", rawSafetensors(`{"a": {"dtype": "F32"`, nil), "header"},
		{"trailing data", rawSafetensors(`{} {}`, nil), "after the JSON object"},
		{"missing field", rawSafetensors(`{"a": {"dtype": "F32", "shape": [1]}}`, four), "want dtype, shape and data_offsets"},
		{"unknown field", rawSafetensors(`{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "x": 1}}`, four), "unknown field"},
		{"unknown dtype", rawSafetensors(`{"a": {"dtype": "F12", "shape": [1], "data_offsets": [0, 4]}}`, four), "unknown dtype"},
		{"offset past data", rawSafetensors(`{"a": {"dtype": "F32", "shape": [8], "data_offsets": [0, 32]}}`, four), "outside"},
		{"offsets reversed", rawSafetensors(`{"a": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}}`, four), "outside"},
		{"size mismatch", rawSafetensors(`{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}`, four), "needs 8"},
		{"huge shape", rawSafetensors(`{"a": {"dtype": "F32", "shape": [4294967296, 4294967296, 4294967296], "data_offsets": [0, 16]}}`, four), "too large"},
		{"negative shape", rawSafetensors(`{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}`, four), "header"},
		{"three offsets", rawSafetensors(`{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}}`, four), "want [begin, end]"},
		{"duplicate", rawSafetensors(`{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}`, four), "twice"},
		{"overlap", rawSafetensors(`{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}`, four), "overlap"},
		{"bad metadata", rawSafetensors(`{"__metadata__": {"a": 1}}`, nil), "map of strings"},
		{"too many dims", rawSafetensors(`{"a": {"dtype": "F32", "shape": [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1], "data_offsets": [0, 4]}}`, four), "dimensions"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSafetensors(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestOpenSafetensorsErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenSafetensors(dir); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("directory: %v", err)
	}
	if _, err := OpenSafetensors(filepath.Join(dir, "missing.safetensors")); err == nil {
		t.Error("missing file: no error")
	}
	good := testsrc.Safetensors(nil, testsrc.F32Tensor("w", []int{4, 4}, func(i int) float32 { return float32(i) }))
	path := filepath.Join(dir, "cut.safetensors")
	if err := os.WriteFile(path, good[:len(good)-5], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenSafetensors(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "outside") {
		t.Errorf("truncated data: %v, want an error naming the file and the bad offsets", err)
	}
}

// TestOpenSafetensorsNanoGPT reads the real nanoGPT weights: every tensor
// of ckpt.pt's model but the causal-mask buffers and the tied lm_head, with
// the same shapes. (The values differ: the shared ckpt.pt was saved at
// iteration 2000, model.safetensors holds the iteration-250 weights the
// PyTorch references were recorded with; nanogpt_test.go checks both.)
func TestOpenSafetensorsNanoGPT(t *testing.T) {
	s, err := OpenSafetensors(testref.Path(t, "nanogpt", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.Contains(s.Metadata["model_args"], `"n_head": 4`) {
		t.Errorf("__metadata__.model_args %q", s.Metadata["model_args"])
	}
	tf, err := OpenTorch(testref.Path(t, "nanogpt", "ckpt.pt"))
	if err != nil {
		t.Fatal(err)
	}
	defer tf.Close()
	want := 0
	for _, nt := range tf.Tensors() {
		name, ok := strings.CutPrefix(nt.Name, "model.")
		if !ok || strings.HasSuffix(name, ".attn.bias") || name == "lm_head.weight" {
			continue
		}
		want++
		st, ok := s.Tensor(name)
		if !ok {
			t.Errorf("no %s", name)
			continue
		}
		if fmt.Sprint(st.Shape) != fmt.Sprint(nt.Shape) || st.DType != "F32" || len(st.Data) != 4*nt.NumElements() {
			t.Errorf("%s: %s %v, ckpt.pt has %v %v", name, st.DType, st.Shape, nt.DType, nt.Shape)
		}
	}
	if len(s.Tensors) != want || want != 52 {
		t.Errorf("%d tensors, ckpt.pt's model has %d besides the masks and lm_head, want 52", len(s.Tensors), want)
	}
}

func FuzzParseSafetensors(f *testing.F) {
	f.Add(testsrc.Safetensors(map[string]string{"format": "pt"},
		testsrc.F32Tensor("a", []int{2, 3}, func(i int) float32 { return float32(i) }),
		testsrc.Tensor{Name: "b", DType: "F16", Shape: []int{2}, Data: []byte{0, 60, 0, 188}}))
	f.Add(rawSafetensors(`{"a": {"dtype": "BF16", "shape": [], "data_offsets": [0, 2]}}`, []byte{1, 2}))
	f.Add(rawSafetensors(`{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}`, make([]byte, 12)))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSafetensors(data)
		if err != nil {
			return
		}
		end := int64(0)
		for _, tn := range s.Tensors {
			if len(tn.Data) != tn.NumElements()*tn.DType.Size() {
				t.Fatalf("%s: %d bytes for %s %v", tn.Name, len(tn.Data), tn.DType, tn.Shape)
			}
			if tn.Offset < end || tn.Offset+int64(len(tn.Data)) > int64(len(data)) {
				t.Fatalf("%s: bytes [%d, %d) overlap or leave the file", tn.Name, tn.Offset, tn.Offset+int64(len(tn.Data)))
			}
			end = tn.Offset + int64(len(tn.Data))
			if v, err := tn.Float32s(); err == nil && len(v) != tn.NumElements() {
				t.Fatalf("%s: %d values", tn.Name, len(v))
			}
		}
	})
}
