package gguf

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/infer-go/infer/internal/testref"
)

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.gguf")
	corrupt := filepath.Join(dir, "corrupt.gguf")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	data := writerBytes(t, sampleWriter(t))
	data[4] = 9 // version
	if err := os.WriteFile(corrupt, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path string
		want string
	}{
		{filepath.Join(dir, "missing.gguf"), "no such file"},
		{empty, "empty file (0 bytes)"},
		{dir, "is a directory"},
		{corrupt, "gguf: " + corrupt + ": offset 4: unsupported GGUF version 9"},
	}
	for _, tc := range cases {
		f, err := Open(tc.path)
		if err == nil {
			f.Close()
			t.Errorf("Open(%s) succeeded", tc.path)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%s): %v, want %q", tc.path, err, tc.want)
		}
	}
	if _, err := Open(filepath.Join(dir, "missing.gguf")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open of a missing file: %v does not wrap os.ErrNotExist", err)
	}
}

// TestCheckSizeTooLargeFor32Bit exercises the 32-bit refusal on any host by
// passing a 32-bit address-space limit.
func TestCheckSizeTooLargeFor32Bit(t *testing.T) {
	_, err := checkSize("big.gguf", 5<<30, math.MaxInt32)
	if err == nil || !strings.Contains(err.Error(), "file is 5368709120 bytes, too large to map on a 32-bit system") {
		t.Errorf("checkSize: %v", err)
	}
	if n, err := checkSize("ok.gguf", 1<<20, math.MaxInt32); err != nil || n != 1<<20 {
		t.Errorf("checkSize(1 MiB) = %d, %v", n, err)
	}
}

func TestOpenClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := sampleWriter(t).WriteFile(path); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ti, ok := f.Tensor("q4_0")
	if !ok || ti.Size != 36 || ti.Data[1] != byte(31+1) {
		t.Fatalf("tensor q4_0: %+v", ti)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if ti.Data != nil {
		t.Error("tensor data still points into the unmapped file after Close")
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestOpenDoesNotReadTensorData checks that opening a model allocates far
// less than the model's size: the tensors stay in the mapping.
func TestOpenDoesNotReadTensorData(t *testing.T) {
	path := testref.Path(t, "models", "tiny-llama-256-f16.gguf")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f, err := Open(path)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(st.Size())/8 {
		t.Errorf("Open allocated %d bytes for a %d-byte file", alloc, st.Size())
	}
}
