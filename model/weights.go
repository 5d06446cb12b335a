package model

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/ops"
	"github.com/infer-go/infer/quant"
)

// binder looks tensors up by name and checks each against the shape the
// hyperparameters imply, so a file whose tensors disagree with its metadata
// fails at Load with the tensor named instead of misbehaving in Forward. It
// keeps the first error; later calls do nothing and return zero values, so a
// loader reads as a list of bindings followed by one error check.
type binder struct {
	f   *gguf.File
	err error
}

// lookup returns the tensor and checks its dims against want (ggml order:
// want[0] is the row length). Absent tensors return nil with no error when
// optional.
func (b *binder) lookup(name string, optional bool, want ...int) *gguf.TensorInfo {
	if b.err != nil {
		return nil
	}
	t, ok := b.f.Tensor(name)
	if !ok {
		if !optional {
			b.err = fmt.Errorf("tensor %q: missing", name)
		}
		return nil
	}
	if !sameShape(t.Dims, want) {
		b.err = fmt.Errorf("tensor %q: shape %v, want %v", name, t.Dims, want)
		return nil
	}
	return t
}

// sameShape compares dims with want, ignoring trailing 1s the way ggml does
// (a [256] tensor may be stored as [256 1]).
func sameShape(dims []uint64, want []int) bool {
	for i := 0; i < max(len(dims), len(want)); i++ {
		d, w := uint64(1), 1
		if i < len(dims) {
			d = dims[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if d != uint64(w) {
			return false
		}
	}
	return true
}

// matrix binds a weight matrix of rows x cols (GGUF dims [cols rows]) that
// MatMul will multiply with.
func (b *binder) matrix(name string, cols, rows int) ops.Matrix {
	m, _ := b.matrixOrAbsent(name, false, cols, rows)
	return m
}

// optionalMatrix is matrix for a tensor the file may leave out.
func (b *binder) optionalMatrix(name string, cols, rows int) (ops.Matrix, bool) {
	return b.matrixOrAbsent(name, true, cols, rows)
}

func (b *binder) matrixOrAbsent(name string, optional bool, cols, rows int) (ops.Matrix, bool) {
	t := b.lookup(name, optional, cols, rows)
	if t == nil {
		return ops.Matrix{}, false
	}
	if err := ops.CheckMatrixType(t.Type); err != nil {
		b.err = fmt.Errorf("tensor %q: %w", name, err)
		return ops.Matrix{}, false
	}
	m := b.view(name, t, cols, rows)
	if b.err != nil {
		return ops.Matrix{}, false
	}
	if err := m.Check(); err != nil {
		b.err = fmt.Errorf("tensor %q: %w", name, err)
		return ops.Matrix{}, false
	}
	return m, true
}

// table binds a matrix whose rows are only looked up (embeddings): any type
// that can be dequantized will do.
func (b *binder) table(name string, cols, rows int) ops.Matrix {
	t := b.lookup(name, false, cols, rows)
	if t == nil {
		return ops.Matrix{}
	}
	if tr := t.Type.Traits(); tr == nil || tr.Dequantize == nil {
		b.err = fmt.Errorf("tensor %q: type %v cannot be dequantized", name, t.Type)
		return ops.Matrix{}
	}
	return b.view(name, t, cols, rows)
}

// view wraps the tensor's bytes (a view into the mapping) as a Matrix,
// checking that they hold every row.
func (b *binder) view(name string, t *gguf.TensorInfo, cols, rows int) ops.Matrix {
	rowSize, err := t.Type.RowSize(cols)
	if err != nil {
		b.err = fmt.Errorf("tensor %q: %w", name, err)
		return ops.Matrix{}
	}
	if len(t.Data) < rowSize*rows {
		b.err = fmt.Errorf("tensor %q: %d bytes of data, want %d", name, len(t.Data), rowSize*rows)
		return ops.Matrix{}
	}
	return ops.Matrix{Type: t.Type, Rows: rows, Cols: cols, Data: t.Data[:rowSize*rows]}
}

// vector binds a 1-D tensor of n elements (norm weights, biases) as floats.
func (b *binder) vector(name string, n int) []float32 {
	return b.vectorOrAbsent(name, false, n)
}

// optionalVector is vector for a tensor the file may leave out (nil then).
func (b *binder) optionalVector(name string, n int) []float32 {
	return b.vectorOrAbsent(name, true, n)
}

func (b *binder) vectorOrAbsent(name string, optional bool, n int) []float32 {
	t := b.lookup(name, optional, n)
	if t == nil {
		return nil
	}
	m := b.table(name, n, 1)
	if b.err != nil {
		return nil
	}
	if v := viewF32(m); v != nil {
		return v
	}
	// Not F32, or not aligned: these vectors are small, so decode a copy.
	v := make([]float32, n)
	if err := quant.Dequantize(m.Type, v, m.Data); err != nil {
		b.err = fmt.Errorf("tensor %q: %w", name, err)
		return nil
	}
	return v
}

// viewF32 reinterprets an F32 row as []float32 without copying, when the
// host is little-endian and the data is 4-byte aligned (GGUF aligns tensor
// data to 32 bytes, so in practice it always is); nil otherwise.
func viewF32(m ops.Matrix) []float32 {
	n := m.Rows * m.Cols
	if m.Type != quant.F32 || !littleEndian || n == 0 || uintptr(unsafe.Pointer(&m.Data[0]))%4 != 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&m.Data[0])), n)
}

var littleEndian = func() bool {
	x := math.Float32bits(1)
	return *(*byte)(unsafe.Pointer(&x)) == 0
}()

// embed writes row id of the embedding table m into dst (dequantized).
func embed(dst []float32, m ops.Matrix, id int) {
	rowSize := len(m.Data) / m.Rows
	// The table's type was checked at load, so Dequantize cannot fail here.
	_ = quant.Dequantize(m.Type, dst[:m.Cols], m.Data[id*rowSize:(id+1)*rowSize])
}
