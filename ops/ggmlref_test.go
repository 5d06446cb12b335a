package ops

import (
	"math"
	"testing"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/internal/testref"
	"github.com/infer-go/infer/quant"
)

// TestMatMulGGMLBlocks multiplies the blocks ggml's own quantizers produced
// (ref/quant-ref.gguf: q.T) by the file's input rows and compares with the
// product restated on ggml's own dequantization of those blocks (deq.T), so
// the kernels are checked against ggml's reading of its formats, not only
// against this project's dequantizers.
func TestMatMulGGMLBlocks(t *testing.T) {
	f, err := gguf.Open(testref.Path(t, "ref", "quant-ref.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in, ok := f.Tensor("input")
	if !ok || in.Type != quant.F32 || len(in.Dims) != 2 {
		t.Fatalf("quant-ref.gguf: no F32 matrix \"input\"")
	}
	cols, rows := int(in.Dims[0]), int(in.Dims[1])
	x := make([]float32, cols*rows)
	if err := quant.Dequantize(quant.F32, x, in.Data); err != nil {
		t.Fatal(err)
	}
	names := map[quant.Type]string{
		quant.F16: "f16", quant.BF16: "bf16", quant.Q4_0: "q4_0", quant.Q4_1: "q4_1", quant.Q5_0: "q5_0",
		quant.Q5_1: "q5_1", quant.Q8_0: "q8_0", quant.IQ4_NL: "iq4_nl", quant.Q2_K: "q2_K", quant.Q3_K: "q3_K",
		quant.Q4_K: "q4_K", quant.Q5_K: "q5_K", quant.Q6_K: "q6_K",
	}
	for typ, name := range names {
		t.Run(typ.String(), func(t *testing.T) {
			q, ok1 := f.Tensor("q." + name)
			deq, ok2 := f.Tensor("deq." + name)
			if !ok1 || !ok2 || q.Type != typ {
				t.Fatalf("quant-ref.gguf: missing q.%s/deq.%s", name, name)
			}
			w := Matrix{Type: typ, Rows: rows, Cols: cols, Data: q.Data}
			if err := w.Check(); err != nil {
				t.Fatal(err)
			}
			wq := make([]float32, cols*rows)
			if err := quant.Dequantize(quant.F32, wq, deq.Data); err != nil {
				t.Fatal(err)
			}
			actType := VecDotType(typ)
			act := activationRows(t, typ, x, cols)
			aq := dequantizeRows(t, actType, act, cols)
			actRow, _ := actType.RowSize(cols)
			wRow, _ := typ.RowSize(cols)

			got := make([]float32, rows*rows)
			MatMul(nil, got, w, x, rows)
			for r := range rows {
				for i := range rows {
					var want, mag, maxW float64
					for k := range cols {
						maxW = max(maxW, math.Abs(float64(wq[i*cols+k])))
					}
					for k := range cols {
						want += float64(wq[i*cols+k]) * float64(aq[r*cols+k])
						mag += maxW * math.Abs(float64(aq[r*cols+k]))
					}
					corr, magS := q81MinTerm(typ, w.Data[i*wRow:(i+1)*wRow], act[r*actRow:(r+1)*actRow])
					want += corr
					tol := 2e-7 * (mag + magS)
					if g := float64(got[r*rows+i]); math.Abs(g-want) > tol {
						t.Errorf("weight row %d, input row %d: got %g, want %g (tolerance %g)", i, r, g, want, tol)
					}
				}
			}
		})
	}
}
