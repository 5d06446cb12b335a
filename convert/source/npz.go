package source

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/infer-go/infer/quant"
)

// maxNPYBytes bounds the data one .npy array may announce (4 GiB). Data is
// read as it comes, so memory follows the bytes actually present, never the
// header; the bound only stops a compressed .npz member from inflating
// without end.
const maxNPYBytes = min(1<<32, math.MaxInt) // math.MaxInt: 32-bit platforms

// maxNPYHeader bounds a .npy header; numpy writes a few hundred bytes.
const maxNPYHeader = 1 << 16

// NPYArray is one numpy array as .npy stores it.
type NPYArray struct {
	Shape []int
	// DType is numpy's descr: byte order ('<', '>', '|' or '='), kind ('f'
	// float, 'i' signed, 'u' unsigned, 'b' bool) and item size, e.g. "<f8".
	DType string
	// Data holds the elements in C (row-major) order, in DType's byte order;
	// Fortran-order files are reordered when read.
	Data []byte
}

// NumElements is the product of the shape.
func (a *NPYArray) NumElements() int {
	n := 1
	for _, d := range a.Shape {
		n *= d
	}
	return n
}

// npyDType is a parsed descr.
type npyDType struct {
	order binary.ByteOrder
	kind  byte
	size  int
}

func parseNPYDType(descr string) (npyDType, error) {
	if len(descr) < 3 {
		return npyDType{}, fmt.Errorf("npy: unsupported dtype %q", descr)
	}
	var dt npyDType
	switch descr[0] {
	case '<', '|', '=':
		dt.order = binary.LittleEndian
	case '>':
		dt.order = binary.BigEndian
	default:
		return npyDType{}, fmt.Errorf("npy: unsupported dtype %q (byte order %q)", descr, descr[0])
	}
	dt.kind = descr[1]
	size, err := strconv.Atoi(descr[2:])
	if err != nil {
		return npyDType{}, fmt.Errorf("npy: unsupported dtype %q", descr)
	}
	dt.size = size
	ok := false
	switch dt.kind {
	case 'f':
		ok = size == 2 || size == 4 || size == 8
	case 'i', 'u':
		ok = size == 1 || size == 2 || size == 4 || size == 8
	case 'b':
		ok = size == 1
	}
	if !ok {
		return npyDType{}, fmt.Errorf("npy: unsupported dtype %q (want float, int, uint or bool)", descr)
	}
	return dt, nil
}

// ParseNPY parses a .npy file held in memory.
func ParseNPY(b []byte) (*NPYArray, error) {
	return ReadNPY(bytes.NewReader(b))
}

// ReadNPY reads a .npy stream (format versions 1, 2 and 3): it must hold
// exactly the data its header announces.
func ReadNPY(r io.Reader) (*NPYArray, error) {
	var pre [12]byte
	if _, err := io.ReadFull(r, pre[:8]); err != nil {
		return nil, fmt.Errorf("npy: reading magic: %w", eofIsTruncation(err))
	}
	if string(pre[:6]) != "\x93NUMPY" {
		return nil, errors.New("npy: bad magic: not a .npy file")
	}
	var hlen int
	switch pre[6] {
	case 1:
		if _, err := io.ReadFull(r, pre[8:10]); err != nil {
			return nil, fmt.Errorf("npy: reading header length: %w", eofIsTruncation(err))
		}
		hlen = int(binary.LittleEndian.Uint16(pre[8:]))
	case 2, 3:
		if _, err := io.ReadFull(r, pre[8:12]); err != nil {
			return nil, fmt.Errorf("npy: reading header length: %w", eofIsTruncation(err))
		}
		hlen = int(binary.LittleEndian.Uint32(pre[8:]))
	default:
		return nil, fmt.Errorf("npy: unsupported format version %d.%d", pre[6], pre[7])
	}
	if hlen > maxNPYHeader {
		return nil, fmt.Errorf("npy: header of %d bytes (at most %d)", hlen, maxNPYHeader)
	}
	header := make([]byte, hlen)
	if _, err := io.ReadFull(r, header); err != nil {
		return nil, fmt.Errorf("npy: reading %d-byte header: %w", hlen, eofIsTruncation(err))
	}
	descr, fortran, shape, err := parseNPYHeader(string(header))
	if err != nil {
		return nil, err
	}
	dt, err := parseNPYDType(descr)
	if err != nil {
		return nil, err
	}
	size := dt.size
	for _, d := range shape {
		if d != 0 && size > maxNPYBytes/d {
			return nil, fmt.Errorf("npy: shape %v announces more than %d bytes", shape, int64(maxNPYBytes))
		}
		size *= d
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(r, int64(size)+1)); err != nil {
		return nil, fmt.Errorf("npy: reading data: %w", err)
	}
	if buf.Len() != size {
		if buf.Len() < size {
			return nil, fmt.Errorf("npy: truncated: shape %v of %s needs %d bytes of data, have %d", shape, descr, size, buf.Len())
		}
		return nil, fmt.Errorf("npy: trailing data after the %d bytes shape %v of %s needs", size, shape, descr)
	}
	a := &NPYArray{Shape: shape, DType: descr, Data: buf.Bytes()}
	if fortran && len(shape) > 1 {
		a.Data = fortranToC(a.Data, shape, dt.size)
	}
	return a, nil
}

