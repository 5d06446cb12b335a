//go:build unix

package gguf

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps path read-only and shared: pages come from the page cache,
// so several processes opening one model share its memory.
func mapFile(path string) (data []byte, unmap func() error, err error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("gguf: %w", err)
	}
	defer fh.Close() // the mapping outlives the descriptor
	st, err := fh.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("gguf: %w", err)
	}
	if st.IsDir() {
		return nil, nil, fmt.Errorf("gguf: %s: is a directory", path)
	}
	size, err := checkSize(path, st.Size(), maxMapSize)
	if err != nil {
		return nil, nil, err
	}
	data, err = unix.Mmap(int(fh.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if errors.Is(err, unix.ENOMEM) {
		return nil, nil, fmt.Errorf("gguf: %s: mapping %d bytes failed: not enough address space (a 32-bit system cannot map a file this large): %w", path, size, err)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("gguf: %s: mmap: %w", path, err)
	}
	return data, func() error { return unix.Munmap(data) }, nil
}
