package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/infer-go/infer/quant"
)

// Writer collects metadata and tensors and writes them as a GGUF v3 file.
// The layout is llama.cpp's: header, key/value pairs and tensor infos in the
// order added, zero padding to the alignment, then each tensor's data
// followed by zero padding to the alignment. (With no tensors at all there
// is no padding, as in llama.cpp's vocabulary-only files.)
type Writer struct {
	kvs     []KV
	keys    map[string]bool
	tensors []writerTensor
	names   map[string]bool
	err     error // the first AddKV problem, reported by WriteFile
}

type writerTensor struct {
	name  string
	typ   quant.Type
	dims  []uint64
	size  uint64
	data  []byte
	write func(io.Writer) error
}

// NewWriter returns an empty Writer.
func NewWriter() *Writer {
	return &Writer{keys: map[string]bool{}, names: map[string]bool{}}
}

// AddKV appends a metadata pair; v's slices are written by WriteFile, not
// copied, so keep them unchanged until then. A problem (an empty or repeated key, a
// Value whose Data does not match its Type) is reported by WriteFile. Adding
// general.alignment sets the file's alignment.
func (w *Writer) AddKV(key string, v Value) {
	if w.err != nil {
		return
	}
	switch {
	case key == "":
		w.err = errors.New("gguf: AddKV: empty key")
	case w.keys[key]:
		w.err = fmt.Errorf("gguf: AddKV: duplicate key %q", key)
	default:
		if err := v.check(0); err != nil {
			w.err = fmt.Errorf("gguf: AddKV %q: %w", key, err)
			return
		}
		if key == alignmentKey {
			if _, err := alignment(v); err != nil {
				w.err = fmt.Errorf("gguf: AddKV %q: %w", key, err)
				return
			}
		}
		w.keys[key] = true
		w.kvs = append(w.kvs, KV{Key: key, Value: v})
	}
}

// AddTensor appends a tensor whose bytes are data, exactly the size its
// type and shape call for. data is written by WriteFile, not copied: keep it
// unchanged until then.
func (w *Writer) AddTensor(name string, typ quant.Type, dims []uint64, data []byte) error {
	t, err := w.newTensor(name, typ, dims)
	if err != nil {
		return err
	}
	if uint64(len(data)) != t.size {
		return fmt.Errorf("gguf: AddTensor %q: %s %v takes %d bytes, data has %d", name, typ, dims, t.size, len(data))
	}
	t.data = data
	w.add(t)
	return nil
}

// AddTensorFunc appends a tensor whose bytes write produces during
// WriteFile, so that a converter can stream tensors without holding them all.
// write must write exactly the tensor's size; anything else fails WriteFile.
func (w *Writer) AddTensorFunc(name string, typ quant.Type, dims []uint64, write func(io.Writer) error) error {
	t, err := w.newTensor(name, typ, dims)
	if err != nil {
		return err
	}
	if write == nil {
		return fmt.Errorf("gguf: AddTensorFunc %q: nil write function", name)
	}
	t.write = write
	w.add(t)
	return nil
}

func (w *Writer) newTensor(name string, typ quant.Type, dims []uint64) (writerTensor, error) {
	if w.names[name] {
		return writerTensor{}, fmt.Errorf("gguf: duplicate tensor name %q", name)
	}
	size, err := checkShape(typ, dims)
	if err != nil {
		return writerTensor{}, fmt.Errorf("gguf: tensor %q: %w", name, err)
	}
	return writerTensor{name: name, typ: typ, dims: append([]uint64(nil), dims...), size: size}, nil
}

func (w *Writer) add(t writerTensor) {
	w.names[t.name] = true
	w.tensors = append(w.tensors, t)
}

// checkShape applies the reader's rules to a shape and returns its byte size.
func checkShape(typ quant.Type, dims []uint64) (uint64, error) {
	if len(dims) > maxDims {
		return 0, fmt.Errorf("%d dimensions, at most %d are allowed", len(dims), maxDims)
	}
	elems := uint64(1)
	for j, ne := range dims {
		if ne == 0 {
			return 0, fmt.Errorf("dimension %d is zero", j)
		}
		if ne > math.MaxInt64/elems {
			return 0, fmt.Errorf("shape %v has more elements than an int64 can count", dims)
		}
		elems *= ne
	}
	return tensorSize(typ, dims)
}

