package ops

// Q4_0 block (18 bytes): d (f16), qs[16]: element j is qs[j]&15 - 8 and
// element j+16 is qs[j]>>4 - 8, times d.
// Q4_1 block (20 bytes): d, m (f16), qs[16]: element = d*nibble + m.
// Q8_0 block (34 bytes): d (f16), qs[32] (int8).
// Q8_1 block (36 bytes): d, s (f16; s = d*sum(qs)), qs[32] (int8).

// vecDotQ4_0Q8_0 is ggml_vec_dot_q4_0_q8_0 as llama.cpp's AVX2 build
// computes it for weights it keeps in ggml's layout (tinyBLAS_Q0_AVX adds in
// the same order for batches). Canonical order: vecDotQ8_0Q8_0's — per block,
// lane l holds the exact integer sum over elements 4l..4l+3 of (q-8)·y,
// accumulated with a fused multiply-add by d_w*d_x into float lane l, the
// eight lanes added by hsum8 at the end.
func vecDotQ4_0Q8_0(n int, x, y []byte) float32 {
	nb := n / 32
	x, y = x[:nb*18], y[:nb*34]
	var acc [8]float32
	for len(x) >= 18 && len(y) >= 34 {
		xb, yb := (*[18]byte)(x), (*[34]byte)(y)
		x, y = x[18:], y[34:]
		d := f16(xb[0], xb[1]) * f16(yb[0], yb[1])
		for l := 0; l < 4; l += 2 { // lanes l, l+1 (low nibbles) and l+4, l+5 (high)
			q := le64(xb[2+4*l:])
			lo, hi := subBytes(q&bytes0f, 8), subBytes(q>>4&bytes0f, 8)
			acc[l] = fma32(d, float32(dot4s(uint32(lo), yb[2+4*l:])), acc[l])
			acc[l+1] = fma32(d, float32(dot4s(uint32(lo>>32), yb[6+4*l:])), acc[l+1])
			acc[l+4] = fma32(d, float32(dot4s(uint32(hi), yb[18+4*l:])), acc[l+4])
			acc[l+5] = fma32(d, float32(dot4s(uint32(hi>>32), yb[22+4*l:])), acc[l+5])
		}
	}
	return hsum8(&acc)
}

// vecDotQ4_0Q8_0Repacked is the dot product of llama.cpp's repacked Q4_0
// kernels (ggml_gemv_q4_0_8x8_q8_0 and ggml_gemm_q4_0_8x8_q8_0, AVX2): at
// load time its x86 build regroups every Q4_0 matrix with a multiple of 8
// rows into blocks of 8 rows (block_q4_0x8) and multiplies those with its
// own kernels, for one activation row and for batches alike. Canonical
// order: per block, the exact integer sum of all 32 products (q-8)·y, then
// one float accumulator: acc = fma(float(sum), d_w*d_x, acc).
func vecDotQ4_0Q8_0Repacked(n int, x, y []byte) float32 {
	nb := n / 32
	x, y = x[:nb*18], y[:nb*34]
	var acc float32
	for len(x) >= 18 && len(y) >= 34 {
		xb, yb := (*[18]byte)(x), (*[34]byte)(y)
		x, y = x[18:], y[34:]
		var s int32
		for j := 0; j < 16; j += 8 {
			q := le64(xb[2+j:])
			s += dot8s(subBytes(q&bytes0f, 8), group8(yb[:], 2+j)) +
				dot8s(subBytes(q>>4&bytes0f, 8), group8(yb[:], 18+j))
		}
		acc = fma32(float32(s), f16(xb[0], xb[1])*f16(yb[0], yb[1]), acc)
	}
	return acc
}

// vecDotQ4_1Q8_1 is ggml_vec_dot_q4_1_q8_1 as llama.cpp's AVX2 build
// computes it. Canonical order: per block, lane l (l < 8) is the exact
// integer Σ q·y over elements 4l..4l+3 (q the unsigned nibble: elements
// 0..15 the low nibbles of qs, 16..31 the high ones), accumulated into
// float lane l with a fused multiply-add by d_w*d_y; the block minimum
// meets the activations through Q8_1's precomputed s: summs += m*s (an
// exact product, one rounding), block by block. The result is
// hsum8(lanes) + summs.
func vecDotQ4_1Q8_1(n int, x, y []byte) float32 {
	nb := n / 32
	x, y = x[:nb*20], y[:nb*36]
	var acc [8]float32
	var summs float32
	for len(x) >= 20 && len(y) >= 36 {
		xb, yb := (*[20]byte)(x), (*[36]byte)(y)
		x, y = x[20:], y[36:]
		d := f16(xb[0], xb[1]) * f16(yb[0], yb[1])
		summs += f16(xb[2], xb[3]) * f16(yb[2], yb[3]) // exact product: fused or not
		for l := 0; l < 4; l += 2 {                    // lanes l, l+1 (low nibbles) and l+4, l+5 (high)
			q := le64(xb[4+4*l:])
			lo, hi := q&bytes0f, q>>4&bytes0f
			acc[l] = fma32(d, float32(dot4u(uint32(lo), yb[4+4*l:])), acc[l])
			acc[l+1] = fma32(d, float32(dot4u(uint32(lo>>32), yb[8+4*l:])), acc[l+1])
			acc[l+4] = fma32(d, float32(dot4u(uint32(hi), yb[20+4*l:])), acc[l+4])
			acc[l+5] = fma32(d, float32(dot4u(uint32(hi>>32), yb[24+4*l:])), acc[l+5])
		}
	}
	return hsum8(&acc) + summs
}
