package gguf

import (
	"os"
	"strings"
	"testing"

	"github.com/infer-go/infer/internal/testref"
)

// sectionBoundaries lists the offsets at which the parts of a valid file
// end: the header fields, each KV, each tensor info, the padding, and each
// tensor's data.
func sectionBoundaries(t *testing.T, data []byte) []int {
	t.Helper()
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	bounds := []int{4, 8, 16, 24}
	d := &decoder{data: data, off: 24}
	for range f.KV {
		var kv KV
		if err := d.kv(&kv); err != nil {
			t.Fatal(err)
		}
		bounds = append(bounds, d.off)
	}
	for range f.Tensors {
		var ti TensorInfo
		if _, err := d.tensorInfo(&ti); err != nil {
			t.Fatal(err)
		}
		bounds = append(bounds, d.off)
	}
	bounds = append(bounds, int(f.DataOffset))
	for _, ti := range f.Tensors {
		bounds = append(bounds, int(f.DataOffset+ti.Offset), int(f.DataOffset+ti.Offset+ti.Size))
	}
	return bounds
}

// TestParseTruncatedAtSectionBoundaries cuts real files at, just before and
// just after every section boundary.
func TestParseTruncatedAtSectionBoundaries(t *testing.T) {
	dir := testref.Dir(t)
	for _, name := range []string{"models/tiny-llama-256-q4_k_m.gguf", "vocab/ggml-vocab-gpt-2.gguf", "ref/quant-ref.gguf"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(dir + "/" + name)
			if err != nil {
				t.Skip(err)
			}
			bounds := sectionBoundaries(t, data)
			end := bounds[len(bounds)-1] // the last tensor's data, or the last KV
			for _, b := range bounds {
				for _, n := range []int{b - 1, b, b + 1} {
					if n < 0 || n >= end {
						continue
					}
					_, err := Parse(data[:n:n])
					if err == nil {
						t.Fatalf("file cut to %d of %d bytes parsed without error", n, len(data))
					}
					if msg := err.Error(); !strings.Contains(msg, "end of file") && !strings.Contains(msg, "exceeds") &&
						!strings.Contains(msg, "past the end") {
						t.Fatalf("cut at %d: error %q does not say the file is short", n, msg)
					}
				}
			}
		})
	}
}
