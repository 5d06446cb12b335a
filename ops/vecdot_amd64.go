//go:build amd64 && !purego

package ops

import (
	"github.com/infer-go/infer/quant"
	"github.com/klauspost/cpuid/v2"
)

// The assembly kernels below (vecdot_amd64.s) need AVX2 (the integer
// products), FMA3 (VFMADD231PS, the single rounding fma32 emulates) and
// F16C (VCVTPH2PS for the block scales). Each takes nb >= 1 whole blocks at
// x and y; the Go wrappers check the slices' lengths first, so a short
// slice panics exactly as in the portable kernel.

// dotQ8_0AVX2 returns vecDotQ8_0Q8_0(32*nb, x, y): per block, lane l is the
// exact integer sum of the products of elements 4l..4l+3, converted to float
// and added into float lane l with one fused multiply-add by
// f16(d_x)*f16(d_y); hsum8 of the lanes after the last block.
//
//go:noescape
func dotQ8_0AVX2(x, y *byte, nb int) float32

// dotQ4_0AVX2 returns vecDotQ4_0Q8_0(32*nb, x, y): dotQ8_0AVX2's order with
// the Q4_0 weights q-8 (element j the low nibble of qs[j], j+16 the high).
//
//go:noescape
func dotQ4_0AVX2(x, y *byte, nb int) float32

// dotQ4_0RepackedAVX2 returns vecDotQ4_0Q8_0Repacked(32*nb, x, y): per
// block, the exact integer sum s of all 32 products (q-8)·y, then one
// scalar acc = fma(float(s), f16(d_x)*f16(d_y), acc).
//
//go:noescape
func dotQ4_0RepackedAVX2(x, y *byte, nb int) float32

func vecDotQ8_0Q8_0AVX2(n int, x, y []byte) float32 {
	nb := n / 32
	x, y = x[:nb*34], y[:nb*34]
	if nb == 0 {
		return 0
	}
	return dotQ8_0AVX2(&x[0], &y[0], nb)
}

func vecDotQ4_0Q8_0AVX2(n int, x, y []byte) float32 {
	nb := n / 32
	x, y = x[:nb*18], y[:nb*34]
	if nb == 0 {
		return 0
	}
	return dotQ4_0AVX2(&x[0], &y[0], nb)
}

func vecDotQ4_0Q8_0RepackedAVX2(n int, x, y []byte) float32 {
	nb := n / 32
	x, y = x[:nb*18], y[:nb*34]
	if nb == 0 {
		return 0
	}
	return dotQ4_0RepackedAVX2(&x[0], &y[0], nb)
}

// simdLevels: AVX2 with FMA3 and F16C (every kernel in the *_amd64.s
// files), then AVX-512 (F, BW, VL, DQ) with VNNI, whose tile kernels
// replace some of AVX2's.
var simdLevels = []simdLevel{
	{"avx2", func() bool { return cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3, cpuid.F16C) }, installAVX2},
	{"avx512", func() bool {
		return cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3, cpuid.F16C,
			cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL, cpuid.AVX512DQ, cpuid.AVX512VNNI)
	}, installAVX512},
}

// installAVX2 puts the AVX2 kernels into t.
func installAVX2(t *kernelTable) {
	for _, typ := range []quant.Type{quant.Q4_0, quant.Q5_0, quant.Q8_0, quant.IQ4_NL} {
		t[typ].FromFloat = quantizeActQ8_0AVX2
	}
	for _, typ := range []quant.Type{quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K} {
		t[typ].FromFloat = quantizeQ8KAVX2Row
	}
	t[quant.Q4_0].RepackedTile = &tileKernel{rowGroup: 8, actExtra: q4_0RepackedExtra, prep: prepQ4_0RepackedAVX2,
		shared: q4_0ActGroups, mul: mulQ4_0RepackedAVX2}
	t[quant.Q8_0].VecDot = vecDotQ8_0Q8_0AVX2
	t[quant.Q8_0].Tile = &tileKernel{rowGroup: 2, acts127: true, mul: mulQ8_0AVX2}
	t[quant.Q4_0].VecDot = vecDotQ4_0Q8_0AVX2
	t[quant.Q4_0].VecDotRepacked = vecDotQ4_0Q8_0RepackedAVX2
	t[quant.Q5_0].VecDot = vecDotQ5_0Q8_0AVX2
	t[quant.Q4_K].VecDot = vecDotQ4KQ8KAVX2
	t[quant.Q6_K].VecDot = vecDotQ6KQ8KAVX2
	t[quant.F16].VecDot = vecDotF16AVX2
	t[quant.F16].VecDotBatch = vecDotF16BatchAVX2
	t[quant.F32].VecDot = vecDotF32AVX2
	t[quant.F32].VecDotBatch = vecDotF32BatchAVX2
}
