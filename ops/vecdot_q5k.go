package ops

// Q5_K block (176 bytes): d, dmin (f16), scales[12] (as Q4_K), qh[32] (the
// fifth bits: bit r of qh[l] belongs to element 32*r + l), qs[128] (low
// nibbles laid out as Q4_K).

// vecDotQ5KQ8K is ggml_vec_dot_q5_K_q8_K as llama.cpp's AVX2 build
// computes it (for batches too). Canonical order, per block:
//
//   - lane l (l < 8) is the exact integer sum, over the four 64-element
//     groups j, of scale[2j]·Σ q·y over elements 64j+4l..+3 plus
//     scale[2j+1]·Σ q·y over elements 64j+32+4l..+3 (q the 5-bit weight);
//     acc[l] = fma(d, float(lane), acc[l]) with d = d_y*d_w;
//   - the mins: the integer Σ_j min[j]·(bsum[2j]+bsum[2j+1]) is added to a
//     float running sum by summs = fma(dmin, float(that), summs) with
//     dmin = -d_y*dmin_w.
//
// The result is hsum8(acc) + summs.
func vecDotQ5KQ8K(n int, x, y []byte) float32 {
	nb := n / 256
	x, y = x[:nb*176], y[:nb*q8KSize]
	var acc [8]float32
	var summs float32
	for len(x) >= 176 && len(y) >= q8KSize {
		xb, yb := (*[176]byte)(x), (*[q8KSize]byte)(y)
		x, y = x[176:], y[q8KSize:]
		sc, mins := scaleMinK4((*[12]byte)(xb[4:16]))
		qh := (*[32]byte)(xb[16:48])
		yd := q8KScale(yb)
		d := yd * f16(xb[0], xb[1])
		dmin := -yd * f16(xb[2], xb[3])

		var smin int32
		for j := range 8 {
			smin += mins[j] * (q8KBsum(yb, 2*j) + q8KBsum(yb, 2*j+1))
		}
		summs = fma32(dmin, float32(smin), summs)

		var lanes [8]int32
		for j := range 4 {
			q4 := (*[32]byte)(xb[48+32*j:])
			qlo, qhi := q8KGroup(yb, 2*j), q8KGroup(yb, 2*j+1)
			slo, shi := uint(2*j), uint(2*j+1)
			for l := range 8 {
				v, h := le32(q4[4*l:]), le32(qh[4*l:])
				lo := v&0x0f0f0f0f | (h>>slo&0x01010101)<<4
				hi := v>>4&0x0f0f0f0f | (h>>shi&0x01010101)<<4
				lanes[l] += sc[2*j]*dot4u(lo, qlo[4*l:]) + sc[2*j+1]*dot4u(hi, qhi[4*l:])
			}
		}
		for l, s := range lanes {
			acc[l] = fma32(d, float32(s), acc[l])
		}
	}
	return hsum8(&acc) + summs
}
