package ops

// Q4_K block (144 bytes): d, dmin (f16), scales[12] (eight 6-bit scale/min
// pairs), qs[128]. Element 64*j + l (l < 32) is qs[32*j+l]&15 and element
// 64*j + 32 + l is qs[32*j+l]>>4; run r of 32 elements is
// d*scale[r]*q - dmin*min[r].

// vecDotQ4KQ8K is ggml_vec_dot_q4_K_q8_K_generic: mins through Q8_K's bsums,
// scales inside the integer sum, and (as ggml) the min terms accumulated
// apart from the scale terms until the end.
func vecDotQ4KQ8K(n int, x, y []byte) float32 {
	nb := n / 256
	x, y = x[:nb*144], y[:nb*q8KSize]
	var sumf, sums float32
	for len(x) >= 144 && len(y) >= q8KSize {
		xb, yb := (*[144]byte)(x), (*[q8KSize]byte)(y)
		x, y = x[144:], y[q8KSize:]
		sc, mins := scaleMinK4((*[12]byte)(xb[4:16]))

		var smin int32
		for j := range 8 {
			smin += (q8KBsum(yb, 2*j) + q8KBsum(yb, 2*j+1)) * mins[j]
		}
		var isum int32
		for j := range 4 {
			q4 := (*[32]byte)(xb[16+32*j:])
			qlo, qhi := q8KGroup(yb, 2*j), q8KGroup(yb, 2*j+1)
			var lo, hi int32
			for k := 0; k < 32; k += 8 {
				v := le64(q4[k:])
				lo += dot8u(v&bytes0f, group8(qlo[:], k))
				hi += dot8u(v>>4&bytes0f, group8(qhi[:], k))
			}
			isum += sc[2*j]*lo + sc[2*j+1]*hi
		}
		yd := q8KScale(yb)
		d := f16(xb[0], xb[1]) * yd
		dmin := f16(xb[2], xb[3]) * yd
		sums += float32(d * float32(isum))
		sumf -= float32(dmin * float32(smin))
	}
	return sumf + sums
}
