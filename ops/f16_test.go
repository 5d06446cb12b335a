package ops

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/infer-go/infer/quant"
)

func TestF16Conversions(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	a32 := testData(rng, 300)
	a := make([]uint16, len(a32))
	ConvertF32ToF16(a, a32)
	back := make([]float32, len(a))
	ConvertF16ToF32(back, a)
	for i := range a {
		if a[i] != quant.F32ToF16(a32[i]) {
			t.Fatalf("ConvertF32ToF16: element %d = %#x, want %#x", i, a[i], quant.F32ToF16(a32[i]))
		}
		if back[i] != quant.F16ToF32(a[i]) {
			t.Fatalf("ConvertF16ToF32: element %d = %g, want %g", i, back[i], quant.F16ToF32(a[i]))
		}
	}
}

func f16Bytes(v []uint16) []byte {
	b := make([]byte, 2*len(v))
	for i, h := range v {
		binary.LittleEndian.PutUint16(b[2*i:], h)
	}
	return b
}

func f32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

// TestDotOrders checks DotF16 and DotF32 in both orders: close to the exact
// dot product, and bit for bit the matrix kernels MatMul uses for F16 and
// F32 weights (vecDotF16/F32 for one activation row, the Batch ones for
// tinyBLAS's batches), which are written separately.
func TestDotOrders(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{0, 1, 5, 64, 80, 130, 256} {
		a32, b32 := testData(rng, n), testData(rng, n)
		a, b := make([]uint16, n), make([]uint16, n)
		ConvertF32ToF16(a, a32)
		ConvertF32ToF16(b, b32)
		var want16, mag16, want32, mag32 float64
		for i := range n {
			p := float64(quant.F16ToF32(a[i])) * float64(quant.F16ToF32(b[i]))
			want16 += p
			mag16 += math.Abs(p)
			p = float64(a32[i]) * float64(b32[i])
			want32 += p
			mag32 += math.Abs(p)
		}
		orders := []DotOrder{VecOrder}
		if n%16 == 0 {
			orders = append(orders, BatchOrder)
		}
		for _, o := range orders {
			got16, got32 := DotF16(a, b, o), DotF32(a32, b32, o)
			if !closeTo(got16, want16, 2e-7*mag16) {
				t.Errorf("n %d, order %d: DotF16 = %g, want %g", n, o, got16, want16)
			}
			if !closeTo(got32, want32, 2e-7*mag32) {
				t.Errorf("n %d, order %d: DotF32 = %g, want %g", n, o, got32, want32)
			}
			k16, k32 := vecDotF16, vecDotF32
			if o == BatchOrder {
				k16, k32 = vecDotF16Batch, vecDotF32Batch
			}
			if k := k16(n, f16Bytes(a), f16Bytes(b)); math.Float32bits(k) != math.Float32bits(got16) {
				t.Errorf("n %d, order %d: DotF16 = %g, the F16 matrix kernel %g", n, o, got16, k)
			}
			if k := k32(n, f32Bytes(a32), f32Bytes(b32)); math.Float32bits(k) != math.Float32bits(got32) {
				t.Errorf("n %d, order %d: DotF32 = %g, the F32 matrix kernel %g", n, o, got32, k)
			}
		}
	}
}

// TestWeightedSum checks that WeightedSumF16/F32, which walk the rows once
// position by position, give each output exactly what DotF16/F32 give on
// that output's column padded with zero weights (llama.cpp's V^T·softmax).
func TestWeightedSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	const stride, nd = 20, 13
	for _, tc := range []struct {
		nw, padded int
		o          DotOrder
	}{{1, 32, VecOrder}, {33, 64, VecOrder}, {70, 96, VecOrder}, {130, 160, VecOrder}, {5, 32, BatchOrder}, {40, 64, BatchOrder}} {
		w := testData(rng, tc.nw)
		for i := range w {
			w[i] = quant.F16ToF32(quant.F32ToF16(w[i]))
			if rng.IntN(5) == 0 {
				w[i] = 0
			}
		}
		rows32 := testData(rng, tc.nw*stride)
		rows16 := make([]uint16, len(rows32))
		ConvertF32ToF16(rows16, rows32)
		got16, got32 := make([]float32, nd), make([]float32, nd)
		WeightedSumF16(got16, w, rows16, stride, tc.padded, tc.o)
		WeightedSumF32(got32, w, rows32, stride, tc.padded, tc.o)
		wp := make([]float32, tc.padded)
		copy(wp, w)
		w16 := make([]uint16, tc.padded)
		ConvertF32ToF16(w16, wp)
		for d := range nd {
			col16, col32 := make([]uint16, tc.padded), make([]float32, tc.padded)
			for p := range tc.nw {
				col16[p], col32[p] = rows16[p*stride+d], rows32[p*stride+d]
			}
			if want := DotF16(col16, w16, tc.o); math.Float32bits(got16[d]) != math.Float32bits(want) {
				t.Errorf("%+v: WeightedSumF16[%d] = %g, DotF16 %g", tc, d, got16[d], want)
			}
			if want := DotF32(col32, wp, tc.o); math.Float32bits(got32[d]) != math.Float32bits(want) {
				t.Errorf("%+v: WeightedSumF32[%d] = %g, DotF32 %g", tc, d, got32[d], want)
			}
		}
	}
}
