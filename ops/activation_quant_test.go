package ops

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/infer-go/infer/quant"
)

// TestQuantizeActQ8_0 checks the two ways the AVX quantizer differs from
// ggml's reference one (quant.QuantizeQ8_0): halves round to even, and the
// multiplier is 127/amax. Elsewhere the two agree.
func TestQuantizeActQ8_0(t *testing.T) {
	x := make([]float32, 64)
	x[0], x[1], x[2], x[3], x[4] = 127, 2.5, -3.5, 0.5, -126.5 // amax 127: id = 1
	got, ref := make([]byte, 68), make([]byte, 68)
	quantizeActQ8_0(got, x)
	quant.QuantizeQ8_0(ref, x)
	if d := quant.F16ToF32(binary.LittleEndian.Uint16(got)); d != 1 {
		t.Errorf("d = %g, want 1", d)
	}
	for i, want := range []int8{127, 2, -4, 0, -126} {
		if q := int8(got[2+i]); q != want {
			t.Errorf("q[%d] = %d, want %d (round half to even)", i, q, want)
		}
	}
	if int8(ref[3]) != 3 {
		t.Errorf("reference quantizer: q[1] = %d, want 3 (half away from zero)", int8(ref[3]))
	}
	for i, b := range got[34:] { // the all-zero second block
		if b != 0 {
			t.Fatalf("zero block: byte %d = %d", i, b)
		}
	}

	rng := rand.New(rand.NewPCG(9, 9))
	x = testData(rng, 32*512)
	got, ref = make([]byte, 34*512), make([]byte, 34*512)
	quantizeActQ8_0(got, x)
	quant.QuantizeQ8_0(ref, x)
	diff := 0
	for b := range 512 {
		if got[34*b] != ref[34*b] || got[34*b+1] != ref[34*b+1] {
			t.Fatalf("block %d: scale %#x, reference %#x", b, got[34*b:34*b+2], ref[34*b:34*b+2])
		}
		for j := 2; j < 34; j++ {
			d := int(int8(got[34*b+j])) - int(int8(ref[34*b+j]))
			if d < -1 || d > 1 {
				t.Fatalf("block %d element %d: %d, reference %d", b, j-2, int8(got[34*b+j]), int8(ref[34*b+j]))
			}
			if d != 0 {
				diff++
			}
		}
	}
	t.Logf("%d of %d values differ by one from the reference quantizer", diff, 32*512)
}

// TestQuantizeActQ8_1 checks s = f16(d*sum(q)) next to Q8_0's d and q.
func TestQuantizeActQ8_1(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	x := testData(rng, 32*64)
	q1, q0 := make([]byte, 36*64), make([]byte, 34*64)
	quantizeActQ8_1(q1, x)
	quantizeActQ8_0(q0, x)
	for b := range 64 {
		y1, y0 := q1[36*b:36*(b+1)], q0[34*b:34*(b+1)]
		if string(y1[0:2]) != string(y0[0:2]) || string(y1[4:]) != string(y0[2:]) {
			t.Fatalf("block %d: d and qs differ from quantizeActQ8_0", b)
		}
		var sum int32
		for _, q := range y1[4:] {
			sum += int32(int8(q))
		}
		var amax float32
		for _, v := range x[32*b : 32*(b+1)] {
			amax = max(amax, v, -v)
		}
		want := quant.F32ToF16(amax / 127 * float32(sum))
		if s := binary.LittleEndian.Uint16(y1[2:]); s != want {
			t.Fatalf("block %d: s = %#x, want %#x", b, s, want)
		}
	}
}

// BenchmarkActivationQuant times the conversion of one activation row of
// 2048 floats (TinyLlama's width) as MatMul does it before a product.
func BenchmarkActivationQuant(b *testing.B) {
	for _, typ := range []quant.Type{quant.Q8_0, quant.Q4_K} {
		tr := lookupVecDot(typ)
		b.Run(tr.VecDotType.String(), func(b *testing.B) {
			const cols = 2048
			x := testData(rand.New(rand.NewPCG(1, 1)), cols)
			size, _ := tr.VecDotType.RowSize(cols)
			dst := make([]byte, size)
			b.SetBytes(4 * cols)
			for b.Loop() {
				tr.FromFloat(dst, x)
			}
		})
	}
}

