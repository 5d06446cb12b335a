// Package mnist reads the MNIST handwritten-digit data set (IDX files,
// gzipped or not), trains the network of Michael Nielsen's "Neural Networks
// and Deep Learning" on it, turns arbitrary digit pictures into MNIST-style
// 28x28 inputs, and evaluates classifiers on it.
package mnist

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// IDX element types, the third byte of an IDX file's magic number.
const (
	IDXUint8   byte = 0x08
	IDXInt8    byte = 0x09
	IDXInt16   byte = 0x0B
	IDXInt32   byte = 0x0C
	IDXFloat32 byte = 0x0D
	IDXFloat64 byte = 0x0E
)

// maxIDXBytes bounds the data an IDX header may announce. The largest real
// MNIST-family file (EMNIST by_class) holds about 550 MB; anything far beyond
// that is a corrupt header, and refusing it early keeps a gzip stream from
// inflating without end.
const maxIDXBytes = min(1<<31, math.MaxInt) // math.MaxInt: 32-bit platforms

// IDX is one parsed IDX file: an array of Dims[0] x Dims[1] x ... elements of
// Type, stored big-endian and row-major in Data.
type IDX struct {
	Type byte
	Dims []int
	Data []byte
}

// idxElemSize returns the bytes per element of an IDX type, or 0 for an
// unknown type.
func idxElemSize(t byte) int {
	switch t {
	case IDXUint8, IDXInt8:
		return 1
	case IDXInt16:
		return 2
	case IDXInt32, IDXFloat32:
		return 4
	case IDXFloat64:
		return 8
	}
	return 0
}

// idxHeader is the part of an IDX file before its data.
type idxHeader struct {
	typ      byte
	dims     []int
	dataSize int // bytes of data the dimensions announce
}

// parseIDXHeader decodes the magic number and dimensions at the start of b.
// It returns the header and its length in bytes, or io.ErrUnexpectedEOF when b
// is too short to hold the whole header.
func parseIDXHeader(b []byte) (idxHeader, int, error) {
	if len(b) < 4 {
		return idxHeader{}, 0, fmt.Errorf("idx: file too short for a magic number (%d bytes): %w", len(b), io.ErrUnexpectedEOF)
	}
	if b[0] != 0 || b[1] != 0 {
		return idxHeader{}, 0, fmt.Errorf("idx: bad magic number %#08x: not an IDX file (want 0x0000TTNN)", binary.BigEndian.Uint32(b))
	}
	h := idxHeader{typ: b[2]}
	es := idxElemSize(h.typ)
	if es == 0 {
		return idxHeader{}, 0, fmt.Errorf("idx: bad magic number %#08x: unknown element type %#02x", binary.BigEndian.Uint32(b), h.typ)
	}
	nd := int(b[3])
	if nd == 0 {
		return idxHeader{}, 0, fmt.Errorf("idx: bad magic number %#08x: zero dimensions", binary.BigEndian.Uint32(b))
	}
	n := 4 + 4*nd
	if len(b) < n {
		return idxHeader{}, 0, fmt.Errorf("idx: header of %d dimensions truncated (%d of %d bytes): %w", nd, len(b), n, io.ErrUnexpectedEOF)
	}
	size := es
	h.dims = make([]int, nd)
	for i := range nd {
		d := binary.BigEndian.Uint32(b[4+4*i:])
		h.dims[i] = int(d)
		if d != 0 && size > maxIDXBytes/int(d) {
			return idxHeader{}, 0, fmt.Errorf("idx: dimensions %v announce more than %d bytes", dimsSoFar(b[4:n], nd), maxIDXBytes)
		}
		size *= int(d)
	}
	h.dataSize = size
	return h, n, nil
}

func dimsSoFar(b []byte, nd int) []uint32 {
	d := make([]uint32, nd)
	for i := range d {
		d[i] = binary.BigEndian.Uint32(b[4*i:])
	}
	return d
}

// ParseIDX parses an IDX file held in memory. The data must be exactly what
// the dimensions announce; Data aliases b.
func ParseIDX(b []byte) (*IDX, error) {
	h, n, err := parseIDXHeader(b)
	if err != nil {
		return nil, err
	}
	if rest := len(b) - n; rest != h.dataSize {
		if rest < h.dataSize {
			return nil, fmt.Errorf("idx: truncated: dimensions %v need %d bytes of data, file has %d", h.dims, h.dataSize, rest)
		}
		return nil, fmt.Errorf("idx: %d bytes of trailing data after the %d the dimensions %v announce", rest-h.dataSize, h.dataSize, h.dims)
	}
	return &IDX{Type: h.typ, Dims: h.dims, Data: b[n:]}, nil
}

// ReadIDX reads an IDX file from r, decompressing it first when it starts
// with gzip's magic number. Memory grows with the data actually read, never
// with what the header claims, so a lying header cannot exhaust memory.
func ReadIDX(r io.Reader) (*IDX, error) {
	br := bufio.NewReader(r)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("idx: gzip: %w", err)
		}
		defer zr.Close()
		return readIDXStream(zr)
	}
	return readIDXStream(br)
}

func readIDXStream(r io.Reader) (*IDX, error) {
	var head [4 + 4*255]byte
	if _, err := io.ReadFull(r, head[:4]); err != nil {
		return nil, fmt.Errorf("idx: reading magic number: %w", truncated(err))
	}
	nd := int(head[3])
	if _, err := io.ReadFull(r, head[4:4+4*nd]); err != nil {
		// Let the header parser give its own message for a bad magic number.
		if _, _, herr := parseIDXHeader(head[:4]); herr != nil && !errors.Is(herr, io.ErrUnexpectedEOF) {
			return nil, herr
		}
		return nil, fmt.Errorf("idx: reading %d dimensions: %w", nd, truncated(err))
	}
	h, _, err := parseIDXHeader(head[:4+4*nd])
	if err != nil {
		return nil, err
	}
	// Read one byte more than announced to notice trailing data.
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(r, int64(h.dataSize)+1)); err != nil {
		return nil, fmt.Errorf("idx: reading data: %w", err)
	}
	if buf.Len() < h.dataSize {
		return nil, fmt.Errorf("idx: truncated: dimensions %v need %d bytes of data, file has %d", h.dims, h.dataSize, buf.Len())
	}
	if buf.Len() > h.dataSize {
		return nil, fmt.Errorf("idx: trailing data after the %d bytes the dimensions %v announce", h.dataSize, h.dims)
	}
	return &IDX{Type: h.typ, Dims: h.dims, Data: buf.Bytes()}, nil
}

func truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("truncated: %w", io.ErrUnexpectedEOF)
	}
	return err
}

// ReadIDXFile reads an IDX file, gzipped or not.
func ReadIDXFile(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	x, err := ReadIDX(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return x, nil
}

// Float64s returns the elements as float64, whatever their IDX type.
func (x *IDX) Float64s() []float64 {
	es := idxElemSize(x.Type)
	out := make([]float64, len(x.Data)/es)
	for i := range out {
		b := x.Data[i*es:]
		switch x.Type {
		case IDXUint8:
			out[i] = float64(b[0])
		case IDXInt8:
			out[i] = float64(int8(b[0]))
		case IDXInt16:
			out[i] = float64(int16(binary.BigEndian.Uint16(b)))
		case IDXInt32:
			out[i] = float64(int32(binary.BigEndian.Uint32(b)))
		case IDXFloat32:
			out[i] = float64(math.Float32frombits(binary.BigEndian.Uint32(b)))
		case IDXFloat64:
			out[i] = math.Float64frombits(binary.BigEndian.Uint64(b))
		}
	}
	return out
}
