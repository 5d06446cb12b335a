package ops

import (
	"fmt"
	"sync"

	"github.com/infer-go/infer/quant"
)

// Matrix is a weight matrix in ggml's layout: Rows rows of Cols elements
// (GGUF dims [Cols, Rows]), stored one row after another in Type's encoding.
type Matrix struct {
	Type       quant.Type
	Rows, Cols int
	Data       []byte
}

// Check reports whether MatMul can use m: a supported type, rows that are a
// whole number of blocks of both the weight and the activation type, and
// Data of exactly Rows rows. Models call it when loading weights.
func (m Matrix) Check() error {
	if err := CheckMatrixType(m.Type); err != nil {
		return err
	}
	if m.Rows < 0 || m.Cols <= 0 {
		return fmt.Errorf("%s matrix: bad shape %d x %d", m.Type, m.Rows, m.Cols)
	}
	rowSize, err := m.Type.RowSize(m.Cols)
	if err != nil {
		return fmt.Errorf("%s matrix: %w", m.Type, err)
	}
	if _, err := VecDotType(m.Type).RowSize(m.Cols); err != nil {
		return fmt.Errorf("%s matrix: activations: %w", m.Type, err)
	}
	if len(m.Data)/rowSize < m.Rows || len(m.Data) != m.Rows*rowSize {
		return fmt.Errorf("%s matrix %d x %d: have %d bytes, want %d", m.Type, m.Rows, m.Cols, len(m.Data), m.Rows*rowSize)
	}
	return nil
}

// MatMul computes, for r < n and i < w.Rows,
//
//	dst[r*w.Rows+i] = dot(row i of w, x[r*w.Cols:(r+1)*w.Cols])
//
// the way llama.cpp's x86 build does: each of the n activation rows is first
// converted to VecDotType(w.Type), then every dot product is taken on the
// quantized blocks, in the order of the kernel llama.cpp would use for this
// product. That kernel can depend on the shape: a product of one activation
// row (token generation) and of a batch (a prompt) may take different routes
// (F16 and F32 weights: ggml's vec_dot or llamafile's tinyBLAS), and Q4_0
// matrices with a multiple of 8 rows take the repacked kernels. So, as in
// llama.cpp, a row multiplied alone and in a batch can differ in the last
// bits; every batch of two rows or more gives a row the same result.
//
// Rows of w are spread over p (nil runs on the caller's goroutine); each
// output is computed by exactly one goroutine with the same code, so the
// result does not depend on the number of threads.
//
// Sizes must agree (len(w.Data) exactly w.Rows rows, len(x) >= n*w.Cols,
// len(dst) >= n*w.Rows) and w.Type must pass CheckMatrixType; otherwise
// MatMul panics.
func MatMul(p *Pool, dst []float32, w Matrix, x []float32, n int) {
	tr := lookupVecDot(w.Type)
	if tr == nil {
		panic(fmt.Sprintf("ops: MatMul: %v", CheckMatrixType(w.Type)))
	}
	rowSize, err := w.Type.RowSize(w.Cols)
	if err != nil {
		panic(fmt.Sprintf("ops: MatMul: %v", err))
	}
	actSize, err := tr.VecDotType.RowSize(w.Cols)
	if err != nil {
		panic(fmt.Sprintf("ops: MatMul: activations: %v", err))
	}
	if w.Rows < 0 || n < 0 || len(w.Data) != w.Rows*rowSize || len(x) < n*w.Cols || len(dst) < n*w.Rows {
		panic(fmt.Sprintf("ops: MatMul: %s weights %d x %d with %d bytes, %d activation rows in %d floats, %d outputs",
			w.Type, w.Rows, w.Cols, len(w.Data), n, len(x), len(dst)))
	}
	if n == 0 || w.Rows == 0 {
		return
	}

	rt := tr.kernel(w.Rows, w.Cols, n)
	k := rt.tile
	actStride := actSize
	if k != nil && k.actExtra != nil {
		actStride += k.actExtra(w.Cols)
	}
	buf := getScratch(n * actStride)
	act := *buf
	convert := func(lo, hi int) {
		for r := lo; r < hi; r++ {
			row := act[r*actStride : (r+1)*actStride]
			tr.FromFloat(row[:actSize], x[r*w.Cols:(r+1)*w.Cols])
			if k != nil && k.prep != nil {
				k.prep(row, actSize, w.Cols)
			}
		}
	}
	if n == 1 {
		convert(0, 1)
	} else {
		p.Parallel(n, convert)
	}

	m := tileArgs{
		cols: w.Cols, w: w.Data, rowSize: rowSize, rows: w.Rows,
		act: act, actStride: actStride, actSize: actSize, acts: n,
		dst: dst, dstStride: w.Rows, dot: rt.dot,
	}
	mul, group := mulByDot, 1
	if k != nil {
		mul, group = k.mul, k.rowGroup
		if k.shared != nil {
			m.shared = k.shared(&m)
		}
	}
	// The threads take chunks of whole row groups, against every
	// activation row, as they become free: a few chunks per thread, so a
	// thread slowed by another process on its core leaves its share to the
	// others. Which thread computes an output does not change its bits.
	groups := (w.Rows + group - 1) / group
	chunk := (groups + 4*p.Threads() - 1) / (4 * p.Threads())
	p.ParallelChunks(groups, chunk, func(lo, hi int) {
		t := m.sub(lo*group, min(hi*group, w.Rows), 0, n)
		mul(&t)
	})
	putScratch(buf)
}

// scratch holds activation buffers between MatMul calls, so token-by-token
// generation does not allocate on every product.
var scratch sync.Pool

func getScratch(n int) *[]byte {
	if b, ok := scratch.Get().(*[]byte); ok && cap(*b) >= n {
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n)
	return &b
}

func putScratch(b *[]byte) { scratch.Put(b) }
