package ops

// Q4_0 block (18 bytes): d (f16), qs[16]: element j is qs[j]&15 - 8 and
// element j+16 is qs[j]>>4 - 8, times d.
// Q4_1 block (20 bytes): d, m (f16), qs[16]: element = d*nibble + m.
// Q8_0 block (34 bytes): d (f16), qs[32] (int8).
// Q8_1 block (36 bytes): d, s (f16; s = d*sum(qs)), qs[32] (int8).

// vecDotQ4_0Q8_0 is ggml_vec_dot_q4_0_q8_0_generic: an integer sum per
// block, scaled by both block scales.
func vecDotQ4_0Q8_0(n int, x, y []byte) float32 {
	nb := n / 32
	x, y = x[:nb*18], y[:nb*34]
	var sumf float32
	for len(x) >= 18 && len(y) >= 34 {
		xb, yb := (*[18]byte)(x), (*[34]byte)(y)
		x, y = x[18:], y[34:]
		var s int32
		for j := 0; j < 16; j += 8 {
			q := le64(xb[2+j:])
			s += dot8s(subBytes(q&bytes0f, 8), group8(yb[:], 2+j)) +
				dot8s(subBytes(q>>4&bytes0f, 8), group8(yb[:], 18+j))
		}
		sumf += float32(float32(s) * f16(xb[0], xb[1]) * f16(yb[0], yb[1]))
	}
	return sumf
}

// vecDotQ4_1Q8_1 is ggml_vec_dot_q4_1_q8_1_generic: the block minimum m
// meets the activation sum through Q8_1's precomputed s.
func vecDotQ4_1Q8_1(n int, x, y []byte) float32 {
	nb := n / 32
	x, y = x[:nb*20], y[:nb*36]
	var sumf float32
	for len(x) >= 20 && len(y) >= 36 {
		xb, yb := (*[20]byte)(x), (*[36]byte)(y)
		x, y = x[20:], y[36:]
		var s int32
		for j := 0; j < 16; j += 8 {
			q := le64(xb[4+j:])
			s += dot8u(q&bytes0f, group8(yb[:], 4+j)) + dot8u(q>>4&bytes0f, group8(yb[:], 20+j))
		}
		dd := f16(xb[0], xb[1]) * f16(yb[0], yb[1])
		sumf += float32(dd*float32(s)) + float32(f16(xb[2], xb[3])*f16(yb[2], yb[3]))
	}
	return sumf
}
