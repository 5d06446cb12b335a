package ops

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// exactFMA32 rounds a*b+c computed exactly (math/big) to float32.
func exactFMA32(a, b, c float32) float32 {
	if math.IsInf(float64(a), 0) || math.IsInf(float64(b), 0) || math.IsInf(float64(c), 0) {
		return float32(float64(a)*float64(b) + float64(c)) // IEEE's rules for infinities
	}
	p := new(big.Float).SetPrec(200).SetFloat64(float64(a))
	p.Mul(p, new(big.Float).SetFloat64(float64(b)))
	p.Add(p, new(big.Float).SetFloat64(float64(c)))
	f, _ := p.Float32()
	return f
}

func TestFMA32(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	type tc struct{ a, b, c float32 }
	cases := []tc{
		{0, 0, 0}, {1, 1, -1}, {-0, 5, 0}, {3, 1.0 / 3, -1},
		{float32(math.Inf(1)), 1, 1}, {float32(math.Inf(1)), 0, 1},
		{1e-30, 1e-30, 0},            // a float32 subnormal product
		{1e-20, 1e-20, 1e-40},        // subnormal sum
		{0x1p-75, 0x1p-75, 0x1p-149}, // below float32's range plus its smallest subnormal
		{math.MaxFloat32, 2, 0},      // overflow
	}
	// Double-rounding traps: a*b is exactly halfway between two float32
	// values (25 significant bits, the last one set: (1+k1/4096)(1+k2/4096)
	// with k1, k2 odd) and c is far too small to move the float64 sum off
	// that midpoint, though the exact sum is off it.
	for range 2000 {
		k1, k2 := float64(2*rng.IntN(2048)+1), float64(2*rng.IntN(2048)+1)
		scale := math.Ldexp(1, rng.IntN(60)-30)
		a := float32((1 + k1/4096) * scale)
		b := float32(1 + k2/4096)
		c := float32(math.Ldexp(scale, -40-rng.IntN(20)))
		cases = append(cases, tc{a, b, c}, tc{a, b, -c}, tc{-a, b, c}, tc{-a, -b, -c})
	}
	for range 20000 {
		cases = append(cases, tc{
			float32(rng.NormFloat64() * math.Exp(rng.NormFloat64()*10)),
			float32(rng.NormFloat64() * math.Exp(rng.NormFloat64()*10)),
			float32(rng.NormFloat64() * math.Exp(rng.NormFloat64()*10)),
		})
	}
	for _, c := range cases {
		got, want := fma32(c.a, c.b, c.c), exactFMA32(c.a, c.b, c.c)
		if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
			t.Fatalf("fma32(%g, %g, %g) = %g (%#x), want %g (%#x)", c.a, c.b, c.c, got, math.Float32bits(got), want, math.Float32bits(want))
		}
	}
}

// TestReductions pins the association orders of the lane reductions on
// values chosen so that every other order of the additions gives another
// result: each lane holds a power of two, so a sum is exact until its
// magnitude swallows the small terms, which depends on the order.
func TestReductions(t *testing.T) {
	var a8 [8]float32
	for i := range a8 {
		a8[i] = float32(math.Ldexp(1, 3*i))
	}
	a8[0], a8[4] = 1, -0x1p24 // (a0+a4) cancels against nothing: only exact in this order
	want8 := float32((float32(a8[0]+a8[4]) + float32(a8[2]+a8[6])) + (float32(a8[1]+a8[5]) + float32(a8[3]+a8[7])))
	if got := hsum8(&a8); got != want8 {
		t.Errorf("hsum8 = %g, want %g", got, want8)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var a16 [16]float32
	for i := range a16 {
		a16[i] = float32(rng.NormFloat64() * math.Ldexp(1, rng.IntN(40)))
	}
	var t4 [4]float32
	for i := range t4 {
		t4[i] = (a16[i] + a16[8+i]) + (a16[4+i] + a16[12+i])
	}
	if got, want := reduce16(&a16), (t4[0]+t4[2])+(t4[1]+t4[3]); got != want {
		t.Errorf("reduce16 = %g, want %g", got, want)
	}
	var a64 [64]float32
	for i := range a64 {
		a64[i] = float32(rng.NormFloat64() * math.Ldexp(1, rng.IntN(40)))
	}
	var r [16]float32
	for l := range r {
		r[l] = (a64[l] + a64[32+l]) + (a64[16+l] + a64[48+l])
	}
	if got, want := reduce64(&a64), reduce16(&r); got != want {
		t.Errorf("reduce64 = %g, want %g", got, want)
	}
}
