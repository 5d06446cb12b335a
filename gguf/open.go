package gguf

import (
	"errors"
	"fmt"
	"math"
)

// Open maps the file at path read-only and parses its header. Tensor data
// stays on disk until touched; Close releases the mapping.
func Open(path string) (*File, error) {
	data, unmap, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	f, err := Parse(data)
	if err != nil {
		_ = unmap()
		if fe, ok := errors.AsType[*FormatError](err); ok {
			fe.Path = path
		}
		return nil, err
	}
	f.unmap = unmap
	return f, nil
}

// checkSize turns a file size into a mapping length, refusing an empty file
// (mmap would fail with a confusing EINVAL) and, on 32-bit systems, a file
// larger than a slice can address (limit is math.MaxInt outside tests).
func checkSize(path string, size int64, limit uint64) (int, error) {
	switch {
	case size == 0:
		return 0, fmt.Errorf("gguf: %s: empty file (0 bytes), not a GGUF file", path)
	case size < 0:
		return 0, fmt.Errorf("gguf: %s: bad file size %d", path, size)
	case uint64(size) > limit:
		return 0, fmt.Errorf("gguf: %s: file is %d bytes, too large to map on a 32-bit system", path, size)
	}
	return int(size), nil
}

var maxMapSize uint64 = math.MaxInt
