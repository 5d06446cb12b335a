package testref

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestCompareLogits(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name      string
		ref, got  []float32
		maxAbs    float64
		refArgmax int
		gotArgmax int
		zeroKL    bool
	}{
		{"same", []float32{1, 3, 2}, []float32{1, 3, 2}, 0, 1, 1, true},
		{"shifted", []float32{1, 3, 2}, []float32{2, 4, 3}, 1, 1, 1, true}, // softmax ignores a shift
		{"other argmax", []float32{1, 3, 2}, []float32{1, 2, 3}, 1, 1, 2, false},
		{"first of a tie", []float32{5, 5, 1}, []float32{5, 5, 1}, 0, 0, 0, true},
		{"NaN skipped", []float32{nan, 1, 2}, []float32{0, 1, 2}, 0, 2, 2, false},
	}
	for _, tt := range tests {
		d := CompareLogits(tt.ref, tt.got)
		if tt.name != "NaN skipped" && d.MaxAbs != tt.maxAbs {
			t.Errorf("%s: MaxAbs %g, want %g", tt.name, d.MaxAbs, tt.maxAbs)
		}
		if d.RefArgmax != tt.refArgmax || d.GotArgmax != tt.gotArgmax {
			t.Errorf("%s: argmax %d, %d; want %d, %d", tt.name, d.RefArgmax, d.GotArgmax, tt.refArgmax, tt.gotArgmax)
		}
		if zero := math.Abs(d.KL) < 1e-12; tt.name != "NaN skipped" && zero != tt.zeroKL {
			t.Errorf("%s: KL %g, want zero: %v", tt.name, d.KL, tt.zeroKL)
		}
	}
	// KL(p || q) of two-point distributions, by hand.
	p, q := []float32{0, 0}, []float32{0, float32(math.Log(3))} // (1/2, 1/2) and (1/4, 3/4)
	want := 0.5*math.Log(0.5/0.25) + 0.5*math.Log(0.5/0.75)
	if kl := KLDivergence(p, q); math.Abs(kl-want) > 1e-7 {
		t.Errorf("KLDivergence = %g, want %g", kl, want)
	}
}

func TestTopTwoGapAndStablePrefix(t *testing.T) {
	if g := TopTwoGap([]float32{1, 4, 2.5, 4}); g != 0 {
		t.Errorf("TopTwoGap with a repeated maximum = %g, want 0", g)
	}
	if g := TopTwoGap([]float32{1, 4, 2.5}); g != 1.5 {
		t.Errorf("TopTwoGap = %g, want 1.5", g)
	}
	gen := []float32{
		0, 1, // gap 1
		3, 2, // gap 1
		5, 5.0001, // near tie
		0, 9,
	}
	if n := StableGreedyPrefix(gen, 2, 4); n != 2 {
		t.Errorf("StableGreedyPrefix = %d, want 2", n)
	}
	if n := StableGreedyPrefix(gen, 2, 2); n != 2 {
		t.Errorf("StableGreedyPrefix of the first two rows = %d, want 2", n)
	}
}

func TestReadF32File(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.f32")
	want := []float32{1.5, -2, float32(math.Inf(1))}
	b := make([]byte, 4*len(want))
	for i, x := range want {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{-1, len(want)} {
		got := ReadF32File(t, path, n)
		if len(got) != len(want) {
			t.Fatalf("n=%d: %d floats, want %d", n, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("n=%d: [%d] = %g, want %g", n, i, got[i], want[i])
			}
		}
	}
}
