package ops

// vecDotQ8_0Q8_0 is ggml_vec_dot_q8_0_q8_0 as llama.cpp's AVX2 build
// computes it (tinyBLAS_Q0_AVX, which llamafile_sgemm uses for batches, adds
// in the same order). Canonical order: in each block of 32, lane l (l < 8)
// is the exact integer sum of the products of elements 4l..4l+3
// (_mm256_maddubs_epi16 then _mm256_madd_epi16); every lane is converted to
// float and accumulated into its own float lane with a fused multiply-add by
// d = d_w*d_x (rounded to float); after the last block the eight lanes are
// added by hsum8.
func vecDotQ8_0Q8_0(n int, x, y []byte) float32 {
	nb := n / 32
	x, y = x[:nb*34], y[:nb*34]
	var acc [8]float32
	for len(x) >= 34 && len(y) >= 34 {
		xb, yb := (*[34]byte)(x), (*[34]byte)(y)
		x, y = x[34:], y[34:]
		d := f16(xb[0], xb[1]) * f16(yb[0], yb[1])
		for l := range acc {
			s := dot4s(le32(xb[2+4*l:]), yb[2+4*l:])
			acc[l] = fma32(d, float32(s), acc[l])
		}
	}
	return hsum8(&acc)
}
