//go:build !unix

package source

import "os"

// mapSafetensors, on systems without mmap, reads the whole file into the
// heap.
func mapSafetensors(path string) (data []byte, unmap func() error, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	if _, err := safetensorsMapSize(path, st); err != nil {
		return nil, nil, err
	}
	data, err = os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return data, func() error { return nil }, nil
}
