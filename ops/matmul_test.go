package ops

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/infer-go/infer/quant"
)

// matmulCases lists every weight type MatMul supports, with the largest
// error against the float product of the unquantized data that the type's
// quantization (weights and activations together) may cause, in units of
// |w|·|x|/sqrt(cols) — the size of a product of random vectors. The bounds
// are about twice the worst seen on the test data.
var matmulCases = []struct {
	typ     quant.Type
	quantTo float64
}{
	{quant.F32, 1e-6},
	{quant.F16, 2e-3},
	{quant.BF16, 2e-2},
	{quant.Q8_0, 5e-2},
	{quant.Q4_0, 0.5},
	{quant.Q4_1, 0.45},
	{quant.Q5_0, 0.3},
	{quant.Q5_1, 0.15},
	{quant.IQ4_NL, 0.35},
	{quant.Q2_K, 1.5},
	{quant.Q3_K, 0.8},
	{quant.Q4_K, 0.6},
	{quant.Q5_K, 0.12},
	{quant.Q6_K, 0.08},
}

// testData returns n random values: normal, with a scale that varies per
// run of 64 so blocks see different magnitudes.
func testData(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	scale := 1.0
	for i := range v {
		if i%64 == 0 {
			scale = math.Exp(rng.NormFloat64())
		}
		v[i] = float32(rng.NormFloat64() * scale)
	}
	return v
}

