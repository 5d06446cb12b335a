package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"unsafe"

	"github.com/infer-go/infer/quant"
)

const (
	magic            = "GGUF"
	alignmentKey     = "general.alignment"
	defaultAlignment = 32
	maxDims          = 4

	// Least encoded sizes, used to reject counts the remaining bytes could
	// not hold before allocating anything for them.
	minKVSize     = 8 + 4 + 1     // key length, type, a one-byte value
	minTensorSize = 8 + 4 + 4 + 8 // name length, n_dims, type, offset

	// Go memory per parsed element, to cap preallocation so that a count
	// from the file never buys more memory than the file's own bytes.
	kvMemSize     = 40
	tensorMemSize = 88
	valueMemSize  = 24
)

// Parse parses a GGUF file held in data. Tensor views point into data, which
// must stay unmodified while the File is in use.
func Parse(data []byte) (*File, error) {
	d := &decoder{data: data}
	f, err := d.file()
	if err != nil {
		return nil, err
	}
	return f, nil
}

// decoder reads little-endian fields from data, tracking the offset so that
// every error can say where the problem is.
type decoder struct {
	data []byte
	off  int
}

func (d *decoder) errorf(at int, format string, args ...any) error {
	return &FormatError{Offset: int64(at), Msg: fmt.Sprintf(format, args...)}
}

