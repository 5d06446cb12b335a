package ops

// Q4_K block (144 bytes): d, dmin (f16), scales[12] (eight 6-bit scale/min
// pairs), qs[128]. Element 64*j + l (l < 32) is qs[32*j+l]&15 and element
// 64*j + 32 + l is qs[32*j+l]>>4; run r of 32 elements is
// d*scale[r]*q - dmin*min[r].

// vecDotQ4KQ8K is ggml_vec_dot_q4_K_q8_K as llama.cpp's AVX2 build computes
// it (at commit c392e509 Q4_K weights are not repacked on x86, and
// llamafile's tinyBLAS does not take K-quants, so batches use it too).
// Canonical order, per block:
//
//   - lane l (l < 8) is the exact integer sum, over the four 64-element
//     groups j, of scale[2j]·Σ q·y over the low-nibble elements 64j+4l..+3
//     plus scale[2j+1]·Σ q·y over the high-nibble elements 64j+32+4l..+3;
//     acc[l] = fma(d, float(lane l), acc[l]) with d = d_y*d_w;
//   - min lane m (m < 4) is the integer min[2m]·(bsum[4m]+bsum[4m+1]) +
//     min[2m+1]·(bsum[4m+2]+bsum[4m+3]); accMin[m] = fma(dmin, float(min lane
//     m), accMin[m]) with dmin = -(d_y*dmin_w).
//
// The result is hsum8(acc) + ((accMin0+accMin2) + (accMin1+accMin3)).
func vecDotQ4KQ8K(n int, x, y []byte) float32 {
	nb := n / 256
	x, y = x[:nb*144], y[:nb*q8KSize]
	var acc [8]float32
	var accMin [4]float32
	for len(x) >= 144 && len(y) >= q8KSize {
		xb, yb := (*[144]byte)(x), (*[q8KSize]byte)(y)
		x, y = x[144:], y[q8KSize:]
		sc, mins := scaleMinK4((*[12]byte)(xb[4:16]))

		var lanes [8]int32
		for j := range 4 {
			q4 := (*[32]byte)(xb[16+32*j:])
			qlo, qhi := q8KGroup(yb, 2*j), q8KGroup(yb, 2*j+1)
			for l := 0; l < 8; l += 2 {
				w := le64(q4[4*l:])
				lo, hi := w&bytes0f, w>>4&bytes0f
				lanes[l] += sc[2*j]*dot4u(uint32(lo), qlo[4*l:]) + sc[2*j+1]*dot4u(uint32(hi), qhi[4*l:])
				lanes[l+1] += sc[2*j]*dot4u(uint32(lo>>32), qlo[4*l+4:]) + sc[2*j+1]*dot4u(uint32(hi>>32), qhi[4*l+4:])
			}
		}
		yd := q8KScale(yb)
		d := yd * f16(xb[0], xb[1])
		dmin := -(yd * f16(xb[2], xb[3]))
		for m := range 4 {
			p := mins[2*m]*(q8KBsum(yb, 4*m)+q8KBsum(yb, 4*m+1)) +
				mins[2*m+1]*(q8KBsum(yb, 4*m+2)+q8KBsum(yb, 4*m+3))
			accMin[m] = fma32(dmin, float32(p), accMin[m])
		}
		for l, s := range lanes {
			acc[l] = fma32(d, float32(s), acc[l])
		}
	}
	return hsum8(&acc) + ((accMin[0] + accMin[2]) + (accMin[1] + accMin[3]))
}
