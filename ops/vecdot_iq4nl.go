package ops

// kvaluesIQ4NL is ggml's kvalues_iq4nl: the 16 non-uniform levels an IQ4_NL
// nibble indexes.
var kvaluesIQ4NL = [16]int32{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}

// IQ4_NL block (18 bytes): d (f16), qs[16]; element j is
// d*kvalues[qs[j]&15], element j+16 is d*kvalues[qs[j]>>4].

// vecDotIQ4NLQ8_0 is ggml_vec_dot_iq4_nl_q8_0_generic.
func vecDotIQ4NLQ8_0(n int, x, y []byte) float32 {
	nb := n / 32
	x, y = x[:nb*18], y[:nb*34]
	kv := &kvaluesIQ4NL
	var sumf float32
	for len(x) >= 18 && len(y) >= 34 {
		xb, yb := (*[18]byte)(x), (*[34]byte)(y)
		x, y = x[18:], y[34:]
		var s int32
		for j := 0; j < 16; j += 4 {
			q := (*[4]byte)(xb[2+j : 6+j])
			lo := (*[4]byte)(yb[2+j : 6+j])
			hi := (*[4]byte)(yb[18+j : 22+j])
			s += kv[q[0]&15]*int32(int8(lo[0])) + kv[q[0]>>4]*int32(int8(hi[0])) +
				kv[q[1]&15]*int32(int8(lo[1])) + kv[q[1]>>4]*int32(int8(hi[1])) +
				kv[q[2]&15]*int32(int8(lo[2])) + kv[q[2]>>4]*int32(int8(hi[2])) +
				kv[q[3]&15]*int32(int8(lo[3])) + kv[q[3]>>4]*int32(int8(hi[3]))
		}
		d := f16(yb[0], yb[1]) * f16(xb[0], xb[1])
		sumf += float32(d * float32(s))
	}
	return sumf
}
