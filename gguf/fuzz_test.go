package gguf

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"unsafe"
)

// FuzzParse feeds arbitrary bytes to Parse. Whatever it accepts must be
// self-consistent, readable through every accessor, and survive being
// written back and read again unchanged; whatever it rejects must be a
// *FormatError. Seeds: testdata/fuzz/FuzzParse (made by TestFuzzCorpus).
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			if _, ok := errors.AsType[*FormatError](err); !ok {
				t.Fatalf("error %v is a %T, want *FormatError", err, err)
			}
			return
		}
		checkParsed(t, file, data)
		rewritten := rewrite(t, file)
		again, err := Parse(rewritten)
		if err != nil {
			t.Fatalf("writer output does not parse: %v", err)
		}
		checkParsed(t, again, rewritten)
		if len(again.KV) != len(file.KV) || len(again.Tensors) != len(file.Tensors) {
			t.Fatalf("rewrite changed the counts")
		}
		for i, ti := range again.Tensors {
			orig := file.Tensors[i]
			if ti.Name != orig.Name || ti.Type != orig.Type || !reflect.DeepEqual(ti.Dims, orig.Dims) || !bytes.Equal(ti.Data, orig.Data) {
				t.Fatalf("tensor %d changed in the rewrite", i)
			}
		}
		// Byte comparison of a second rewrite covers the KVs, NaNs included.
		if !bytes.Equal(rewrite(t, again), rewritten) {
			t.Fatalf("writing a rewritten file again gives different bytes")
		}
	})
}

// rewrite copies every KV and tensor of f through a Writer.
func rewrite(t *testing.T, f *File) []byte {
	w := NewWriter()
	for _, kv := range f.KV {
		w.AddKV(kv.Key, kv.Value)
	}
	for _, ti := range f.Tensors {
		if err := w.AddTensor(ti.Name, ti.Type, ti.Dims, ti.Data); err != nil {
			t.Fatalf("writer refuses a parsed tensor: %v", err)
		}
	}
	var buf bytes.Buffer
	if err := w.writeTo(&buf); err != nil {
		t.Fatalf("writer refuses a parsed file: %v", err)
	}
	return buf.Bytes()
}

// checkParsed checks a parsed file's invariants and calls every accessor on
// every key (the results only have to be consistent, not successful).
func checkParsed(t *testing.T, f *File, data []byte) {
	for i, kv := range f.KV {
		v, ok := f.Value(kv.Key)
		if !ok || !f.Has(kv.Key) || f.kvIndex[kv.Key] != i {
			t.Fatalf("key %q not found by lookup", kv.Key)
		}
		if err := v.check(0); err != nil {
			t.Fatalf("key %q: parsed value is inconsistent: %v", kv.Key, err)
		}
		_ = v.String()
		_ = v.TypeName()
		s, err := f.String(kv.Key)
		if (err == nil) != (v.Type == TypeString) || (err == nil && s != v.Data) {
			t.Fatalf("String(%q) = %q, %v for a %s", kv.Key, s, err, v.TypeName())
		}
		if _, err := f.Bool(kv.Key); (err == nil) != (v.Type == TypeBool) {
			t.Fatalf("Bool(%q): %v for a %s", kv.Key, err, v.TypeName())
		}
		if _, err := f.Uint64(kv.Key); err == nil && !v.Type.isInteger() {
			t.Fatalf("Uint64(%q) accepted a %s", kv.Key, v.TypeName())
		}
		f.Uint32(kv.Key)
		f.Int64(kv.Key)
		f.Float32(kv.Key)
		f.Strings(kv.Key)
		f.Float32s(kv.Key)
		f.Int32s(kv.Key)
	}
	if f.Alignment == 0 || f.Alignment&(f.Alignment-1) != 0 {
		t.Fatalf("alignment %d", f.Alignment)
	}
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		if got, ok := f.Tensor(ti.Name); !ok || got != ti {
			t.Fatalf("tensor %q not found by lookup", ti.Name)
		}
		size, err := checkShape(ti.Type, ti.Dims)
		if err != nil || size != ti.Size || uint64(len(ti.Data)) != ti.Size || uint64(cap(ti.Data)) != ti.Size {
			t.Fatalf("tensor %q: size %d, len %d, cap %d, shape gives %d, %v", ti.Name, ti.Size, len(ti.Data), cap(ti.Data), size, err)
		}
		if ti.NumElements() == 0 || ti.Offset%f.Alignment != 0 {
			t.Fatalf("tensor %q: %d elements at offset %d", ti.Name, ti.NumElements(), ti.Offset)
		}
		if ti.Size > 0 {
			at := uintptr(unsafe.Pointer(&ti.Data[0])) - uintptr(unsafe.Pointer(&data[0]))
			if uint64(at) != f.DataOffset+ti.Offset {
				t.Fatalf("tensor %q: data at %d, want %d", ti.Name, at, f.DataOffset+ti.Offset)
			}
		}
	}
}