// TestSIMDActivationQuant holds every assembly activation quantizer, on
// every level this CPU runs, to the portable one's bytes: rows of random
// values of every magnitude (subnormal to 1e30), all-zero blocks, exact
// halves after scaling, and blocks whose largest magnitude appears with
// both signs (Q8_K takes the first).
func TestSIMDActivationQuant(t *testing.T) {
	names, tables := simdTables()
	seen := map[uintptr]bool{}
	tested := 0
	for li, tab := range tables {
		for typ := range tab {
			simd, ref := tab[typ].FromFloat, portableVecDot[typ].FromFloat
			if simd == nil {
				continue
			}
			ptr := reflect.ValueOf(simd).Pointer()
			if ptr == reflect.ValueOf(ref).Pointer() || seen[ptr] {
				continue
			}
			seen[ptr] = true
			tested++
			act := tab[typ].VecDotType
			bs := act.BlockSize()
			rng := rand.New(rand.NewPCG(uint64(typ), 3))
			for rep := range 200 {
				nb := 1 + rep%9
				x := activationTestRow(rng, nb*bs, bs, rep)
				size, _ := act.RowSize(nb * bs)
				want, got := make([]byte, size), make([]byte, size)
				ref(want, x)
				simd(got, x)
				if !bytes.Equal(got, want) {
					i := 0
					for got[i] == want[i] {
						i++
					}
					t.Fatalf("%s %s, %d blocks, case %d: byte %d = %#02x, portable %#02x", quant.Type(typ), names[li], nb, rep, i, got[i], want[i])
				}
			}
		}
	}
	if tested == 0 {
		t.Skip("no assembly activation quantizers on this CPU or build")
	}
}

// activationTestRow returns n floats in blocks of bs, their kind chosen by
// rep: random normal values of a random scale, values of any exponent,
// blocks of zeros, integers and halves that scale exactly, and the largest
// magnitude repeated with both signs.
func activationTestRow(rng *rand.Rand, n, bs, rep int) []float32 {
	x := make([]float32, n)
	for b := 0; b < n; b += bs {
		blk := x[b : b+bs]
		switch (rep + b/bs) % 5 {
		case 0:
			s := math.Ldexp(1, rng.IntN(40)-20)
			for i := range blk {
				blk[i] = float32(rng.NormFloat64() * s)
			}
		case 1:
			for i := range blk {
				blk[i] = float32(math.Ldexp(rng.Float64()-0.5, rng.IntN(220)-120))
			}
		case 2:
			// all zero (or -0)
			for i := range blk {
				if rng.IntN(2) == 0 {
					blk[i] = float32(math.Copysign(0, -1))
				}
			}
		case 3:
			for i := range blk {
				blk[i] = float32(rng.IntN(255)-127) / 2
			}
			blk[rng.IntN(bs)] = 127
		case 4:
			m := float32(rng.NormFloat64() * 10)
			for i := range blk {
				blk[i] = float32(rng.NormFloat64()) * m / 8
			}
			blk[rng.IntN(bs)] = m
			blk[rng.IntN(bs)] = -m
		}
	}
	return x
}

// TestSIMDPrepQ4_0Repacked holds the assembly copy of activation rows for
// the Q4_0 tile kernels to the portable one, on random Q8_0 rows.
func TestSIMDPrepQ4_0Repacked(t *testing.T) {
	names, tables := simdTables()
	tested := 0
	for li, tab := range tables {
		k := tab[quant.Q4_0].RepackedTile
		if k == nil || k.prep == nil || reflect.ValueOf(k.prep).Pointer() == reflect.ValueOf(prepQ4_0Repacked).Pointer() {
			continue
		}
		tested++
		rng := rand.New(rand.NewPCG(4, 4))
		for nb := 1; nb <= 40; nb++ {
			cols := 32 * nb
			row := make([]byte, 34*nb+k.actExtra(cols))
			for i := range row[:34*nb] {
				row[i] = byte(rng.Uint32())
			}
			for b := range nb {
				binary.LittleEndian.PutUint16(row[34*b:], randomF16(rng))
			}
			want := append([]byte(nil), row...)
			prepQ4_0Repacked(want, 34*nb, cols)
			k.prep(row, 34*nb, cols)
			if !bytes.Equal(row, want) {
				t.Fatalf("%s, %d blocks: prepared rows differ", names[li], nb)
			}
		}
	}
	if tested == 0 {
		t.Skip("no assembly Q4_0 prep on this CPU or build")
	}
}

// TestRoundEven checks the quantizers' rounding trick against
// math.RoundToEven on every float32 within ±200 at a stride, on every
// half-integer there and on its two neighbours.
func TestRoundEven(t *testing.T) {
	check := func(v float32) {
		if got, want := roundEven(v), int32(math.RoundToEven(float64(v))); got != want {
			t.Fatalf("roundEven(%g) = %d, want %d", v, got, want)
		}
	}
	for bits := uint32(0); bits < 0x43480000; bits += 97 { // up to 200
		v := math.Float32frombits(bits)
		check(v)
		check(-v)
	}
	for k := -400; k <= 400; k++ {
		h := float32(k) / 2
		check(h)
		check(math.Nextafter32(h, 1000))
		check(math.Nextafter32(h, -1000))
	}
}
