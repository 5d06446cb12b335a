package ops

import (
	"fmt"
	"math"
)

// RoPE rotates the first ropeDim dimensions of each of the nHeads heads
// (headDim values each, one after another in x) by the angles of position
// pos, as ggml's rope with no scaling (freq_scale 1, no YaRN):
//
//   - normal mode (llama) rotates the pairs (x[2i], x[2i+1]),
//   - neox mode rotates the pairs (x[i], x[i+ropeDim/2]),
//
// pair i by theta_i = pos * base^(-2i/ropeDim) / freqFactors[i] (freqFactors,
// Llama 3's rope_freqs, may be nil). Dimensions past ropeDim are unchanged.
//
// A model rotating several vectors at one position can compute the angles
// once with RoPECache and apply them with RoPEApply.
func RoPE(x []float32, nHeads, headDim, ropeDim int, pos int, freqBase float32, neox bool, freqFactors []float32) {
	var stack [256]float32
	var cache []float32
	if ropeDim <= len(stack) {
		cache = stack[:ropeDim]
	} else {
		cache = make([]float32, ropeDim)
	}
	RoPECache(cache, pos, ropeDim, freqBase, freqFactors)
	RoPEApply(x, nHeads, headDim, ropeDim, cache, neox)
}

// RoPECache fills cache[2i] and cache[2i+1] (i < ropeDim/2) with the cosine
// and sine of pair i's angle at position pos, computed like ggml's
// rope_cache_init: theta starts at pos and is multiplied by
// theta_scale = powf(base, -2/ropeDim) in float for each pair, then divided
// by freqFactors[i] when given; the cosine and sine are glibc's cosf and
// sinf (see sinf), not correctly rounded ones.
func RoPECache(cache []float32, pos, ropeDim int, freqBase float32, freqFactors []float32) {
	if ropeDim <= 0 || ropeDim%2 != 0 || len(cache) < ropeDim || freqFactors != nil && len(freqFactors) < ropeDim/2 {
		panic(fmt.Sprintf("ops: RoPECache: ropeDim %d, len(cache) %d, len(freqFactors) %d", ropeDim, len(cache), len(freqFactors)))
	}
	thetaScale := float32(math.Pow(float64(freqBase), float64(float32(-2)/float32(ropeDim))))
	theta := float32(pos)
	for i := range ropeDim / 2 {
		t := theta
		if freqFactors != nil {
			t /= freqFactors[i]
		}
		cache[2*i] = cosf(t)
		cache[2*i+1] = sinf(t)
		theta *= thetaScale
	}
}

// RoPEApply rotates x (nHeads heads of headDim values) by the angles in
// cache, filled by RoPECache for the same ropeDim. Each pair (x0, x1)
// becomes (x0·cos - x1·sin, x0·sin + x1·cos) with the first product of each
// fused into the addition, as GCC contracts ggml's rope loop for an FMA
// target: fma(x0, cos, -(x1·sin)) and fma(x0, sin, x1·cos).
func RoPEApply(x []float32, nHeads, headDim, ropeDim int, cache []float32, neox bool) {
	if ropeDim <= 0 || ropeDim%2 != 0 || ropeDim > headDim || nHeads < 0 || len(x) < nHeads*headDim || len(cache) < ropeDim {
		panic(fmt.Sprintf("ops: RoPEApply: %d heads of %d, ropeDim %d, len(x) %d, len(cache) %d",
			nHeads, headDim, ropeDim, len(x), len(cache)))
	}
	half := ropeDim / 2
	for h := range nHeads {
		head := x[h*headDim : h*headDim+ropeDim]
		for i := range half {
			c, s := cache[2*i], cache[2*i+1]
			j0, j1 := 2*i, 2*i+1
			if neox {
				j0, j1 = i, i+half
			}
			x0, x1 := head[j0], head[j1]
			head[j0] = fma32(x0, c, -float32(x1*s))
			head[j1] = fma32(x0, s, float32(x1*c))
		}
	}
}