func quantizeRows(t testing.TB, typ quant.Type, src []float32, cols int) []byte {
	t.Helper()
	rowSize, err := typ.RowSize(cols)
	if err != nil {
		t.Fatal(err)
	}
	rows := len(src) / cols
	out := make([]byte, rows*rowSize)
	for r := range rows {
		if err := quant.Quantize(typ, out[r*rowSize:(r+1)*rowSize], src[r*cols:(r+1)*cols]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// activationRows converts activation rows the way MatMul does for weights of
// type typ (llama.cpp's x86 activation quantizers).
func activationRows(t testing.TB, typ quant.Type, src []float32, cols int) []byte {
	t.Helper()
	tr := lookupVecDot(typ)
	rowSize, err := tr.VecDotType.RowSize(cols)
	if err != nil {
		t.Fatal(err)
	}
	rows := len(src) / cols
	out := make([]byte, rows*rowSize)
	for r := range rows {
		tr.FromFloat(out[r*rowSize:(r+1)*rowSize], src[r*cols:(r+1)*cols])
	}
	return out
}

func dequantizeRows(t testing.TB, typ quant.Type, src []byte, cols int) []float32 {
	t.Helper()
	rowSize, err := typ.RowSize(cols)
	if err != nil {
		t.Fatal(err)
	}
	rows := len(src) / rowSize
	out := make([]float32, rows*cols)
	for r := range rows {
		if err := quant.Dequantize(typ, out[r*cols:(r+1)*cols], src[r*rowSize:(r+1)*rowSize]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// q81MinTerm accounts for Q8_1's precomputed s = f16(d*sum(qs)) in a Q4_1
// or Q5_1 product: the kernel multiplies each weight block's minimum m by s,
// where the dequantized restatement has m*f16(d)*sum(qs). It returns what
// to add to the restatement, and the size of the m*s terms for the tolerance.
func q81MinTerm(typ quant.Type, wRow, aRow []byte) (corr, mag float64) {
	var blockSize int
	switch typ {
	case quant.Q4_1:
		blockSize = 20
	case quant.Q5_1:
		blockSize = 24
	default:
		return 0, 0
	}
	for b := 0; b*blockSize < len(wRow); b++ {
		m := float64(quant.F16ToF32(binary.LittleEndian.Uint16(wRow[b*blockSize+2:])))
		a := aRow[b*36 : (b+1)*36]
		d := float64(quant.F16ToF32(binary.LittleEndian.Uint16(a[0:])))
		s := float64(quant.F16ToF32(binary.LittleEndian.Uint16(a[2:])))
		var sum float64
		for _, q := range a[4:] {
			sum += float64(int8(q))
		}
		corr += m * (s - d*sum)
		mag += math.Abs(m * s)
	}
	return corr, mag
}

func TestMatMul(t *testing.T) {
	shapes := []struct{ rows, cols, n int }{
		{13, 512, 1},
		{7, 768, 3},
	}
	for _, tc := range matmulCases {
		for _, sh := range shapes {
			t.Run(fmt.Sprintf("%s/%dx%dx%d", tc.typ, sh.rows, sh.cols, sh.n), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(tc.typ), uint64(sh.cols)))
				wf := testData(rng, sh.rows*sh.cols)
				xf := testData(rng, sh.n*sh.cols)
				w := Matrix{Type: tc.typ, Rows: sh.rows, Cols: sh.cols, Data: quantizeRows(t, tc.typ, wf, sh.cols)}
				if err := w.Check(); err != nil {
					t.Fatal(err)
				}
				got := make([]float32, sh.n*sh.rows)
				MatMul(nil, got, w, xf, sh.n)

				// (a) The same product restated: dequantize the weights and
				// the activations as converted for this type, sum in float64.
				actType := VecDotType(tc.typ)
				act := activationRows(t, tc.typ, xf, sh.cols)
				actRow, _ := actType.RowSize(sh.cols)
				wRow, _ := tc.typ.RowSize(sh.cols)
				wq := dequantizeRows(t, tc.typ, w.Data, sh.cols)
				aq := dequantizeRows(t, actType, act, sh.cols)
				var worstA, worstB float64
				for r := range sh.n {
					for i := range sh.rows {
						var want, mag, exact, wn, xn float64
						maxW := 0.0
						for k := range sh.cols {
							maxW = max(maxW, math.Abs(float64(wq[i*sh.cols+k])))
						}
						for k := range sh.cols {
							wv, av := float64(wq[i*sh.cols+k]), float64(aq[r*sh.cols+k])
							want += wv * av
							mag += maxW * math.Abs(av)
							wo, xo := float64(wf[i*sh.cols+k]), float64(xf[r*sh.cols+k])
							exact += wo * xo
							wn += wo * wo
							xn += xo * xo
						}
						g := float64(got[r*sh.rows+i])
						corr, magS := q81MinTerm(tc.typ, w.Data[i*wRow:(i+1)*wRow], act[r*actRow:(r+1)*actRow])
						want += corr
						tol := 2e-7 * (mag + magS)
						if d := math.Abs(g - want); d > tol {
							t.Errorf("row %d, activation %d: got %g, dequantized product %g (diff %g > %g)", i, r, g, want, d, tol)
						} else {
							worstA = max(worstA, d/tol)
						}
						// (b) The float product of the unquantized data, within
						// the type's quantization error.
						unit := math.Sqrt(wn*xn) / math.Sqrt(float64(sh.cols))
						e := math.Abs(g-exact) / unit
						worstB = max(worstB, e)
						if e > tc.quantTo {
							t.Errorf("row %d, activation %d: got %g, float product %g: error %.3g units > %.3g", i, r, g, exact, e, tc.quantTo)
						}
					}
				}
				t.Logf("worst: %.3g of the rounding tolerance, %.3g quantization units", worstA, worstB)
			})
		}
	}
}

// TestMatMulThreads checks that the number of threads does not change a
// single bit of the result: each output is computed by one goroutine. The
// shape takes every route (rows a multiple of 8, a batch).
func TestMatMulThreads(t *testing.T) {
	const rows, cols, n = 40, 512, 5
	pools := []*Pool{nil, NewPool(1), NewPool(2), NewPool(3)}
	defer func() {
		for _, p := range pools {
			p.Close()
		}
	}()
	for _, tc := range matmulCases {
		rng := rand.New(rand.NewPCG(7, uint64(tc.typ)))
		w := Matrix{Type: tc.typ, Rows: rows, Cols: cols, Data: quantizeRows(t, tc.typ, testData(rng, rows*cols), cols)}
		x := testData(rng, n*cols)
		var first []float32
		for _, p := range pools {
			got := make([]float32, n*rows)
			MatMul(p, got, w, x, n)
			if first == nil {
				first = got
				continue
			}
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(first[i]) {
					t.Errorf("%s: %d threads: output %d = %g, single-threaded %g", tc.typ, p.Threads(), i, got[i], first[i])
					break
				}
			}
		}
	}
}

// TestMatMulBatchRows checks that a row's result does not depend on the
// batch around it, as in llama.cpp: every batch of two rows or more gives
// it the same bits, and so does a row alone except where llama.cpp sends
// batches through another kernel (tinyBLAS for F16 and F32 weights).
func TestMatMulBatchRows(t *testing.T) {
	const rows, cols, n = 20, 256, 37 // n past one block of activation rows
	for _, tc := range matmulCases {
		rng := rand.New(rand.NewPCG(11, uint64(tc.typ)))
		w := Matrix{Type: tc.typ, Rows: rows, Cols: cols, Data: quantizeRows(t, tc.typ, testData(rng, rows*cols), cols)}
		x := testData(rng, n*cols)
		batch := make([]float32, n*rows)
		MatMul(nil, batch, w, x, n)
		sameAlone := lookupVecDot(tc.typ).VecDotBatch == nil
		differ := 0
		for r := range n {
			pair := make([]float32, 2*rows)
			xs := append(append([]float32(nil), x[r*cols:(r+1)*cols]...), x[((r+1)%n)*cols:((r+1)%n+1)*cols]...)
			MatMul(nil, pair, w, xs, 2)
			one := make([]float32, rows)
			MatMul(nil, one, w, x[r*cols:(r+1)*cols], 1)
			for i := range rows {
				b := math.Float32bits(batch[r*rows+i])
				if math.Float32bits(pair[i]) != b {
					t.Errorf("%s: activation %d row %d: in a pair %g, in the batch %g", tc.typ, r, i, pair[i], batch[r*rows+i])
				}
				if math.Float32bits(one[i]) != b {
					differ++
					if sameAlone {
						t.Errorf("%s: activation %d row %d: alone %g, in batch %g", tc.typ, r, i, one[i], batch[r*rows+i])
					}
				}
			}
		}
		if !sameAlone && differ == 0 {
			t.Errorf("%s: no row differs between the vector and the batch kernel: is the batch kernel used?", tc.typ)
		}
	}
}

// TestMatMulRoutes checks that MatMul picks llama.cpp's kernel for the shape:
// the repacked Q4_0 kernel when the row count is a multiple of 8, tinyBLAS's
// order for F16 batches that it accepts (rows a multiple of 4, row length a
// multiple of 16), ggml's vec_dot otherwise.
func TestMatMulRoutes(t *testing.T) {
	q40, q40r, f16v, f16b, f32v, f32b := vecDotQ4_0Q8_0, vecDotQ4_0Q8_0Repacked, vecDotF16, vecDotF16Batch, vecDotF32, vecDotF32Batch
	cases := []struct {
		typ           quant.Type
		rows, cols, n int
		kernel, other func(int, []byte, []byte) float32 // other: the kernel of the other route
	}{
		{quant.Q4_0, 16, 512, 1, q40r, q40},
		{quant.Q4_0, 16, 512, 3, q40r, q40},
		{quant.Q4_0, 12, 512, 3, q40, q40r},
		{quant.F16, 12, 512, 2, f16b, f16v},
		{quant.F16, 12, 512, 1, f16v, f16b},
		{quant.F16, 13, 512, 2, f16v, f16b},
		{quant.F16, 12, 520, 2, f16v, nil}, // the batch kernel cannot take this row length
		{quant.F32, 8, 512, 3, f32b, f32v},
		{quant.F32, 8, 512, 1, f32v, f32b},
	}
	for _, c := range cases {
		rng := rand.New(rand.NewPCG(12, uint64(c.rows*c.cols)))
		w := Matrix{Type: c.typ, Rows: c.rows, Cols: c.cols, Data: quantizeRows(t, c.typ, testData(rng, c.rows*c.cols), c.cols)}
		x := testData(rng, c.n*c.cols)
		got := make([]float32, c.n*c.rows)
		MatMul(nil, got, w, x, c.n)
		act := activationRows(t, c.typ, x, c.cols)
		rowSize, _ := c.typ.RowSize(c.cols)
		actSize := len(act) / c.n
		distinct := 0
		for r := range c.n {
			for i := range c.rows {
				wr, ar := w.Data[i*rowSize:(i+1)*rowSize], act[r*actSize:(r+1)*actSize]
				want := c.kernel(c.cols, wr, ar)
				if math.Float32bits(got[r*c.rows+i]) != math.Float32bits(want) {
					t.Fatalf("%s %dx%d, %d rows: output %d,%d = %g, the expected kernel gives %g", c.typ, c.rows, c.cols, c.n, r, i, got[r*c.rows+i], want)
				}
				if c.other != nil && math.Float32bits(c.other(c.cols, wr, ar)) != math.Float32bits(want) {
					distinct++
				}
			}
		}
		if c.other != nil && distinct == 0 {
			t.Errorf("%s %dx%d, %d rows: the two routes agree on every output, so the case proves nothing", c.typ, c.rows, c.cols, c.n)
		}
	}
}

func TestCheckMatrixType(t *testing.T) {
	wantAct := map[quant.Type]quant.Type{
		quant.F32: quant.F32, quant.F16: quant.F16, quant.BF16: quant.BF16,
		quant.Q4_0: quant.Q8_0, quant.Q5_0: quant.Q8_0, quant.Q8_0: quant.Q8_0, quant.IQ4_NL: quant.Q8_0,
		quant.Q4_1: quant.Q8_1, quant.Q5_1: quant.Q8_1,
		quant.Q2_K: quant.Q8_K, quant.Q3_K: quant.Q8_K, quant.Q4_K: quant.Q8_K, quant.Q5_K: quant.Q8_K, quant.Q6_K: quant.Q8_K,
	}
	for typ, act := range wantAct {
		if err := CheckMatrixType(typ); err != nil {
			t.Errorf("CheckMatrixType(%s) = %v", typ, err)
		}
		if got := VecDotType(typ); got != act {
			t.Errorf("VecDotType(%s) = %s, want %s", typ, got, act)
		}
	}
	for _, typ := range []quant.Type{quant.Q8_1, quant.Q8_K, quant.IQ2_XXS, quant.IQ4_XS, quant.I32, quant.F64, quant.Type(5), quant.Type(1000)} {
		if err := CheckMatrixType(typ); err == nil {
			t.Errorf("CheckMatrixType(%s) = nil, want an error", typ)
		}
	}
}

func TestMatrixCheck(t *testing.T) {
	good := Matrix{Type: quant.Q4_0, Rows: 2, Cols: 64, Data: make([]byte, 2*2*18)}
	if err := good.Check(); err != nil {
		t.Fatalf("good matrix: %v", err)
	}
	bad := []Matrix{
		{Type: quant.Q4_0, Rows: 2, Cols: 64, Data: make([]byte, 2*2*18-1)},
		{Type: quant.Q4_0, Rows: 2, Cols: 48, Data: make([]byte, 2*18)},
		{Type: quant.Q4_K, Rows: 1, Cols: 128, Data: make([]byte, 72)},
		{Type: quant.IQ2_XXS, Rows: 1, Cols: 256, Data: make([]byte, 66)},
		{Type: quant.F32, Rows: -1, Cols: 4, Data: nil},
		{Type: quant.F32, Rows: 1, Cols: 0, Data: nil},
	}
	for _, m := range bad {
		if err := m.Check(); err == nil {
			t.Errorf("%s %dx%d with %d bytes: Check() = nil, want an error", m.Type, m.Rows, m.Cols, len(m.Data))
		}
	}
}

func TestMatMulPanicsOnBadSizes(t *testing.T) {
	w := Matrix{Type: quant.Q8_0, Rows: 2, Cols: 32, Data: make([]byte, 2*34)}
	cases := map[string]func(){
		"short dst": func() { MatMul(nil, make([]float32, 1), w, make([]float32, 32), 1) },
		"short x":   func() { MatMul(nil, make([]float32, 4), w, make([]float32, 32), 2) },
		"short weights": func() {
			MatMul(nil, make([]float32, 2), Matrix{Type: quant.Q8_0, Rows: 2, Cols: 32, Data: w.Data[:67]}, make([]float32, 32), 1)
		},
		"bad cols": func() {
			MatMul(nil, make([]float32, 2), Matrix{Type: quant.Q8_0, Rows: 2, Cols: 16, Data: w.Data}, make([]float32, 32), 1)
		},
		"bad type": func() {
			MatMul(nil, make([]float32, 1), Matrix{Type: quant.IQ2_XXS, Rows: 1, Cols: 256, Data: make([]byte, 66)}, make([]float32, 256), 1)
		},
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
}
