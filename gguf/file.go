package gguf

import (
	"fmt"

	"github.com/infer-go/infer/quant"
)

// File is a parsed GGUF file. KV and Tensors are in file order.
type File struct {
	Version   uint32
	Alignment uint64
	KV        []KV
	Tensors   []TensorInfo
	// DataOffset is where the tensor data section starts, in bytes from the
	// start of the file; tensor offsets are relative to it.
	DataOffset uint64
	// Size is the size of the whole file in bytes.
	Size uint64

	kvIndex     map[string]int
	tensorIndex map[string]int
	unmap       func() error // releases the mapping; nil for Parse'd bytes
}

// KV is one metadata entry.
type KV struct {
	Key   string
	Value Value
}

// TensorInfo describes one tensor and points at its bytes.
type TensorInfo struct {
	Name string
	// Dims is the shape, ne0 first as in ggml: Dims[0] is the row length.
	Dims []uint64
	Type quant.Type
	// Offset is where the data starts, relative to File.DataOffset.
	Offset uint64
	// Size is the data's length in bytes.
	Size uint64
	// Data is the tensor's bytes: a view into the file's mapping (or the
	// slice given to Parse), valid until Close. Do not modify it: a mapping
	// is read-only and writing to it faults.
	Data []byte
}

// NumElements is the product of the dimensions.
func (t *TensorInfo) NumElements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Tensor finds a tensor by name.
func (f *File) Tensor(name string) (*TensorInfo, bool) {
	i, ok := f.tensorIndex[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

// Close releases the file's mapping. Tensor data must not be used after it;
// the views are cleared so that a late use fails loudly instead of reading
// unmapped memory. Closing a File from Parse, or closing twice, does nothing.
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	for i := range f.Tensors {
		f.Tensors[i].Data = nil
	}
	unmap := f.unmap
	f.unmap = nil
	return unmap()
}

// FormatError reports a malformed file: what is wrong and the byte offset at
// which the offending field starts.
type FormatError struct {
	Path   string // set by Open; empty for Parse
	Offset int64
	Msg    string
}

func (e *FormatError) Error() string {
	if e.Path != "" {
		return fmt.Sprintf("gguf: %s: offset %d: %s", e.Path, e.Offset, e.Msg)
	}
	return fmt.Sprintf("gguf: offset %d: %s", e.Offset, e.Msg)
}
