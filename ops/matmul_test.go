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
				act := quantizeRows(t, actType, xf, sh.cols)
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
// single bit of the result: each output is computed by one goroutine.
func TestMatMulThreads(t *testing.T) {
	const rows, cols, n = 37, 512, 5
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
		for pi, p := range pools {
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
			_ = pi
		}
	}
}

// TestMatMulBatchRows checks that a batch gives each activation row the same
// result as multiplying it alone.
func TestMatMulBatchRows(t *testing.T) {
	const rows, cols, n = 19, 256, 37 // n past one block of activation rows
	for _, tc := range matmulCases {
		rng := rand.New(rand.NewPCG(11, uint64(tc.typ)))
		w := Matrix{Type: tc.typ, Rows: rows, Cols: cols, Data: quantizeRows(t, tc.typ, testData(rng, rows*cols), cols)}
		x := testData(rng, n*cols)
		batch := make([]float32, n*rows)
		MatMul(nil, batch, w, x, n)
		for r := range n {
			one := make([]float32, rows)
			MatMul(nil, one, w, x[r*cols:(r+1)*cols], 1)
			for i := range one {
				if math.Float32bits(one[i]) != math.Float32bits(batch[r*rows+i]) {
					t.Errorf("%s: activation %d row %d: alone %g, in batch %g", tc.typ, r, i, one[i], batch[r*rows+i])
				}
			}
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
