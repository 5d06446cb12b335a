package ops

// Q2_K block (84 bytes): scales[16] (low nibble: scale, high nibble: min of
// each 16 elements), qs[64] (2-bit values, four per byte), d, dmin (f16).
// Element = d*scale*q - dmin*min. Element 128*k + 32*j + l (j < 4, l < 32)
// is bits 2j..2j+1 of qs[32*k + l] and uses scales[8*k + 2*j + l/16].

// vecDotQ2KQ8K is ggml_vec_dot_q2_K_q8_K_generic: the mins meet the
// activations through Q8_K's bsums, the scales inside the integer sum.
func vecDotQ2KQ8K(n int, x, y []byte) float32 {
	nb := n / 256
	x, y = x[:nb*84], y[:nb*q8KSize]
	var sumf float32
	for len(x) >= 84 && len(y) >= q8KSize {
		xb, yb := (*[84]byte)(x), (*[q8KSize]byte)(y)
		x, y = x[84:], y[q8KSize:]
		var summs int32
		for j := range 16 {
			summs += q8KBsum(yb, j) * int32(xb[j]>>4)
		}
		var isum int32
		for g := range 8 { // runs of 32 elements
			q2 := (*[32]byte)(xb[16+32*(g/4):])
			q8 := q8KGroup(yb, g)
			shift := uint(2 * (g % 4))
			lo := dot8u(le64(q2[0:])>>shift&bytes03, group8(q8[:], 0)) +
				dot8u(le64(q2[8:])>>shift&bytes03, group8(q8[:], 8))
			hi := dot8u(le64(q2[16:])>>shift&bytes03, group8(q8[:], 16)) +
				dot8u(le64(q2[24:])>>shift&bytes03, group8(q8[:], 24))
			isum += int32(xb[2*g]&0x0f)*lo + int32(xb[2*g+1]&0x0f)*hi
		}
		yd := q8KScale(yb)
		dall := yd * f16(xb[80], xb[81])
		dmin := yd * f16(xb[82], xb[83])
		sumf += float32(dall*float32(isum)) - float32(dmin*float32(summs))
	}
	return sumf
}
