// Package testref locates the reference data (../shared beside the project
// root) for tests. Tests that compare against llama.cpp, PyTorch or ggml
// outputs call Dir, which skips the test with a message when the data is
// absent, so a fresh clone elsewhere still runs everything else.
package testref

import (
	"os"
	"path/filepath"
	"testing"
)

// Root returns the project root: the nearest directory above the working
// directory that holds go.mod.
func Root(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatalf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Dir returns the reference data directory, or skips the test when it is
// missing. INFER_SHARED overrides the location.
func Dir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("INFER_SHARED")
	if dir == "" {
		dir = filepath.Join(Root(tb), "..", "shared")
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		tb.Skipf("reference data not found at %s (set INFER_SHARED or place shared/ beside the project): skipping comparison with the reference", dir)
	}
	return dir
}

// Path returns a file inside the reference data directory, skipping the test
// when that file is absent.
func Path(tb testing.TB, elem ...string) string {
	tb.Helper()
	p := filepath.Join(append([]string{Dir(tb)}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("reference file %s not found: skipping", p)
	}
	return p
}
