package quant_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/internal/testref"
	"github.com/infer-go/infer/quant"
)

// kRefTypes are the K-quants whose ggml quantization and dequantization are
// recorded in quant-ref.gguf as q.<name> and deq.<name>.
var kRefTypes = []struct {
	typ  quant.Type
	name string // ggml's type name, as in the tensor names
}{
	{quant.Q2_K, "q2_K"},
	{quant.Q3_K, "q3_K"},
	{quant.Q4_K, "q4_K"},
	{quant.Q5_K, "q5_K"},
	{quant.Q6_K, "q6_K"},
}

// quantRef is the content of quant-ref.gguf that the K-quant tests use.
type quantRef struct {
	input      []float32 // rows of 256 values
	rows, cols int
	q          map[string][]byte    // ggml's quantization, by type name
	deq        map[string][]float32 // ggml's dequantization of q
}

func loadQuantRef(t *testing.T) *quantRef {
	t.Helper()
	f, err := gguf.Open(testref.Path(t, "ref", "quant-ref.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })

	f32s := func(name string) []float32 {
		ti, ok := f.Tensor(name)
		if !ok {
			t.Fatalf("quant-ref.gguf has no tensor %q", name)
		}
		if ti.Type != quant.F32 {
			t.Fatalf("tensor %q is %v, want F32", name, ti.Type)
		}
		out := make([]float32, len(ti.Data)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(ti.Data[4*i:]))
		}
		return out
	}
	in, ok := f.Tensor("input")
	if !ok || len(in.Dims) != 2 {
		t.Fatalf("quant-ref.gguf: no 2-d tensor \"input\"")
	}
	ref := &quantRef{
		input: f32s("input"),
		cols:  int(in.Dims[0]),
		rows:  int(in.Dims[1]),
		q:     map[string][]byte{},
		deq:   map[string][]float32{},
	}
	for _, tc := range kRefTypes {
		ti, ok := f.Tensor("q." + tc.name)
		if !ok {
			t.Fatalf("quant-ref.gguf has no tensor q.%s", tc.name)
		}
		if ti.Type != tc.typ {
			t.Fatalf("tensor q.%s is %v, want %v", tc.name, ti.Type, tc.typ)
		}
		ref.q[tc.name] = bytes.Clone(ti.Data)
		ref.deq[tc.name] = f32s("deq." + tc.name)
	}
	return ref
}

// TestDequantizeKMatchesGGML: dequantizing ggml's blocks must give ggml's
// floats bit for bit.
func TestDequantizeKMatchesGGML(t *testing.T) {
	ref := loadQuantRef(t)
	for _, tc := range kRefTypes {
		t.Run(tc.name, func(t *testing.T) {
			got := make([]float32, len(ref.input))
			if err := quant.Dequantize(tc.typ, got, ref.q[tc.name]); err != nil {
				t.Fatal(err)
			}
			want := ref.deq[tc.name]
			bad := 0
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					if bad < 5 {
						t.Errorf("row %d col %d: got %g (%#08x), ggml %g (%#08x)", i/ref.cols, i%ref.cols,
							got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
					}
					bad++
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d values differ from ggml", bad, len(want))
			}
		})
	}
}

// TestQuantizeKMatchesGGML: quantizing the reference input must give ggml's
// blocks byte for byte, row by row (each row of 256 is one super-block) and
// for the whole tensor in one call.
func TestQuantizeKMatchesGGML(t *testing.T) {
	ref := loadQuantRef(t)
	for _, tc := range kRefTypes {
		t.Run(tc.name, func(t *testing.T) {
			want := ref.q[tc.name]
			rowBytes, err := tc.typ.RowSize(ref.cols)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(want))
			if err := quant.Quantize(tc.typ, got, ref.input); err != nil {
				t.Fatal(err)
			}
			for r := range ref.rows {
				g, w := got[r*rowBytes:(r+1)*rowBytes], want[r*rowBytes:(r+1)*rowBytes]
				if bytes.Equal(g, w) {
					continue
				}
				x := ref.input[r*ref.cols : (r+1)*ref.cols]
				t.Errorf("row %d: bytes differ from ggml at offset %d (rmse %g, ggml's %g)",
					r, firstDiff(g, w), rmseOf(t, tc.typ, g, x), rmseOf(t, tc.typ, w, x))
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// rmseOf is the root mean square error of the encoding q of x.
func rmseOf(t *testing.T, typ quant.Type, q []byte, x []float32) float64 {
	t.Helper()
	y := make([]float32, len(x))
	if err := quant.Dequantize(typ, y, q); err != nil {
		t.Fatal(err)
	}
	var sum float64
	for i := range x {
		d := float64(y[i]) - float64(x[i])
		sum += d * d
	}
	return math.Sqrt(sum / float64(len(x)))
}

// TestQuantizeKError checks round-trip accuracy on the smooth signal of
// ggml's tests/test-quantize-fns.cpp against that test's limits (with its
// error measure, sqrt(sum of squared errors)/n), and that each extra bit
// lowers the error.
func TestQuantizeKError(t *testing.T) {
	const n = 32 * 128
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(0.1 + float64(2*float32(math.Cos(float64(i)))))
	}
	prev := math.Inf(1)
	for _, tc := range []struct {
		typ      quant.Type
		maxError float64
	}{ // fewest bits first
		{quant.Q2_K, 0.0075},
		{quant.Q3_K, 0.0040},
		{quant.Q4_K, 0.002},
		{quant.Q5_K, 0.002},
		{quant.Q6_K, 0.002},
		{quant.Q8_K, 0.002},
	} {
		size, err := tc.typ.RowSize(n)
		if err != nil {
			t.Fatal(err)
		}
		q := make([]byte, size)
		if err := quant.Quantize(tc.typ, q, x); err != nil {
			t.Fatal(err)
		}
		rmse := rmseOf(t, tc.typ, q, x)
		if ggmlErr := rmse * math.Sqrt(n) / n; ggmlErr >= tc.maxError {
			t.Errorf("%v: ggml's total quantization error %g, want < %g", tc.typ, ggmlErr, tc.maxError)
		}
		if rmse >= prev {
			t.Errorf("%v: rmse %g is not below that of the type with one bit less (%g)", tc.typ, rmse, prev)
		}
		prev = rmse
	}
}

// q8KBlock is one decoded Q8_K block.
type q8KBlock struct {
	d     float32
	qs    [256]int8
	bsums [16]int16
}

func decodeQ8K(b []byte) q8KBlock {
	var blk q8KBlock
	blk.d = math.Float32frombits(binary.LittleEndian.Uint32(b))
	for i := range blk.qs {
		blk.qs[i] = int8(b[4+i])
	}
	for i := range blk.bsums {
		blk.bsums[i] = int16(binary.LittleEndian.Uint16(b[260+2*i:]))
	}
	return blk
}

// TestQuantizeQ8K checks Q8_K against its definition in ggml's
// quantize_row_q8_K_ref: with m the value of largest magnitude (the first
// one on ties) and iscale = -127/m, qs[i] = min(127, round-half-even(iscale*x[i])),
// d = 1/iscale, bsums[g] = sum of qs[16g:16g+16]; an all-zero block is all
// zero bytes. It also bounds the round-trip error by d/2.
func TestQuantizeQ8K(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	block := func(f func(i int) float32) []float32 {
		x := make([]float32, 256)
		for i := range x {
			x[i] = f(i)
		}
		return x
	}
	cases := []struct {
		name string
		x    []float32
	}{
		{"normal", block(func(int) float32 { return float32(rng.NormFloat64()) })},
		{"positive max", block(func(i int) float32 {
			if i == 100 {
				return 9
			}
			return float32(rng.Float64()*2 - 1)
		})},
		{"tie on magnitude", block(func(i int) float32 {
			switch i {
			case 3:
				return -5
			case 7:
				return 5
			}
			return float32(rng.NormFloat64())
		})},
		{"zero", make([]float32, 256)},
		{"negative zero", block(func(int) float32 { return float32(math.Copysign(0, -1)) })},
		{"tiny", block(func(int) float32 { return float32(rng.NormFloat64() * 1e-30) })},
		{"huge", block(func(int) float32 { return float32(rng.NormFloat64() * 1e30) })},
		{"constant", block(func(int) float32 { return 0.75 })},
		{"alternating", block(func(i int) float32 { return float32(1 - 2*(i%2)) })},
		{"half steps", block(func(i int) float32 { return float32(i%255-127) + 0.5 })},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			buf := make([]byte, 292)
			if err := quant.Quantize(quant.Q8_K, buf, tc.x); err != nil {
				t.Fatal(err)
			}
			blk := decodeQ8K(buf)

			var m, amax float32
			for _, v := range tc.x {
				if a := float32(math.Abs(float64(v))); a > amax {
					amax, m = a, v
				}
			}
			if amax == 0 {
				if !bytes.Equal(buf, make([]byte, 292)) {
					t.Fatalf("all-zero input: block is not all zero: %x", buf)
				}
				return
			}
			iscale := -127 / m
			if want := 1 / iscale; math.Float32bits(blk.d) != math.Float32bits(want) {
				t.Errorf("d = %g, want %g", blk.d, want)
			}
			for i, v := range tc.x {
				p := iscale * v
				want := int8(min(127, math.RoundToEven(float64(p))))
				if blk.qs[i] != want {
					t.Errorf("qs[%d] = %d, want %d (x %g, x*iscale %g)", i, blk.qs[i], want, v, p)
				}
				// Every quant is within half a step of the input (a clamped
				// 128 is one and a half steps at most).
				limit := 0.5 * math.Abs(float64(blk.d)) * (1 + 1e-5)
				if want == 127 && p > 127.5 {
					limit *= 3
				}
				if e := math.Abs(float64(blk.d)*float64(blk.qs[i]) - float64(v)); e > limit {
					t.Errorf("value %d: |d*q - x| = %g > %g", i, e, limit)
				}
			}
			for g := range 16 {
				var sum int
				for _, q := range blk.qs[16*g : 16*g+16] {
					sum += int(q)
				}
				if int(blk.bsums[g]) != sum {
					t.Errorf("bsums[%d] = %d, want %d", g, blk.bsums[g], sum)
				}
			}

			// Dequantize is d*q, exactly.
			y := make([]float32, 256)
			if err := quant.Dequantize(quant.Q8_K, y, buf); err != nil {
				t.Fatal(err)
			}
			for i := range y {
				if want := blk.d * float32(blk.qs[i]); math.Float32bits(y[i]) != math.Float32bits(want) {
					t.Fatalf("dequantized[%d] = %g, want %g", i, y[i], want)
				}
			}
		})
	}
}

// TestQuantizeKBlocksIndependent: quantizing several super-blocks at once
// gives the same bytes as quantizing each alone.
func TestQuantizeKBlocksIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, 3*256)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * float64(1+i/256))
	}
	for _, typ := range []quant.Type{quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K, quant.Q8_K} {
		t.Run(typ.String(), func(t *testing.T) {
			bs := typ.TypeSize()
			all := make([]byte, 3*bs)
			if err := quant.Quantize(typ, all, x); err != nil {
				t.Fatal(err)
			}
			for b := range 3 {
				one := make([]byte, bs)
				if err := quant.Quantize(typ, one, x[256*b:256*(b+1)]); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(one, all[b*bs:(b+1)*bs]) {
					t.Errorf("block %d differs when quantized alone", b)
				}
			}
		})
	}
}