// wrap prefixes an error's message with context, keeping its offset.
func wrap(err error, format string, args ...any) error {
	if fe, ok := err.(*FormatError); ok {
		return &FormatError{Offset: fe.Offset, Msg: fmt.Sprintf(format, args...) + ": " + fe.Msg}
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

func (d *decoder) left() int { return len(d.data) - d.off }

func (d *decoder) take(n int, what string) ([]byte, error) {
	if d.left() < n {
		return nil, d.errorf(d.off, "unexpected end of file reading %s: need %d bytes, %d left", what, n, d.left())
	}
	b := d.data[d.off : d.off+n]
	d.off += n
	return b, nil
}

func (d *decoder) u8(what string) (uint8, error) {
	b, err := d.take(1, what)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (d *decoder) u16(what string) (uint16, error) {
	b, err := d.take(2, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(b), nil
}

func (d *decoder) u32(what string) (uint32, error) {
	b, err := d.take(4, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (d *decoder) u64(what string) (uint64, error) {
	b, err := d.take(8, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// str reads a length-prefixed string, copying it out of data so that it
// outlives the mapping.
func (d *decoder) str(what string) (string, error) {
	at := d.off
	n, err := d.u64(what + " length")
	if err != nil {
		return "", err
	}
	if n > uint64(d.left()) {
		return "", d.errorf(at, "%s length %d exceeds the %d bytes left in the file", what, n, d.left())
	}
	s := string(d.data[d.off : d.off+int(n)])
	d.off += int(n)
	return s, nil
}

// checkCount rejects a count of elements, each taking at least minSize
// bytes, that the rest of the file could not hold.
func (d *decoder) checkCount(at int, n uint64, minSize int, what string) error {
	if n > uint64(d.left())/uint64(minSize) {
		return d.errorf(at, "%s %d exceeds what the %d bytes left in the file could hold (at least %d bytes each)",
			what, n, d.left(), minSize)
	}
	return nil
}

// prealloc is the capacity to reserve for n elements of memSize bytes each:
// n, unless that would take more memory than the rest of the file holds (the
// elements then have to prove they exist by being parsed).
func (d *decoder) prealloc(n uint64, memSize int) int {
	return int(min(n, uint64(d.left()/memSize)))
}

func (d *decoder) file() (*File, error) {
	f := &File{Size: uint64(len(d.data)), Alignment: defaultAlignment}
	b, err := d.take(4, "magic")
	if err != nil {
		return nil, err
	}
	if string(b) != magic {
		return nil, d.errorf(0, "bad magic %q, want %q: not a GGUF file", b, magic)
	}
	if f.Version, err = d.version(); err != nil {
		return nil, err
	}
	tensorsAt := d.off
	nTensors, err := d.u64("tensor count")
	if err != nil {
		return nil, err
	}
	kvsAt := d.off
	nKV, err := d.u64("kv count")
	if err != nil {
		return nil, err
	}
	if err := d.checkCount(kvsAt, nKV, minKVSize, "kv count"); err != nil {
		return nil, err
	}
	if err := d.checkCount(tensorsAt, nTensors, minTensorSize, "tensor count"); err != nil {
		return nil, err
	}

	alignmentAt := -1
	f.KV = make([]KV, 0, d.prealloc(nKV, kvMemSize))
	f.kvIndex = make(map[string]int, cap(f.KV))
	for i := range nKV {
		at := d.off
		var kv KV
		if err := d.kv(&kv); err != nil {
			if kv.Key != "" {
				return nil, wrap(err, "kv %d %q", i, kv.Key)
			}
			return nil, wrap(err, "kv %d", i)
		}
		if j, dup := f.kvIndex[kv.Key]; dup {
			return nil, d.errorf(at, "duplicate key %q (kv %d and %d)", kv.Key, j, i)
		}
		if kv.Key == alignmentKey {
			alignmentAt = at
		}
		f.kvIndex[kv.Key] = len(f.KV)
		f.KV = append(f.KV, kv)
	}
	if alignmentAt >= 0 {
		if f.Alignment, err = alignment(f.KV[f.kvIndex[alignmentKey]].Value); err != nil {
			return nil, d.errorf(alignmentAt, "%s: %v", alignmentKey, err)
		}
	}

	if nTensors > uint64(d.left())/minTensorSize {
		return nil, d.errorf(tensorsAt, "tensor count %d exceeds what the %d bytes left after the key/value pairs could hold (at least %d bytes each)",
			nTensors, d.left(), minTensorSize)
	}
	f.Tensors = make([]TensorInfo, 0, d.prealloc(nTensors, tensorMemSize))
	f.tensorIndex = make(map[string]int, cap(f.Tensors))
	var offsetAt []int // where each tensor's offset field is, for errors found later
	for i := range nTensors {
		at := d.off
		var t TensorInfo
		offAt, err := d.tensorInfo(&t)
		if err != nil {
			if t.Name != "" {
				return nil, wrap(err, "tensor %d %q", i, t.Name)
			}
			return nil, wrap(err, "tensor %d", i)
		}
		if j, dup := f.tensorIndex[t.Name]; dup {
			return nil, d.errorf(at, "duplicate tensor name %q (tensors %d and %d)", t.Name, j, i)
		}
		f.tensorIndex[t.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
		offsetAt = append(offsetAt, offAt)
	}

	// Like llama.cpp, the data section is padded to the alignment only when
	// there is data: vocabulary-only files end right after the header.
	f.DataOffset = uint64(d.off)
	if len(f.Tensors) > 0 {
		var ok bool
		if f.DataOffset, ok = alignUp(f.DataOffset, f.Alignment); !ok {
			return nil, d.errorf(d.off, "data section start overflows with alignment %d", f.Alignment)
		}
	}
	for i := range f.Tensors {
		if err := f.locate(&f.Tensors[i], d.data); err != nil {
			return nil, d.errorf(offsetAt[i], "tensor %d %q: %v", i, f.Tensors[i].Name, err)
		}
	}
	return f, nil
}

func (d *decoder) version() (uint32, error) {
	at := d.off
	v, err := d.u32("version")
	if err != nil {
		return 0, err
	}
	switch {
	case v == 2 || v == 3:
		return v, nil
	case v != 0 && v&0xFFFF == 0:
		// A big-endian writer stores version 3 as 00 00 00 03.
		return 0, d.errorf(at, "version field reads %#x (byte-swapped %d): a big-endian GGUF file, only little-endian files are supported",
			v, bits.ReverseBytes32(v))
	}
	return 0, d.errorf(at, "unsupported GGUF version %d (versions 2 and 3 are supported)", v)
}

// alignment validates the general.alignment value: any integer type holding
// a nonzero power of two.
func alignment(v Value) (uint64, error) {
	a, ok := uintValue(v)
	if !v.Type.isInteger() {
		return 0, fmt.Errorf("have %s, want an integer", v.TypeName())
	}
	if !ok || a == 0 || a&(a-1) != 0 {
		return 0, fmt.Errorf("alignment %s is not a positive power of two", v)
	}
	return a, nil
}

// alignUp rounds x up to a multiple of a (a power of two), reporting false on
// overflow.
func alignUp(x, a uint64) (uint64, bool) {
	r := (x + a - 1) &^ (a - 1)
	return r, r >= x
}

// kv reads one key/value pair into kv, filling the key first so that an
// error in the value can name it.
func (d *decoder) kv(kv *KV) (err error) {
	if kv.Key, err = d.str("key"); err != nil {
		return err
	}
	if kv.Key == "" {
		return d.errorf(d.off-8, "empty key")
	}
	kv.Value, err = d.typedValue(0)
	return err
}

// typedValue reads a type tag and the value after it; depth counts the
// arrays enclosing it.
func (d *decoder) typedValue(depth int) (Value, error) {
	at := d.off
	t, err := d.u32("value type")
	if err != nil {
		return Value{}, err
	}
	typ := ValueType(t)
	switch {
	case typ == TypeArray:
		return d.array(depth + 1)
	case !typ.valid():
		return Value{}, d.errorf(at, "unknown value type %d", t)
	}
	x, err := d.scalar(typ)
	if err != nil {
		return Value{}, err
	}
	return Value{Type: typ, Data: x}, nil
}

func (d *decoder) scalar(typ ValueType) (any, error) {
	switch typ {
	case TypeUint8:
		return d.u8("UINT8")
	case TypeInt8:
		v, err := d.u8("INT8")
		return int8(v), err
	case TypeUint16:
		return d.u16("UINT16")
	case TypeInt16:
		v, err := d.u16("INT16")
		return int16(v), err
	case TypeUint32:
		return d.u32("UINT32")
	case TypeInt32:
		v, err := d.u32("INT32")
		return int32(v), err
	case TypeFloat32:
		v, err := d.u32("FLOAT32")
		return math.Float32frombits(v), err
	case TypeBool:
		at := d.off
		v, err := d.u8("BOOL")
		if err == nil && v > 1 {
			return nil, d.errorf(at, "bool byte %d is neither 0 nor 1", v)
		}
		return v == 1, err
	case TypeString:
		return d.str("string")
	case TypeUint64:
		return d.u64("UINT64")
	case TypeInt64:
		v, err := d.u64("INT64")
		return int64(v), err
	case TypeFloat64:
		v, err := d.u64("FLOAT64")
		return math.Float64frombits(v), err
	}
	panic("gguf: scalar called with " + typ.String())
}

// array reads an array's element type, length and elements. Fixed-size
// elements are decoded in one pass over a slice whose size the length check
// has already proven present.
func (d *decoder) array(depth int) (Value, error) {
	at := d.off
	if depth > maxArrayDepth {
		return Value{}, d.errorf(at, "arrays nested more than %d deep", maxArrayDepth)
	}
	t, err := d.u32("array element type")
	if err != nil {
		return Value{}, err
	}
	elem := ValueType(t)
	if !elem.valid() {
		return Value{}, d.errorf(at, "unknown array element type %d", t)
	}
	countAt := d.off
	n64, err := d.u64("array length")
	if err != nil {
		return Value{}, err
	}
	if err := d.checkCount(countAt, n64, elem.encodedSize(), "array length"); err != nil {
		return Value{}, err
	}
	n := int(n64) // fits: n64 <= d.left()
	v := Value{Type: TypeArray, Elem: elem}
	switch elem {
	case TypeString:
		v.Data, err = d.strings(n)
		return v, err
	case TypeArray:
		vs := make([]Value, 0, d.prealloc(n64, valueMemSize))
		for i := range n {
			inner, err := d.array(depth + 1)
			if err != nil {
				return Value{}, wrap(err, "array element %d", i)
			}
			vs = append(vs, inner)
		}
		v.Data = vs
		return v, nil
	case TypeBool:
		b, _ := d.take(n, "")
		bs := make([]bool, n)
		for i, c := range b {
			if c > 1 {
				return Value{}, d.errorf(d.off-n+i, "array element %d: bool byte %d is neither 0 nor 1", i, c)
			}
			bs[i] = c == 1
		}
		v.Data = bs
		return v, nil
	}
	b, _ := d.take(n*elem.encodedSize(), "")
	v.Data = decodeNumbers(elem, b, n)
	return v, nil
}

func decodeNumbers(elem ValueType, b []byte, n int) any {
	le := binary.LittleEndian
	switch elem {
	case TypeUint8:
		return append(make([]uint8, 0, n), b...)
	case TypeInt8:
		s := make([]int8, n)
		for i := range s {
			s[i] = int8(b[i])
		}
		return s
	case TypeUint16:
		s := make([]uint16, n)
		for i := range s {
			s[i] = le.Uint16(b[2*i:])
		}
		return s
	case TypeInt16:
		s := make([]int16, n)
		for i := range s {
			s[i] = int16(le.Uint16(b[2*i:]))
		}
		return s
	case TypeUint32:
		s := make([]uint32, n)
		for i := range s {
			s[i] = le.Uint32(b[4*i:])
		}
		return s
	case TypeInt32:
		s := make([]int32, n)
		for i := range s {
			s[i] = int32(le.Uint32(b[4*i:]))
		}
		return s
	case TypeFloat32:
		s := make([]float32, n)
		for i := range s {
			s[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
		return s
	case TypeUint64:
		s := make([]uint64, n)
		for i := range s {
			s[i] = le.Uint64(b[8*i:])
		}
		return s
	case TypeInt64:
		s := make([]int64, n)
		for i := range s {
			s[i] = int64(le.Uint64(b[8*i:]))
		}
		return s
	case TypeFloat64:
		s := make([]float64, n)
		for i := range s {
			s[i] = math.Float64frombits(le.Uint64(b[8*i:]))
		}
		return s
	}
	panic("gguf: decodeNumbers called with " + elem.String())
}

// strings reads n length-prefixed strings. A first pass checks every length
// and sums them, so that all the text can be copied into one allocation (a
// vocabulary is tens of thousands of short strings).
func (d *decoder) strings(n int) ([]string, error) {
	pos, total := d.off, 0
	for i := range n {
		if len(d.data)-pos < 8 {
			return nil, d.errorf(pos, "array element %d: unexpected end of file reading string length: need 8 bytes, %d left", i, len(d.data)-pos)
		}
		l := binary.LittleEndian.Uint64(d.data[pos:])
		left := len(d.data) - pos - 8
		if l > uint64(left) {
			return nil, d.errorf(pos, "array element %d: string length %d exceeds the %d bytes left in the file", i, l, left)
		}
		pos += 8 + int(l)
		total += int(l)
	}
	text := make([]byte, 0, total)
	out := make([]string, n)
	for i := range out {
		l := int(binary.LittleEndian.Uint64(d.data[d.off:]))
		if l > 0 {
			start := len(text)
			text = append(text, d.data[d.off+8:d.off+8+l]...)
			// text is never written again once a string points into it.
			out[i] = unsafe.String(&text[start], l)
		}
		d.off += 8 + l
	}
	return out, nil
}

// tensorInfo reads one tensor description and checks its shape and type; the
// offset is checked by locate once the data section's start is known.
func (d *decoder) tensorInfo(t *TensorInfo) (offsetAt int, err error) {
	if t.Name, err = d.str("tensor name"); err != nil {
		return 0, err
	}
	ndAt := d.off
	nd, err := d.u32("tensor n_dims")
	if err != nil {
		return 0, err
	}
	if nd > maxDims {
		return 0, d.errorf(ndAt, "n_dims %d exceeds the maximum of %d dimensions", nd, maxDims)
	}
	t.Dims = make([]uint64, nd)
	elems := uint64(1)
	for j := range t.Dims {
		at := d.off
		ne, err := d.u64("tensor dimension")
		if err != nil {
			return 0, err
		}
		if ne == 0 {
			return 0, d.errorf(at, "dimension %d is zero", j)
		}
		// ggml counts elements in an int64.
		if ne > math.MaxInt64/elems {
			return 0, d.errorf(at, "the number of elements overflows int64 at dimension %d (%d)", j, ne)
		}
		elems *= ne
		t.Dims[j] = ne
	}
	typeAt := d.off
	typ, err := d.u32("tensor type")
	if err != nil {
		return 0, err
	}
	t.Type = quant.Type(typ)
	if t.Size, err = tensorSize(t.Type, t.Dims); err != nil {
		return 0, d.errorf(typeAt, "%v", err)
	}
	offsetAt = d.off
	if t.Offset, err = d.u64("tensor offset"); err != nil {
		return 0, err
	}
	return offsetAt, nil
}

// tensorSize is the byte size of a tensor: whole rows of dims[0] elements in
// typ's block encoding. It assumes the element count fits an int64.
func tensorSize(typ quant.Type, dims []uint64) (uint64, error) {
	if !typ.Known() {
		return 0, fmt.Errorf("unknown ggml type id %d", uint32(typ))
	}
	bs, ts := uint64(typ.BlockSize()), uint64(typ.TypeSize())
	ne0, rows := uint64(1), uint64(1)
	for j, ne := range dims {
		if j == 0 {
			ne0 = ne
		} else {
			rows *= ne
		}
	}
	if ne0%bs != 0 {
		return 0, fmt.Errorf("row length %d is not a multiple of the %s block size %d", ne0, typ, bs)
	}
	hi, rowBytes := bits.Mul64(ne0/bs, ts)
	if hi != 0 {
		return 0, fmt.Errorf("byte size of shape %v overflows", dims)
	}
	hi, size := bits.Mul64(rowBytes, rows)
	if hi != 0 {
		return 0, fmt.Errorf("byte size of shape %v overflows", dims)
	}
	return size, nil
}

// locate checks that t's data is aligned and inside data, and points t.Data
// at it.
func (f *File) locate(t *TensorInfo, data []byte) error {
	if t.Offset%f.Alignment != 0 {
		return fmt.Errorf("data offset %d is not a multiple of the alignment %d", t.Offset, f.Alignment)
	}
	start := f.DataOffset + t.Offset
	end := start + t.Size
	if start < t.Offset || end < start || end > uint64(len(data)) {
		return fmt.Errorf("data (%d bytes at offset %d in the data section) lies past the end of the %d-byte file",
			t.Size, t.Offset, len(data))
	}
	t.Data = data[int(start):int(end):int(end)]
	return nil
}
