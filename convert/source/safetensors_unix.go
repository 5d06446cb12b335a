//go:build unix

package source

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// mapSafetensors maps path read-only and shared, as gguf.Open maps GGUF
// files: tensor data is read from the page cache when touched.
func mapSafetensors(path string) (data []byte, unmap func() error, err error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer fh.Close() // the mapping outlives the descriptor
	st, err := fh.Stat()
	if err != nil {
		return nil, nil, err
	}
	size, err := safetensorsMapSize(path, st)
	if err != nil {
		return nil, nil, err
	}
	data, err = unix.Mmap(int(fh.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: mmap: %w", path, err)
	}
	return data, func() error { return unix.Munmap(data) }, nil
}