// FuzzDequantizeK: any bytes are valid blocks, so dequantizing whole blocks
// of arbitrary bytes must never fail or panic.
func FuzzDequantizeK(f *testing.F) {
	f.Add(uint8(0), make([]byte, 292))
	f.Add(uint8(3), bytes.Repeat([]byte{0xff}, 292))
	ktypes := []quant.Type{quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K, quant.Q8_K}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		typ := ktypes[int(which)%len(ktypes)]
		n := len(data) / typ.TypeSize()
		dst := make([]float32, n*256)
		if err := quant.Dequantize(typ, dst, data[:n*typ.TypeSize()]); err != nil {
			t.Fatal(err)
		}
	})
}

// Benchmarks: 64K values per op; bytes are the float32 side (see
// benchDequantizeType in legacy_test.go).
func BenchmarkDequantizeQ2K(b *testing.B) { benchDequantizeType(b, quant.Q2_K) }
func BenchmarkQuantizeQ2K(b *testing.B)   { benchQuantizeType(b, quant.Q2_K) }
func BenchmarkDequantizeQ3K(b *testing.B) { benchDequantizeType(b, quant.Q3_K) }
func BenchmarkQuantizeQ3K(b *testing.B)   { benchQuantizeType(b, quant.Q3_K) }
func BenchmarkDequantizeQ4K(b *testing.B) { benchDequantizeType(b, quant.Q4_K) }
func BenchmarkQuantizeQ4K(b *testing.B)   { benchQuantizeType(b, quant.Q4_K) }
func BenchmarkDequantizeQ5K(b *testing.B) { benchDequantizeType(b, quant.Q5_K) }
func BenchmarkQuantizeQ5K(b *testing.B)   { benchQuantizeType(b, quant.Q5_K) }
func BenchmarkDequantizeQ6K(b *testing.B) { benchDequantizeType(b, quant.Q6_K) }
func BenchmarkQuantizeQ6K(b *testing.B)   { benchQuantizeType(b, quant.Q6_K) }
func BenchmarkDequantizeQ8K(b *testing.B) { benchDequantizeType(b, quant.Q8_K) }
func BenchmarkQuantizeQ8K(b *testing.B)   { benchQuantizeType(b, quant.Q8_K) }
