//go:build arm64 && !purego

package ops

import "github.com/infer-go/infer/quant"

// The assembly kernels below (vecdot_arm64.s) use only base ASIMD, which
// every arm64 CPU has: SMULL/SADDLP for the integer products (no dot-product
// extension), FMLA for the fused multiply-add (one rounding, as fma32) and
// FCVT for the f16 block scales. Each takes nb >= 1 whole blocks at x and y;
// the Go wrappers check the slices' lengths first, so a short slice panics
// exactly as in the portable kernel.

// dotQ8_0NEON returns vecDotQ8_0Q8_0(32*nb, x, y): per block, lane l is the
// exact integer sum of the products of elements 4l..4l+3, converted to float
// and added into float lane l (lanes 0..3 in one register, 4..7 in another)
// with one fused multiply-add by f16(d_x)*f16(d_y); hsum8 of the lanes after
// the last block.
//
//go:noescape
func dotQ8_0NEON(x, y *byte, nb int) float32

// dotQ4_0NEON returns vecDotQ4_0Q8_0(32*nb, x, y): dotQ8_0NEON's order with
// the Q4_0 weights q-8 (element j the low nibble of qs[j], j+16 the high).
//
//go:noescape
func dotQ4_0NEON(x, y *byte, nb int) float32

// dotQ4_0RepackedNEON returns vecDotQ4_0Q8_0Repacked(32*nb, x, y): per
// block, the exact integer sum s of all 32 products (q-8)·y, then one
// scalar acc = fma(float(s), f16(d_x)*f16(d_y), acc).
//
//go:noescape
func dotQ4_0RepackedNEON(x, y *byte, nb int) float32

func vecDotQ8_0Q8_0NEON(n int, x, y []byte) float32 {
	nb := n / 32
	x, y = x[:nb*34], y[:nb*34]
	if nb == 0 {
		return 0
	}
	return dotQ8_0NEON(&x[0], &y[0], nb)
}

func vecDotQ4_0Q8_0NEON(n int, x, y []byte) float32 {
	nb := n / 32
	x, y = x[:nb*18], y[:nb*34]
	if nb == 0 {
		return 0
	}
	return dotQ4_0NEON(&x[0], &y[0], nb)
}

func vecDotQ4_0Q8_0RepackedNEON(n int, x, y []byte) float32 {
	nb := n / 32
	x, y = x[:nb*18], y[:nb*34]
	if nb == 0 {
		return 0
	}
	return dotQ4_0RepackedNEON(&x[0], &y[0], nb)
}

// simdLevels: base ASIMD and FP16 conversion, part of the arm64 base
// architecture, so every arm64 CPU runs the one level.
var simdLevels = []simdLevel{{"neon", func() bool { return true }, installNEON}}

// installNEON puts the NEON kernels into t.
func installNEON(t *kernelTable) {
	t[quant.Q8_0].VecDot = vecDotQ8_0Q8_0NEON
	t[quant.Q4_0].VecDot = vecDotQ4_0Q8_0NEON
	t[quant.Q4_0].VecDotRepacked = vecDotQ4_0Q8_0RepackedNEON
	t[quant.Q6_K].VecDot = vecDotQ6KQ8KNEON
	t[quant.Q4_K].VecDot = vecDotQ4KQ8KNEON
	t[quant.F16].VecDot = vecDotF16NEON
}
