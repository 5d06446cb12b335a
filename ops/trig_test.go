package ops

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
)

// TestSinfCosfGlibc compares sinf and cosf with glibc's own results
// (testdata/glibc_sincosf.txt), most of them angles where glibc's last bit
// differs from the double-precision value rounded to float: a correctly
// rounded implementation fails this test.
func TestSinfCosfGlibc(t *testing.T) {
	f, err := os.Open("testdata/glibc_sincosf.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		var xb, sb, cb uint32
		if _, err := fmt.Sscanf(line, "%x %x %x", &xb, &sb, &cb); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		x := math.Float32frombits(xb)
		if got := math.Float32bits(sinf(x)); got != sb {
			t.Errorf("sinf(%g) = %#08x, glibc %#08x", x, got, sb)
		}
		if got := math.Float32bits(cosf(x)); got != cb {
			t.Errorf("cosf(%g) = %#08x, glibc %#08x", x, got, cb)
		}
		n++
	}
	if n < 600 {
		t.Fatalf("read only %d values", n)
	}
	if s := sinf(float32(math.Inf(1))); s == s {
		t.Errorf("sinf(+Inf) = %g, want NaN", s)
	}
}

// TestVExpf checks ggml_v_expf's accuracy and edges: its AVX-512 form adds
// the polynomial's 1 in float before scaling, so it stays within about 2.2 ulp
// of the true exponential (a little worse than the 1.45 + 0.5 ulp ggml
// quotes for its AVX2 form). The exact bits are covered by the models'
// reference test, which compares with llama.cpp.
func TestVExpf(t *testing.T) {
	ulp := func(v float32) float64 {
		return float64(math.Nextafter32(v, float32(math.Inf(1))) - v)
	}
	worst := 0.0
	for x := float32(-87); x < 88; x += 0.00731 {
		got := vExpf(x)
		want := math.Exp(float64(x))
		e := math.Abs(float64(got)-want) / ulp(float32(want))
		worst = max(worst, e)
		if e > 2.5 {
			t.Fatalf("vExpf(%g) = %g, exp %g: %.3g ulp", x, got, want, e)
		}
	}
	t.Logf("worst error %.3g ulp", worst)
	for _, c := range []struct{ x, want float32 }{
		{0, 1}, {float32(math.Inf(-1)), 0}, {-200, 0}, {200, float32(math.Inf(1))}, {float32(math.Inf(1)), float32(math.Inf(1))},
	} {
		if got := vExpf(c.x); got != c.want {
			t.Errorf("vExpf(%g) = %g, want %g", c.x, got, c.want)
		}
	}
	if got := vExpf(float32(math.NaN())); got == got {
		t.Errorf("vExpf(NaN) = %g", got)
	}
}
