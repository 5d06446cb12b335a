package ops

import (
	"math"
	"sync"

	"github.com/infer-go/infer/quant"
)

// SiLU replaces each x[i] of the row x by x[i]/(1+exp(-x[i])), as
// ggml_vec_silu_f32 on llama.cpp's reference build (AVX-512): each full
// group of sixteen from the start of the row through vExpf (ggml_v_silu),
// the rest through expf (ggml_silu_f32).
func SiLU(x []float32) {
	i := 0
	for ; i+16 <= len(x); i += 16 {
		for l, v := range (*[16]float32)(x[i:]) {
			x[i+l] = v / (1 + vExpf(0-v))
		}
	}
	for ; i < len(x); i++ {
		x[i] = x[i] / (1 + expf(-x[i]))
	}
}

// swiGLUSIMD is an architecture's assembly SwiGLU for the whole groups of
// sixteen (swiglu_amd64.go), used only while SIMD() is on; it returns how
// many elements it did.
var swiGLUSIMD func(dst, gate, up []float32) int

// SwiGLU sets dst[i] = silu(gate[i]) * up[i] for one row, as llama.cpp's
// llama graph computes it (ggml_silu of the row, then ggml_mul): SiLU's
// arithmetic, the product rounded to float. dst may be gate or up.
func SwiGLU(dst, gate, up []float32) {
	checkSameLen("SwiGLU", dst, gate, up)
	gate, up = gate[:len(dst)], up[:len(dst)]
	i := 0
	if simdOn && swiGLUSIMD != nil {
		i = swiGLUSIMD(dst, gate, up) // the groups of sixteen, same bits
	}
	for ; i+16 <= len(dst); i += 16 {
		for l := i; l < i+16; l++ {
			v := gate[l]
			dst[l] = v / (1 + vExpf(0-v)) * up[l]
		}
	}
	for ; i < len(dst); i++ {
		v := gate[i]
		dst[i] = v / (1 + expf(-v)) * up[i]
	}
}

// GELU replaces x by the tanh approximation of GELU exactly as ggml's CPU
// backend computes it: ggml is built with GGML_GELU_FP16, so inputs in
// (-10, 10) are rounded to f16 and looked up in a table of
// f16(gelu(f16 value)); x <= -10 gives 0 and x >= 10 gives x.
func GELU(x []float32) {
	geluOnce.Do(initGELUTable)
	tab := geluTable
	for i, v := range x {
		switch {
		case v <= -10:
			x[i] = 0
		case v >= 10:
			// unchanged
		default:
			x[i] = quant.F16ToF32(tab[quant.F32ToF16(v)])
		}
	}
}

var (
	geluOnce  sync.Once
	geluTable *[1 << 16]uint16 // ggml_table_gelu_f16
)

func initGELUTable() {
	t := new([1 << 16]uint16)
	for h := range t {
		t[h] = quant.F32ToF16(geluTanh(quant.F16ToF32(uint16(h))))
	}
	geluTable = t
}

// geluTanh is ggml_gelu_f32, 0.5x(1 + tanh(sqrt(2/π)·x·(1 + 0.044715x²))),
// in float arithmetic.
func geluTanh(x float32) float32 {
	const (
		coefA       = float32(0.044715)
		sqrt2OverPi = float32(0.79788456080286535587989211986876)
	)
	// ggml builds its table with FMA contraction: 1 + (a·x)·x is one fused
	// multiply-add (it changes one f16 entry, at x = -1.9990234).
	inner := float32(sqrt2OverPi*x) * fma32(float32(coefA*x), x, 1)
	return 0.5 * x * float32(1+tanhf(inner))
}

func tanhf(x float32) float32 { return float32(math.Tanh(float64(x))) }

// GELUErf replaces x by the exact GELU, 0.5x(1 + erf(x/√2)), as ggml's
// gelu_erf (no table).
func GELUErf(x []float32) {
	const sqrt2Inv = float32(0.70710678118654752440084436210484)
	for i, v := range x {
		e := float32(math.Erf(float64(float32(v * sqrt2Inv))))
		x[i] = 0.5 * v * float32(1+e)
	}
}
