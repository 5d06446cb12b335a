package ops

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/infer-go/infer/quant"
)

// BenchmarkMatMul multiplies a 4096 x 4096 matrix by one activation row
// (token generation) and by 32 (prompt processing), on DefaultThreads()
// threads. Bytes are the weight bytes, so MB/s is the weight bandwidth.
func BenchmarkMatMul(b *testing.B) {
	const rows, cols = 4096, 4096
	p := NewPool(DefaultThreads())
	defer p.Close()
	for _, typ := range []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q4_K, quant.Q5_K, quant.Q6_K, quant.F16, quant.F32} {
		w := benchMatrix(b, typ, rows, cols)
		for _, n := range []int{1, 32} {
			b.Run(fmt.Sprintf("%s/n=%d", typ, n), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(2, 2))
				x := testData(rng, n*cols)
				dst := make([]float32, n*rows)
				b.SetBytes(int64(len(w.Data)))
				for b.Loop() {
					MatMul(p, dst, w, x, n)
				}
			})
		}
	}
}

// benchMatrix builds a rows x cols matrix of type typ from 64 distinct
// quantized random rows repeated: quantizing 16M values with the reference
// K-quant quantizers would take longer than the benchmark.
func benchMatrix(b *testing.B, typ quant.Type, rows, cols int) Matrix {
	const distinct = 64
	rng := rand.New(rand.NewPCG(1, uint64(typ)))
	src := quantizeRows(b, typ, testData(rng, distinct*cols), cols)
	rowSize := len(src) / distinct
	data := make([]byte, rows*rowSize)
	for r := range rows {
		copy(data[r*rowSize:], src[(r%distinct)*rowSize:(r%distinct+1)*rowSize])
	}
	return Matrix{Type: typ, Rows: rows, Cols: cols, Data: data}
}

// BenchmarkMatVecDRAM multiplies one activation row by 2048 x 2048 matrices
// (TinyLlama's attention shape) taken in turn from 256 MiB of them, so the
// weights come from memory rather than the caches, as in token generation:
// MB/s is then the weight bandwidth the kernel reaches from DRAM, to be
// compared with the machine's read bandwidth.
func BenchmarkMatVecDRAM(b *testing.B) {
	const rows, cols, total = 2048, 2048, 256 << 20
	for _, typ := range []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q4_K, quant.Q6_K} {
		w := benchMatrix(b, typ, rows, cols)
		copies := total / len(w.Data)
		all := make([]byte, copies*len(w.Data))
		for c := range copies {
			copy(all[c*len(w.Data):], w.Data)
		}
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/t=%d", typ, threads), func(b *testing.B) {
				p := NewPool(threads)
				defer p.Close()
				x := testData(rand.New(rand.NewPCG(2, 2)), cols)
				dst := make([]float32, rows)
				b.SetBytes(int64(len(w.Data)))
				c := 0
				for b.Loop() {
					m := w
					m.Data = all[c*len(w.Data) : (c+1)*len(w.Data)]
					MatMul(p, dst, m, x, 1)
					c = (c + 1) % copies
				}
			})
		}
	}
}
