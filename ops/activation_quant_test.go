package ops

import (
	"encoding/binary"
	"math/rand/v2"
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
