package gguf

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/infer-go/infer/internal/testref"
)

// referenceFiles lists the GGUF files in the shared reference data: models
// written by gguf-py and llama-quantize, vocabularies, ggml's quantization
// reference.
func referenceFiles(t *testing.T) []string {
	t.Helper()
	dir := testref.Dir(t)
	var files []string
	for _, pattern := range []string{"models/*.gguf", "vocab/*.gguf", "ref/quant-ref.gguf"} {
		m, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Skip("no GGUF files in the reference data")
	}
	return files
}

// copyFile rewrites every KV and tensor of f, in order, with a Writer.
func copyFile(t *testing.T, f *File, path string) {
	t.Helper()
	w := NewWriter()
	for _, kv := range f.KV {
		w.AddKV(kv.Key, kv.Value)
	}
	for _, ti := range f.Tensors {
		if err := w.AddTensor(ti.Name, ti.Type, ti.Dims, ti.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
}

// TestRewriteReferenceFilesByteIdentical checks that the writer lays files
// out exactly as llama.cpp's writers do: reading a reference file and
// writing it back reproduces it byte for byte.
func TestRewriteReferenceFilesByteIdentical(t *testing.T) {
	for _, path := range referenceFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			out := filepath.Join(t.TempDir(), "copy.gguf")
			copyFile(t, f, out)
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				n := min(len(got), len(want))
				i := 0
				for i < n && got[i] == want[i] {
					i++
				}
				t.Fatalf("rewritten file differs from the original: %d vs %d bytes, first difference at offset %d", len(got), len(want), i)
			}
		})
	}
}

// TestReferenceModelContents spot-checks what the reader finds in a model
// whose metadata the shared README describes.
func TestReferenceModelContents(t *testing.T) {
	f, err := Open(testref.Path(t, "models", "tiny-llama-256-q4_k_m.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if arch, err := f.String("general.architecture"); err != nil || arch != "llama" {
		t.Errorf("general.architecture = %q, %v; want llama", arch, err)
	}
	if n, err := f.Uint32("llama.embedding_length"); err != nil || n != 256 {
		t.Errorf("llama.embedding_length = %d, %v; want 256", n, err)
	}
	if n, err := f.Uint32("llama.block_count"); err != nil || n != 6 {
		t.Errorf("llama.block_count = %d, %v; want 6", n, err)
	}
	tokens, err := f.Strings("tokenizer.ggml.tokens")
	if err != nil || len(tokens) != 32000 {
		t.Errorf("tokenizer.ggml.tokens: %d tokens, %v; want 32000", len(tokens), err)
	}
	seen := map[string]bool{}
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		seen[ti.Type.String()] = true
		if uint64(len(ti.Data)) != ti.Size || uint64(cap(ti.Data)) != ti.Size {
			t.Errorf("%s: len %d cap %d, want %d", ti.Name, len(ti.Data), cap(ti.Data), ti.Size)
		}
		if (f.DataOffset+ti.Offset)%f.Alignment != 0 {
			t.Errorf("%s: data at %d is not aligned to %d", ti.Name, f.DataOffset+ti.Offset, f.Alignment)
		}
	}
	if !seen["Q4_K"] || !seen["Q6_K"] {
		t.Errorf("tensor types %v, want Q4_K and Q6_K among them", seen)
	}
	emb, ok := f.Tensor("token_embd.weight")
	if !ok || len(emb.Dims) != 2 || emb.Dims[0] != 256 || emb.Dims[1] != 32000 {
		t.Errorf("token_embd.weight: %+v, want dims [256 32000]", emb)
	}
}
