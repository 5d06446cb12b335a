package ops

// Q2_K block (84 bytes): scales[16] (low nibble: scale, high nibble: min of
// each 16 elements), qs[64] (2-bit values, four per byte), d, dmin (f16).
// Element = d*scale*q - dmin*min. Element 128*k + 32*j + l (j < 4, l < 32)
// is bits 2j..2j+1 of qs[32*k + l] and uses scales[8*k + 2*j + l/16].

// vecDotQ2KQ8K is ggml_vec_dot_q2_K_q8_K as llama.cpp's AVX2 build
// computes it (for batches too: no tinyBLAS for K-quants). Canonical
// order, per block, in eight float lanes:
//
//   - min lane l (l < 8) is the integer min[2l]·bsum[2l] +
//     min[2l+1]·bsum[2l+1]; acc[l] = fma(dmin, float(min lane), acc[l]) with
//     dmin = -d_y*dmin_w;
//   - then lane l is the exact integer sum, over the eight runs r of 32
//     elements, of scale·Σ q·y over elements 32r+4l..32r+4l+3, the scale
//     that of the run's first 16 elements for l < 4 and of its second 16
//     for l >= 4; acc[l] = fma(d, float(lane), acc[l]) with d = d_y*d_w.
//
// The result is hsum8(acc).
func vecDotQ2KQ8K(n int, x, y []byte) float32 {
	nb := n / 256
	x, y = x[:nb*84], y[:nb*q8KSize]
	var acc [8]float32
	for len(x) >= 84 && len(y) >= q8KSize {
		xb, yb := (*[84]byte)(x), (*[q8KSize]byte)(y)
		x, y = x[84:], y[q8KSize:]
		yd := q8KScale(yb)
		d := yd * f16(xb[80], xb[81])
		dmin := -yd * f16(xb[82], xb[83])
		for l := range 8 {
			p := int32(xb[2*l]>>4)*q8KBsum(yb, 2*l) + int32(xb[2*l+1]>>4)*q8KBsum(yb, 2*l+1)
			acc[l] = fma32(dmin, float32(p), acc[l])
		}
		var lanes [8]int32
		for r := range 8 { // runs of 32 elements
			q2 := (*[32]byte)(xb[16+32*(r/4):])
			q8 := q8KGroup(yb, r)
			shift := uint(2 * (r % 4))
			for l := range 8 {
				v := le32(q2[4*l:]) >> shift & 0x03030303
				lanes[l] += int32(xb[2*r+l/4]&0x0f) * dot4u(v, q8[4*l:])
			}
		}
		for l, s := range lanes {
			acc[l] = fma32(d, float32(s), acc[l])
		}
	}
	return hsum8(&acc)
}
