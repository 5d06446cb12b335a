package ops

import "math"

// sinf and cosf are glibc's (since 2.28, from ARM's optimized routines), as
// the x86-64 libm llama.cpp links calls them on a CPU with FMA (the
// __sinf_fma/__cosf_fma variants, where the compiler fuses each a*b+c):
// the argument is reduced by a multiple of π/2 in double, then a short
// polynomial is evaluated in double and rounded to float. These results are
// not always the correctly rounded ones (about 2% of rotary angles differ
// in the last bit from a double-precision sin rounded to float), and
// ggml's rotary embedding uses them for every angle, so they are mirrored
// here exactly.

// sincosTable is glibc's __sincosf_table: the second entry computes -cos
// and -sin to get the sign for free in quadrants 2 and 3.
var sincosTable = [2]sincosConsts{
	{
		sign: [4]float64{1, -1, -1, 1}, hpiInv: 0x1.45F306DC9C883p+23, hpi: 0x1.921FB54442D18p0,
		c0: 0x1p0, c1: -0x1.ffffffd0c621cp-2, c2: 0x1.55553e1068f19p-5, c3: -0x1.6c087e89a359dp-10, c4: 0x1.99343027bf8c3p-16,
		s1: -0x1.555545995a603p-3, s2: 0x1.1107605230bc4p-7, s3: -0x1.994eb3774cf24p-13,
	},
	{
		sign: [4]float64{1, -1, -1, 1}, hpiInv: 0x1.45F306DC9C883p+23, hpi: 0x1.921FB54442D18p0,
		c0: -0x1p0, c1: 0x1.ffffffd0c621cp-2, c2: -0x1.55553e1068f19p-5, c3: 0x1.6c087e89a359dp-10, c4: -0x1.99343027bf8c3p-16,
		s1: -0x1.555545995a603p-3, s2: 0x1.1107605230bc4p-7, s3: -0x1.994eb3774cf24p-13,
	},
}

type sincosConsts struct {
	sign               [4]float64
	hpiInv, hpi        float64
	c0, c1, c2, c3, c4 float64
	s1, s2, s3         float64
}

// invPio4 is 4/π to 192 bits, 8 new bits per entry (glibc's __inv_pio4).
var invPio4 = [24]uint32{
	0xa2, 0xa2f9, 0xa2f983, 0xa2f9836e, 0xf9836e4e, 0x836e4e44,
	0x6e4e4415, 0x4e441529, 0x441529fc, 0x1529fc27, 0x29fc2757, 0xfc2757d1,
	0x2757d1f5, 0x57d1f534, 0xd1f534dd, 0xf534ddc0, 0x34ddc0db, 0xddc0db62,
	0xc0db6295, 0xdb629599, 0x6295993c, 0x95993c43, 0x993c4390, 0x3c439041,
}

// abstop12 is the exponent field (and the top mantissa bits) of |x|.
func abstop12(x float32) uint32 { return math.Float32bits(x) >> 20 & 0x7ff }

// sinfPoly evaluates sin (n even) or cos (n odd) of the reduced argument x
// (x2 = x*x) with the coefficients in p, fusing as __sinf_fma does.
func sinfPoly(x, x2 float64, p *sincosConsts, n int) float32 {
	if n&1 == 0 {
		x3 := x * x2
		s1 := math.FMA(x2, p.s3, p.s2)
		x7 := x3 * x2
		s := math.FMA(x3, p.s1, x)
		return float32(math.FMA(x7, s1, s))
	}
	x4 := x2 * x2
	c2 := math.FMA(x2, p.c4, p.c3)
	c1 := math.FMA(x2, p.c1, p.c0)
	x6 := x4 * x2
	c := math.FMA(x4, p.c2, c1)
	return float32(math.FMA(x6, c2, c))
}

// reduceFast subtracts the nearest multiple n of π/2 from x (|x| < 120).
func reduceFast(x float64, p *sincosConsts) (float64, int) {
	r := x * p.hpiInv
	n := (int32(r) + 0x800000) >> 24
	return math.FMA(-float64(n), p.hpi, x), int(n)
}

// reduceLarge reduces |x| >= 120 with 4/π to 192 bits, in integers.
func reduceLarge(xi uint32) (float64, int) {
	arr := invPio4[xi>>26&15:]
	shift := xi >> 23 & 7
	xi = (xi&0xffffff | 0x800000) << shift
	res0 := uint64(xi * arr[0]) // a 32-bit product, as in C
	res1 := uint64(xi) * uint64(arr[4])
	res2 := uint64(xi) * uint64(arr[8])
	res0 = res2>>32 | res0<<32
	res0 += res1
	n := (res0 + 1<<61) >> 62
	res0 -= n << 62
	return float64(int64(res0)) * 0x1.921FB54442D18p-62, int(n)
}

// sinf is glibc's sinf (__sinf_fma).
func sinf(y float32) float32 {
	x := float64(y)
	p := &sincosTable[0]
	switch top := abstop12(y); {
	case top < abstop12(0x1.921FB6p-1):
		if top < abstop12(0x1p-12) {
			return y
		}
		return sinfPoly(x, x*x, p, 0)
	case top < abstop12(120):
		x, n := reduceFast(x, p)
		s := p.sign[n&3]
		if n&2 != 0 {
			p = &sincosTable[1]
		}
		return sinfPoly(x*s, x*x, p, n)
	case top < abstop12(float32(math.Inf(1))):
		sign := int(math.Float32bits(y) >> 31)
		x, n := reduceLarge(math.Float32bits(y))
		s := p.sign[(n+sign)&3]
		if (n+sign)&2 != 0 {
			p = &sincosTable[1]
		}
		return sinfPoly(x*s, x*x, p, n)
	}
	return y - y
}

// cosf is glibc's cosf (__cosf_fma).
func cosf(y float32) float32 {
	x := float64(y)
	p := &sincosTable[0]
	switch top := abstop12(y); {
	case top < abstop12(0x1.921FB6p-1):
		if top < abstop12(0x1p-12) {
			return 1
		}
		return sinfPoly(x, x*x, p, 1)
	case top < abstop12(120):
		x, n := reduceFast(x, p)
		s := p.sign[n&3]
		if n&2 != 0 {
			p = &sincosTable[1]
		}
		return sinfPoly(x*s, x*x, p, n^1)
	case top < abstop12(float32(math.Inf(1))):
		sign := int(math.Float32bits(y) >> 31)
		x, n := reduceLarge(math.Float32bits(y))
		s := p.sign[(n+sign)&3]
		if (n+sign)&2 != 0 {
			p = &sincosTable[1]
		}
		return sinfPoly(x*s, x*x, p, n^1)
	}
	return y - y
}
