package quant

import (
	"math"
	"testing"
)

func TestCTruncInt32(t *testing.T) {
	tests := []struct {
		in   float32
		want int32
	}{
		{0, 0},
		{1.9, 1},
		{-1.9, -1},
		{16.5, 16},
		{2147483520, 2147483520}, // largest float32 below 2^31
		{-2147483648, math.MinInt32},
		{2147483648, math.MinInt32}, // out of range: x86's "integer indefinite"
		{-2147483904, math.MinInt32},
		{float32(math.Inf(1)), math.MinInt32},
		{float32(math.Inf(-1)), math.MinInt32},
		{float32(math.NaN()), math.MinInt32},
	}
	for _, tc := range tests {
		if got := cTruncInt32(tc.in); got != tc.want {
			t.Errorf("cTruncInt32(%g) = %d, want %d", tc.in, got, tc.want)
		}
	}
	// The narrow casts keep the low byte, as gcc's code does.
	if got := cInt8(300.7); got != 44 {
		t.Errorf("cInt8(300.7) = %d, want 44", got)
	}
	if got := cInt8(float32(math.Inf(1))); got != 0 {
		t.Errorf("cInt8(+Inf) = %d, want 0", got)
	}
	if got := cUint8(-1.5); got != 255 {
		t.Errorf("cUint8(-1.5) = %d, want 255", got)
	}
}

func TestRoundAway(t *testing.T) {
	for _, tc := range []struct{ in, want float32 }{
		{0.5, 1}, {-0.5, -1}, {1.5, 2}, {2.5, 3}, {-2.5, -3}, {0.49999997, 0}, {126.5, 127}, {-0.0, 0},
	} {
		if got := roundAway(tc.in); got != tc.want {
			t.Errorf("roundAway(%g) = %g, want %g", tc.in, got, tc.want)
		}
	}
}

func TestCMaxAbsNaN(t *testing.T) {
	// C's MAX(amax, fabsf(v)) is amax > |v| ? amax : |v|: a NaN replaces
	// amax, and the next finite value replaces the NaN.
	nan := float32(math.NaN())
	a := cMaxAbs(2, -3)
	if a != 3 {
		t.Fatalf("cMaxAbs(2, -3) = %g", a)
	}
	a = cMaxAbs(a, nan)
	if !math.IsNaN(float64(a)) {
		t.Fatalf("cMaxAbs(3, NaN) = %g, want NaN", a)
	}
	if a = cMaxAbs(a, -1); a != 1 {
		t.Fatalf("cMaxAbs(NaN, -1) = %g, want 1", a)
	}
}

func TestBestIndexIQ4NL(t *testing.T) {
	v := kvaluesIQ4NL
	for i, level := range v {
		if got := bestIndexIQ4NL(float32(level)); got != i {
			t.Errorf("bestIndexIQ4NL(%d) = %d, want %d", level, got, i)
		}
		if i == 0 {
			continue
		}
		mid := (float32(v[i-1]) + float32(v[i])) / 2 // exact
		if got := bestIndexIQ4NL(mid); got != i {
			t.Errorf("tie %g between %d and %d: got index %d, want the upper %d", mid, v[i-1], v[i], got, i)
		}
		if got := bestIndexIQ4NL(math.Nextafter32(mid, -200)); got != i-1 {
			t.Errorf("just below %g: got index %d, want %d", mid, got, i-1)
		}
	}
	for _, tc := range []struct {
		in   float32
		want int
	}{
		{-1000, 0}, {-127.5, 0}, {113.5, 15}, {1e30, 15}, {0, 8}, {float32(math.Copysign(0, -1)), 8},
		{float32(math.NaN()), 15}, // ggml's binary search ends at the top
	} {
		if got := bestIndexIQ4NL(tc.in); got != tc.want {
			t.Errorf("bestIndexIQ4NL(%g) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// ggmlBestIndexInt8 is ggml's best_index_int8 as written in C: clamp, a
// binary search, then x-lo < hi-x on float differences.
func ggmlBestIndexInt8(val *[16]int8, x float32) int {
	if x <= float32(val[0]) {
		return 0
	}
	if x >= float32(val[15]) {
		return 15
	}
	ml, mu := 0, 15
	for mu-ml > 1 {
		mav := (ml + mu) / 2
		if x < float32(val[mav]) {
			mu = mav
		} else {
			ml = mav
		}
	}
	if x-float32(val[mu-1]) < float32(val[mu])-x {
		return mu - 1
	}
	return mu
}

// TestBestIndexIQ4NLMatchesGGML compares the midpoint search with ggml's
// formulation on every float32 within 1<<14 ulps of each midpoint (where
// rounding could matter) and on a sweep across [-300, 300].
func TestBestIndexIQ4NLMatchesGGML(t *testing.T) {
	check := func(x float32) {
		if got, want := bestIndexIQ4NL(x), ggmlBestIndexInt8(&kvaluesIQ4NL, x); got != want {
			t.Fatalf("bestIndexIQ4NL(%g = %#08x) = %d, ggml %d", x, math.Float32bits(x), got, want)
		}
	}
	for i := range 15 {
		mid := (float32(kvaluesIQ4NL[i]) + float32(kvaluesIQ4NL[i+1])) / 2
		lo, hi := mid, mid
		for range 1 << 14 {
			lo, hi = math.Nextafter32(lo, -1000), math.Nextafter32(hi, 1000)
			check(lo)
			check(hi)
		}
		check(mid)
	}
	for x := float32(-300); x <= 300; x += 0.0009765625 * 3 {
		check(x)
	}
}
