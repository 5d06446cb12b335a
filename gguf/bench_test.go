package gguf

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/infer-go/infer/internal/testref"
)

// BenchmarkOpen opens the largest shared model: the cost is the header
// (vocabulary included), never the tensor data.
func BenchmarkOpen(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join(testref.Dir(b), "models", "*.gguf"))
	var path string
	var size int64
	for _, p := range files {
		if st, err := os.Stat(p); err == nil && st.Size() > size {
			path, size = p, st.Size()
		}
	}
	if path == "" {
		b.Skip("no shared models")
	}
	b.ReportAllocs()
	for b.Loop() {
		f, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}
