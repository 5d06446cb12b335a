package gguf

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infer-go/infer/quant"
)

func TestAddTensorRejects(t *testing.T) {
	cases := []struct {
		name string
		typ  quant.Type
		dims []uint64
		data []byte
		want string
	}{
		{"dup", quant.F32, []uint64{1}, make([]byte, 4), `duplicate tensor name "dup"`},
		{"five dims", quant.F32, []uint64{1, 1, 1, 1, 1}, make([]byte, 4), "5 dimensions, at most 4"},
		{"zero dim", quant.F32, []uint64{4, 0}, nil, "dimension 1 is zero"},
		{"overflow", quant.F32, []uint64{1 << 32, 1 << 32}, nil, "more elements than an int64"},
		{"byte overflow", quant.F64, []uint64{1 << 31, 1 << 31}, nil, "byte size of shape [2147483648 2147483648] overflows"},
		{"unknown type", quant.Type(33), []uint64{4}, make([]byte, 4), "unknown ggml type id 33"},
		{"partial block", quant.Q8_0, []uint64{40}, make([]byte, 34), "row length 40 is not a multiple of the Q8_0 block size 32"},
		{"short data", quant.F16, []uint64{4, 2}, make([]byte, 15), "F16 [4 2] takes 16 bytes, data has 15"},
	}
	w := NewWriter()
	if err := w.AddTensor("dup", quant.F32, []uint64{1}, make([]byte, 4)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := w.AddTensor(tc.name, tc.typ, tc.dims, tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("AddTensor: %v, want an error containing %q", err, tc.want)
			}
			if tc.name == "short data" {
				return // a write function's length is checked when it runs
			}
			err = w.AddTensorFunc(tc.name, tc.typ, tc.dims, func(io.Writer) error { return nil })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("AddTensorFunc: %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if len(w.tensors) != 1 {
		t.Errorf("rejected tensors were added: %d tensors", len(w.tensors))
	}
}

// TestWriteFileFailureLeavesNothing checks the atomic write: whatever goes
// wrong, the destination keeps its old contents (or stays absent) and no
// temporary file is left behind.
func TestWriteFileFailureLeavesNothing(t *testing.T) {
	cases := []struct {
		name  string
		setup func(w *Writer) error
		want  string
	}{
		{"callback error", func(w *Writer) error {
			return w.AddTensorFunc("t", quant.F32, []uint64{4}, func(out io.Writer) error {
				out.Write(make([]byte, 8))
				return errors.New("disk on fire")
			})
		}, `tensor "t": disk on fire`},
		{"short write", func(w *Writer) error {
			return w.AddTensorFunc("t", quant.F32, []uint64{4}, func(out io.Writer) error {
				_, err := out.Write(make([]byte, 15))
				return err
			})
		}, "wrote 15 bytes, want 16"},
		{"long write", func(w *Writer) error {
			return w.AddTensorFunc("t", quant.F32, []uint64{4}, func(out io.Writer) error {
				_, err := out.Write(make([]byte, 17))
				return err
			})
		}, "wrote more than the tensor's 16 bytes"},
		{"long write, error ignored", func(w *Writer) error {
			return w.AddTensorFunc("t", quant.F32, []uint64{4}, func(out io.Writer) error {
				out.Write(make([]byte, 16))
				out.Write(make([]byte, 1))
				return nil
			})
		}, "wrote more than the tensor's 16 bytes"},
		{"duplicate key", func(w *Writer) error {
			w.AddKV("k", ValueOf(uint8(1)))
			w.AddKV("k", ValueOf(uint8(2)))
			return nil
		}, `duplicate key "k"`},
		{"empty key", func(w *Writer) error { w.AddKV("", ValueOf(true)); return nil }, "empty key"},
		{"mismatched value", func(w *Writer) error {
			w.AddKV("k", Value{Type: TypeUint32, Data: "no"})
			return nil
		}, `value of type UINT32 holds Go type string`},
		{"mismatched array", func(w *Writer) error {
			w.AddKV("k", Value{Type: TypeArray, Elem: TypeString, Data: []int32{1}})
			return nil
		}, `value of type ARRAY[STRING] holds Go type []int32`},
		{"array of scalars as array of arrays", func(w *Writer) error {
			w.AddKV("k", Value{Type: TypeArray, Elem: TypeArray, Data: []Value{ValueOf(uint8(1))}})
			return nil
		}, "element 0 of an array of arrays is a UINT8"},
		{"unknown value type", func(w *Writer) error {
			w.AddKV("k", Value{Type: 13, Data: uint8(1)})
			return nil
		}, "unknown value type 13"},
		{"too deep", func(w *Writer) error {
			v := ValueOf([]uint8{1})
			for range maxArrayDepth {
				v = ValueOf([]Value{v})
			}
			w.AddKV("k", v)
			return nil
		}, "arrays nested more than 8 deep"},
		{"bad alignment", func(w *Writer) error { w.AddKV("general.alignment", ValueOf(uint32(24))); return nil },
			"alignment 24 is not a positive power of two"},
		{"string alignment", func(w *Writer) error { w.AddKV("general.alignment", ValueOf("32")); return nil },
			"have STRING, want an integer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, existing := range []bool{false, true} {
				dir := t.TempDir()
				path := filepath.Join(dir, "out.gguf")
				if existing {
					if err := os.WriteFile(path, []byte("old contents"), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				w := NewWriter()
				w.AddKV("general.name", ValueOf("x"))
				if err := tc.setup(w); err != nil {
					t.Fatal(err)
				}
				err := w.WriteFile(path)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("WriteFile: %v, want an error containing %q", err, tc.want)
				}
				entries, _ := os.ReadDir(dir)
				switch {
				case existing && (len(entries) != 1 || entries[0].Name() != "out.gguf"):
					t.Errorf("directory holds %v, want only the old out.gguf", entries)
				case !existing && len(entries) != 0:
					t.Errorf("directory holds %v after a failed write, want nothing", entries)
				}
				if existing {
					if b, _ := os.ReadFile(path); string(b) != "old contents" {
						t.Errorf("destination changed to %q", b)
					}
				}
			}
		})
	}
}

func TestWriteFileReplacesAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.gguf")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := sampleWriter(t)
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, writerBytes(t, w)) {
		t.Error("file on disk differs from the writer's output")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %v, want only m.gguf", entries)
	}
	// Writing twice from one Writer gives the same file.
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, got) {
		t.Error("second WriteFile wrote different bytes")
	}
}

func TestWriteFileMissingDirectory(t *testing.T) {
	err := sampleWriter(t).WriteFile(filepath.Join(t.TempDir(), "no", "such", "dir", "m.gguf"))
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("WriteFile into a missing directory: %v, want a not-exist error", err)
	}
}

// TestWriterLayout checks the bytes of a tiny file field by field against
// the GGUF v3 layout.
func TestWriterLayout(t *testing.T) {
	w := NewWriter()
	w.AddKV("a", ValueOf(uint16(0x0102)))
	w.AddKV("n", ValueOf([]Value{ValueOf([]int8{-1})}))
	if err := w.AddTensor("w", quant.F32, []uint64{2}, []byte{1, 2, 3, 4, 5, 6, 7, 8}); err != nil {
		t.Fatal(err)
	}
	want := (&builder{}).header(1, 2).
		str("a").u32(uint32(TypeUint16)).raw(0x02, 0x01).
		str("n").u32(uint32(TypeArray)).u32(uint32(TypeArray)).u64(1).u32(uint32(TypeInt8)).u64(1).u8(0xFF).
		tensor("w", quant.F32, 0, 2).padTo(32).raw(1, 2, 3, 4, 5, 6, 7, 8).padTo(32).b
	if got := writerBytes(t, w); !bytes.Equal(got, want) {
		t.Errorf("writer output\n% x\nwant\n% x", got, want)
	}
}
