package ops

// Q6_K block (210 bytes): ql[128] (low nibbles), qh[64] (high two bits),
// scales[16] (int8, one per 16 elements), d (f16). In half h (128 elements),
// with L = ql[64h:], H = qh[32h:] and l < 32, the elements are
//
//	l      : L[l]&15    | (H[l]>>0&3)<<4
//	l + 32 : L[l+32]&15 | (H[l]>>2&3)<<4
//	l + 64 : L[l]>>4    | (H[l]>>4&3)<<4
//	l + 96 : L[l+32]>>4 | (H[l]>>6&3)<<4
//
// each minus 32, times d*scale.

// vecDotQ6KQ8K is ggml_vec_dot_q6_K_q8_K as llama.cpp's AVX2 build computes
// it (for batches too: no repacking and no tinyBLAS for K-quants at commit
// c392e509). Canonical order, per block: lane l (l < 8) is the exact integer
// sum, over the eight runs c of 32 elements, of scale·Σ (q-32)·y over the
// elements 32c+4l..32c+4l+3, where scale is scales[2c] for l < 4 and
// scales[2c+1] for l >= 4 (one scale per 16 elements);
// acc[l] = fma(d, float(lane l), acc[l]) with d = d_y*d_w. The result is
// hsum8(acc).
func vecDotQ6KQ8K(n int, x, y []byte) float32 {
	nb := n / 256
	x, y = x[:nb*210], y[:nb*q8KSize]
	var acc [8]float32
	for len(x) >= 210 && len(y) >= q8KSize {
		xb, yb := (*[210]byte)(x), (*[q8KSize]byte)(y)
		x, y = x[210:], y[q8KSize:]
		sc := (*[16]byte)(xb[192:208])

		var lanes [8]int32
		for h := range 2 {
			ql := (*[64]byte)(xb[64*h:])
			qh := (*[32]byte)(xb[128+32*h:])
			for r := range 4 { // runs of 32 elements within the half
				c := 4*h + r
				q8 := q8KGroup(yb, c)
				low := (*[32]byte)(ql[32*(r&1):])
				nshift := uint(4 * (r >> 1)) // low nibbles for runs 0, 1; high for 2, 3
				hshift := uint(2 * r)
				for l := range 8 {
					v := le32(low[4*l:])>>nshift&0x0f0f0f0f | (le32(qh[4*l:])>>hshift&0x03030303)<<4
					s := dot4s(uint32(subBytes(uint64(v), 32)), q8[4*l:]) // (q-32)·y
					lanes[l] += int32(int8(sc[2*c+l/4])) * s
				}
			}
		}
		d := q8KScale(yb) * f16(xb[208], xb[209])
		for l, s := range lanes {
			acc[l] = fma32(d, float32(s), acc[l])
		}
	}
	return hsum8(&acc)
}