func eofIsTruncation(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("truncated: %w", io.ErrUnexpectedEOF)
	}
	return err
}

// fortranToC reorders column-major elements into row-major order.
func fortranToC(src []byte, shape []int, es int) []byte {
	dst := make([]byte, len(src))
	n := len(src) / es
	idx := make([]int, len(shape)) // C-order index of element i
	for i := range n {
		off, stride := 0, 1
		for d := range shape {
			off += idx[d] * stride
			stride *= shape[d]
		}
		copy(dst[i*es:(i+1)*es], src[off*es:(off+1)*es])
		for d := len(shape) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return dst
}

// parseNPYHeader parses the Python dict literal of a .npy header, e.g.
// {'descr': '<f8', 'fortran_order': False, 'shape': (30, 784), }.
func parseNPYHeader(h string) (descr string, fortran bool, shape []int, err error) {
	p := &pyLiteral{s: strings.TrimRight(h, " \n\x00")}
	fail := func(format string, a ...any) (string, bool, []int, error) {
		return "", false, nil, fmt.Errorf("npy: header %q: %s", truncate(h, 120), fmt.Sprintf(format, a...))
	}
	if !p.eat('{') {
		return fail("not a dict")
	}
	seen := map[string]bool{}
	for !p.eat('}') {
		key, ok := p.str()
		if !ok {
			return fail("expected a quoted key at offset %d", p.i)
		}
		if seen[key] {
			return fail("key %q twice", key)
		}
		seen[key] = true
		if !p.eat(':') {
			return fail("expected ':' after %q", key)
		}
		switch key {
		case "descr":
			if descr, ok = p.str(); !ok {
				return fail("descr is not a string (structured dtypes are not supported)")
			}
		case "fortran_order":
			switch {
			case p.word("True"):
				fortran = true
			case p.word("False"):
			default:
				return fail("fortran_order is not True or False")
			}
		case "shape":
			if shape, ok = p.tuple(); !ok {
				return fail("shape is not a tuple of integers")
			}
		default:
			return fail("unexpected key %q", key)
		}
		if !p.eat(',') && !p.peek('}') {
			return fail("expected ',' or '}' at offset %d", p.i)
		}
	}
	if p.skip(); p.i != len(p.s) {
		return fail("text after the dict")
	}
	if !seen["descr"] || !seen["fortran_order"] || !seen["shape"] {
		return fail("want descr, fortran_order and shape")
	}
	return descr, fortran, shape, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// pyLiteral scans the small subset of Python literals a .npy header uses.
type pyLiteral struct {
	s string
	i int
}

func (p *pyLiteral) skip() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\n' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *pyLiteral) peek(c byte) bool {
	p.skip()
	return p.i < len(p.s) && p.s[p.i] == c
}

func (p *pyLiteral) eat(c byte) bool {
	if p.peek(c) {
		p.i++
		return true
	}
	return false
}

func (p *pyLiteral) word(w string) bool {
	p.skip()
	if strings.HasPrefix(p.s[p.i:], w) {
		p.i += len(w)
		return true
	}
	return false
}

func (p *pyLiteral) str() (string, bool) {
	p.skip()
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", false
	}
	q := p.s[p.i]
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", false
	}
	v := p.s[p.i+1 : p.i+1+end]
	if strings.ContainsRune(v, '\\') {
		return "", false
	}
	p.i += end + 2
	return v, true
}

