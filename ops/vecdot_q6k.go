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

// vecDotQ6KQ8K is ggml_vec_dot_q6_K_q8_K_generic with the whole block's
// integer sum scaled once. The weights are summed without their offset -32,
// which comes back as -32 times Q8_K's bsums (one per 16 elements, like the
// scales).
func vecDotQ6KQ8K(n int, x, y []byte) float32 {
	nb := n / 256
	x, y = x[:nb*210], y[:nb*q8KSize]
	var sumf float32
	for len(x) >= 210 && len(y) >= q8KSize {
		xb, yb := (*[210]byte)(x), (*[q8KSize]byte)(y)
		x, y = x[210:], y[q8KSize:]
		sc := (*[16]byte)(xb[192:208])

		var isum int32
		for h := range 2 {
			ql := (*[64]byte)(xb[64*h:])
			qh := (*[32]byte)(xb[128+32*h:])
			for r := range 4 { // runs of 32 elements within the half
				q8 := q8KGroup(yb, 4*h+r)
				low := (*[32]byte)(ql[32*(r&1):])
				nshift := uint(4 * (r >> 1)) // low nibbles for runs 0, 1; high for 2, 3
				hshift := uint(2 * r)
				var part [4]int32
				for k := range 4 {
					v := le64(low[8*k:])>>nshift&bytes0f | (le64(qh[8*k:])>>hshift&bytes03)<<4
					part[k] = dot8u(v, group8(q8[:], 8*k))
				}
				j := 8*h + 2*r
				isum += int32(int8(sc[j]))*(part[0]+part[1]-32*q8KBsum(yb, j)) +
					int32(int8(sc[j+1]))*(part[2]+part[3]-32*q8KBsum(yb, j+1))
			}
		}
		d := f16(xb[208], xb[209]) * q8KScale(yb)
		sumf += float32(d * float32(isum))
	}
	return sumf
}
