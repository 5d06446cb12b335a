package ops

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestSoftmax(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	inputs := [][]float32{
		{0},
		{1, 1, 1, 1},
		{1000, 1001, 999},             // would overflow without the max
		{-1e4, 0, -1e4},               // underflow to exact zeros
		testData(rng, 32000),          // a vocabulary
		{float32(math.Inf(-1)), 2, 3}, // a masked entry
	}
	for k, in := range inputs {
		x := append([]float32(nil), in...)
		Softmax(x)
		mx := math.Inf(-1)
		for _, v := range in {
			mx = math.Max(mx, float64(v))
		}
		var sum float64
		for _, v := range in {
			sum += math.Exp(float64(v) - mx)
		}
		var total float64
		for i, v := range in {
			want := math.Exp(float64(v)-mx) / sum
			// x - max is rounded to float before the exponential.
			tol := 1e-38
			if want > 0 {
				tol += want * (1e-6 + math.Abs(float64(v)-mx)*0x1p-23)
			}
			if !closeTo(x[i], want, tol) {
				t.Fatalf("input %d: x[%d] = %g, want %g", k, i, x[i], want)
			}
			total += float64(x[i])
		}
		if math.Abs(total-1) > 1e-5 {
			t.Errorf("input %d: sums to %g", k, total)
		}
	}
	Softmax(nil) // no panic
}

func TestArgmax(t *testing.T) {
	nan := float32(math.NaN())
	cases := []struct {
		x    []float32
		want int
	}{
		{nil, -1},
		{[]float32{3}, 0},
		{[]float32{1, 5, 2, 5}, 1}, // ties: the lowest index
		{[]float32{-3, -1, -2}, 1},
		{[]float32{nan, 1, 2}, 2},
		{[]float32{nan, nan}, 0},
		{[]float32{float32(math.Inf(-1)), float32(math.Inf(-1))}, 0},
	}
	for _, c := range cases {
		if got := Argmax(c.x); got != c.want {
			t.Errorf("Argmax(%v) = %d, want %d", c.x, got, c.want)
		}
	}
}

func TestAddMulScale(t *testing.T) {
	a := []float32{1, 2, 3}
	b := []float32{10, 20, 30}
	dst := make([]float32, 3)
	Add(dst, a, b)
	if dst[0] != 11 || dst[1] != 22 || dst[2] != 33 {
		t.Errorf("Add = %v", dst)
	}
	Mul(dst, a, b)
	if dst[0] != 10 || dst[1] != 40 || dst[2] != 90 {
		t.Errorf("Mul = %v", dst)
	}
	Scale(dst, 0.5)
	if dst[0] != 5 || dst[1] != 20 || dst[2] != 45 {
		t.Errorf("Scale = %v", dst)
	}
	Add(a, a, a) // aliasing
	if a[2] != 6 {
		t.Errorf("Add in place = %v", a)
	}
}