// tuple parses (), (n,), (a, b, ...) of non-negative integers.
func (p *pyLiteral) tuple() ([]int, bool) {
	if !p.eat('(') {
		return nil, false
	}
	dims := []int{}
	for !p.eat(')') {
		p.skip()
		start := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		// A trailing L is Python 2's long suffix.
		num := p.s[start:p.i]
		if p.i < len(p.s) && p.s[p.i] == 'L' {
			p.i++
		}
		d, err := strconv.Atoi(num)
		if err != nil || d > math.MaxInt32 || len(dims) >= 32 {
			return nil, false
		}
		dims = append(dims, d)
		if !p.eat(',') && !p.peek(')') {
			return nil, false
		}
	}
	return dims, true
}

// Float32s converts the array's elements to float32.
func (a *NPYArray) Float32s() ([]float32, error) {
	v, err := a.Float64s()
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out, nil
}

// Float64s converts the array's elements to float64.
func (a *NPYArray) Float64s() ([]float64, error) {
	dt, err := parseNPYDType(a.DType)
	if err != nil {
		return nil, err
	}
	n := len(a.Data) / dt.size
	out := make([]float64, n)
	o := dt.order
	for i := range out {
		b := a.Data[i*dt.size:]
		switch int(dt.kind)<<4 | dt.size {
		case 'f'<<4 | 2:
			out[i] = float64(quant.F16ToF32(o.Uint16(b)))
		case 'f'<<4 | 4:
			out[i] = float64(math.Float32frombits(o.Uint32(b)))
		case 'f'<<4 | 8:
			out[i] = math.Float64frombits(o.Uint64(b))
		case 'i'<<4 | 1:
			out[i] = float64(int8(b[0]))
		case 'i'<<4 | 2:
			out[i] = float64(int16(o.Uint16(b)))
		case 'i'<<4 | 4:
			out[i] = float64(int32(o.Uint32(b)))
		case 'i'<<4 | 8:
			out[i] = float64(int64(o.Uint64(b)))
		case 'u'<<4 | 1, 'b'<<4 | 1:
			out[i] = float64(b[0])
		case 'u'<<4 | 2:
			out[i] = float64(o.Uint16(b))
		case 'u'<<4 | 4:
			out[i] = float64(o.Uint32(b))
		case 'u'<<4 | 8:
			out[i] = float64(o.Uint64(b))
		}
	}
	return out, nil
}

// NPZ is the arrays of a numpy .npz archive, by name (the member's name
// without ".npy"), in archive order.
type NPZ struct {
	Names  []string
	Arrays map[string]*NPYArray
}

// ReadNPZ reads every array of a .npz file (np.savez or np.savez_compressed).
func ReadNPZ(path string) (*NPZ, error) {
	f, size, err := openSized(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	z, err := ReadNPZFrom(f, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return z, nil
}

// ReadNPZFrom reads a .npz archive of size bytes from r.
func ReadNPZFrom(r io.ReaderAt, size int64) (*NPZ, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("npz: not a zip archive: %w", err)
	}
	z := &NPZ{Arrays: map[string]*NPYArray{}}
	for _, zf := range zr.File {
		if strings.HasSuffix(zf.Name, "/") {
			continue
		}
		name, ok := strings.CutSuffix(zf.Name, ".npy")
		if !ok {
			return nil, fmt.Errorf("npz: member %q is not a .npy array", zf.Name)
		}
		if _, dup := z.Arrays[name]; dup {
			return nil, fmt.Errorf("npz: array %q twice", name)
		}
		a, err := readZipNPY(zf)
		if err != nil {
			return nil, fmt.Errorf("npz: array %q: %w", name, err)
		}
		z.Names = append(z.Names, name)
		z.Arrays[name] = a
	}
	if len(z.Names) == 0 {
		return nil, errors.New("npz: no arrays in the archive")
	}
	return z, nil
}

func readZipNPY(zf *zip.File) (*NPYArray, error) {
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return ReadNPY(rc)
}
