//go:build !unix && !windows

package gguf

import (
	"fmt"
	"os"
)

// mapFile, on systems without mmap, reads the whole file into the heap: the
// process's memory grows by the file's size, and tensor views point into
// that copy instead of the page cache.
func mapFile(path string) (data []byte, unmap func() error, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("gguf: %w", err)
	}
	if st.IsDir() {
		return nil, nil, fmt.Errorf("gguf: %s: is a directory", path)
	}
	if _, err := checkSize(path, st.Size(), maxMapSize); err != nil {
		return nil, nil, err
	}
	data, err = os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("gguf: %w", err)
	}
	if len(data) == 0 {
		return nil, nil, fmt.Errorf("gguf: %s: empty file (0 bytes), not a GGUF file", path)
	}
	return data, func() error { return nil }, nil
}