// WriteFile writes the file atomically through an AtomicFile: to a
// temporary file in path's directory, synced to disk, then renamed over
// path. On any error the temporary file is removed and path is left as it
// was; the finished file gets the umask's mode.
func (w *Writer) WriteFile(path string) error {
	if w.err != nil {
		return w.err
	}
	f, err := CreateAtomic(path)
	if err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	defer f.Abort()
	if err := w.writeTo(f); err != nil {
		return fmt.Errorf("gguf: writing %s: %w", path, err)
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	return nil
}

// syncDir makes a rename durable where the system allows it; failure only
// costs durability after a crash, so it is not reported.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}

// writeTo writes the whole file to dst.
func (w *Writer) writeTo(dst io.Writer) error {
	if w.err != nil {
		return w.err
	}
	align := uint64(defaultAlignment)
	for _, kv := range w.kvs {
		if kv.Key == alignmentKey {
			align, _ = alignment(kv.Value) // checked by AddKV
		}
	}
	e := &encoder{w: bufio.NewWriterSize(dst, 1<<20)}
	e.bytes([]byte(magic))
	e.u32(3)
	e.u64(uint64(len(w.tensors)))
	e.u64(uint64(len(w.kvs)))
	for _, kv := range w.kvs {
		e.str(kv.Key)
		e.u32(uint32(kv.Value.Type))
		e.value(kv.Value)
	}
	offset := uint64(0)
	for _, t := range w.tensors {
		e.str(t.name)
		e.u32(uint32(len(t.dims)))
		for _, ne := range t.dims {
			e.u64(ne)
		}
		e.u32(uint32(t.typ))
		e.u64(offset)
		padded, ok := alignUp(t.size, align)
		if !ok || offset+padded < offset {
			return fmt.Errorf("tensor %q: data section size overflows", t.name)
		}
		offset += padded
	}
	if len(w.tensors) > 0 {
		e.pad(align)
	}
	for _, t := range w.tensors {
		if err := e.tensor(t); err != nil {
			return err
		}
		e.pad(align)
	}
	if e.err != nil {
		return e.err
	}
	return e.w.Flush()
}

// encoder writes little-endian fields, keeping the first error and the
// count of bytes written (for padding).
type encoder struct {
	w   *bufio.Writer
	n   uint64
	err error
	buf [8]byte
}

func (e *encoder) bytes(b []byte) {
	if e.err != nil {
		return
	}
	var n int
	n, e.err = e.w.Write(b)
	e.n += uint64(n)
}

func (e *encoder) u8(v uint8) { e.bytes([]byte{v}) }

func (e *encoder) u16(v uint16) {
	binary.LittleEndian.PutUint16(e.buf[:], v)
	e.bytes(e.buf[:2])
}

func (e *encoder) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.buf[:], v)
	e.bytes(e.buf[:4])
}

func (e *encoder) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.buf[:], v)
	e.bytes(e.buf[:8])
}

func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	if e.err == nil {
		var n int
		n, e.err = e.w.WriteString(s)
		e.n += uint64(n)
	}
}

var zeros [4096]byte

func (e *encoder) pad(align uint64) {
	for e.n%align != 0 && e.err == nil {
		k := min(align-e.n%align, uint64(len(zeros)))
		e.bytes(zeros[:k])
	}
}

// value writes v's payload; its type tag is the caller's to write.
func (e *encoder) value(v Value) {
	switch x := v.Data.(type) {
	case uint8:
		e.u8(x)
	case int8:
		e.u8(uint8(x))
	case uint16:
		e.u16(x)
	case int16:
		e.u16(uint16(x))
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case float32:
		e.u32(math.Float32bits(x))
	case bool:
		e.u8(boolByte(x))
	case string:
		e.str(x)
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float64:
		e.u64(math.Float64bits(x))
	default:
		e.array(v)
	}
}

// array writes an array's element type, length and elements; an element
// that is itself an array is written the same way, without a type tag of its
// own (the outer element type already says ARRAY), as gguf-py does.
func (e *encoder) array(v Value) {
	e.u32(uint32(v.Elem))
	e.u64(uint64(v.Len()))
	switch d := v.Data.(type) {
	case []uint8:
		e.bytes(d)
	case []int8:
		for _, x := range d {
			e.u8(uint8(x))
		}
	case []uint16:
		for _, x := range d {
			e.u16(x)
		}
	case []int16:
		for _, x := range d {
			e.u16(uint16(x))
		}
	case []uint32:
		for _, x := range d {
			e.u32(x)
		}
	case []int32:
		for _, x := range d {
			e.u32(uint32(x))
		}
	case []float32:
		for _, x := range d {
			e.u32(math.Float32bits(x))
		}
	case []bool:
		for _, x := range d {
			e.u8(boolByte(x))
		}
	case []string:
		for _, x := range d {
			e.str(x)
		}
	case []uint64:
		for _, x := range d {
			e.u64(x)
		}
	case []int64:
		for _, x := range d {
			e.u64(uint64(x))
		}
	case []float64:
		for _, x := range d {
			e.u64(math.Float64bits(x))
		}
	case []Value:
		for _, x := range d {
			e.array(x)
		}
	}
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// tensor writes one tensor's data, checking that a write function produces
// exactly the promised number of bytes.
func (e *encoder) tensor(t writerTensor) error {
	if t.write == nil {
		e.bytes(t.data)
		return e.err
	}
	if e.err != nil {
		return e.err
	}
	cw := &exactWriter{e: e, size: t.size}
	err := t.write(cw)
	switch {
	case cw.overflow:
		// Reported even if write ignored the error Write returned.
		return fmt.Errorf("tensor %q: write function wrote more than the tensor's %d bytes", t.name, t.size)
	case err != nil:
		return fmt.Errorf("tensor %q: %w", t.name, err)
	case e.err != nil:
		return e.err
	case cw.written != t.size:
		return fmt.Errorf("tensor %q: write function wrote %d bytes, want %d", t.name, cw.written, t.size)
	}
	return nil
}

// exactWriter passes a tensor's bytes to the encoder and refuses any beyond
// the tensor's size.
type exactWriter struct {
	e        *encoder
	size     uint64
	written  uint64
	overflow bool
}

func (w *exactWriter) Write(p []byte) (int, error) {
	if uint64(len(p)) > w.size-w.written {
		w.overflow = true
		return 0, fmt.Errorf("more than the tensor's %d bytes", w.size)
	}
	before := w.e.n
	w.e.bytes(p)
	n := int(w.e.n - before)
	w.written += uint64(n)
	return n, w.e.err
}
