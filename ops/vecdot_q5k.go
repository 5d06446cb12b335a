package ops

// Q5_K block (176 bytes): d, dmin (f16), scales[12] (as Q4_K), qh[32] (the
// fifth bits: bit r of qh[l] belongs to element 32*r + l), qs[128] (low
// nibbles laid out as Q4_K).

// vecDotQ5KQ8K is ggml_vec_dot_q5_K_q8_K_generic, arranged like
// vecDotQ4KQ8K.
func vecDotQ5KQ8K(n int, x, y []byte) float32 {
	nb := n / 256
	x, y = x[:nb*176], y[:nb*q8KSize]
	var sumf, sums float32
	for len(x) >= 176 && len(y) >= q8KSize {
		xb, yb := (*[176]byte)(x), (*[q8KSize]byte)(y)
		x, y = x[176:], y[q8KSize:]
		sc, mins := scaleMinK4((*[12]byte)(xb[4:16]))
		qh := (*[32]byte)(xb[16:48])

		var smin int32
		for j := range 8 {
			smin += (q8KBsum(yb, 2*j) + q8KBsum(yb, 2*j+1)) * mins[j]
		}
		var isum int32
		for j := range 4 {
			q4 := (*[32]byte)(xb[48+32*j:])
			qlo, qhi := q8KGroup(yb, 2*j), q8KGroup(yb, 2*j+1)
			slo, shi := uint(2*j), uint(2*j+1)
			var lo, hi int32
			for k := 0; k < 32; k += 8 {
				v, h := le64(q4[k:]), le64(qh[k:])
				lo += dot8u(v&bytes0f|(h>>slo&bytes01)<<4, group8(qlo[:], k))
				hi += dot8u(v>>4&bytes0f|(h>>shi&bytes01)<<4, group8(qhi[:], k))
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
