package ops

import "encoding/binary"

// Q5_0 block (22 bytes): d (f16), qh (uint32: bit j is the fifth bit of
// element j), qs[16] (low nibbles as in Q4_0); element = d*(q - 16).
// Q5_1 block (24 bytes): d, m (f16), qh, qs[16]; element = d*q + m.

// vecDotQ5_0Q8_0 is ggml_vec_dot_q5_0_q8_0_generic.
func vecDotQ5_0Q8_0(n int, x, y []byte) float32 {
	nb := n / 32
	x, y = x[:nb*22], y[:nb*34]
	var sumf float32
	for len(x) >= 22 && len(y) >= 34 {
		xb, yb := (*[22]byte)(x), (*[34]byte)(y)
		x, y = x[22:], y[34:]
		qh := binary.LittleEndian.Uint32(xb[2:6])
		var s int32
		for j := 0; j < 16; j += 8 {
			q := le64(xb[6+j:])
			lo := q&bytes0f | spreadBits[uint8(qh>>j)]<<4
			hi := q>>4&bytes0f | spreadBits[uint8(qh>>(16+j))]<<4
			s += dot8s(subBytes(lo, 16), group8(yb[:], 2+j)) + dot8s(subBytes(hi, 16), group8(yb[:], 18+j))
		}
		dd := f16(xb[0], xb[1]) * f16(yb[0], yb[1])
		sumf += float32(dd * float32(s))
	}
	return sumf
}

// vecDotQ5_1Q8_1 is ggml_vec_dot_q5_1_q8_1_generic.
func vecDotQ5_1Q8_1(n int, x, y []byte) float32 {
	nb := n / 32
	x, y = x[:nb*24], y[:nb*36]
	var sumf float32
	for len(x) >= 24 && len(y) >= 36 {
		xb, yb := (*[24]byte)(x), (*[36]byte)(y)
		x, y = x[24:], y[36:]
		qh := binary.LittleEndian.Uint32(xb[4:8])
		var s int32
		for j := 0; j < 16; j += 8 {
			q := le64(xb[8+j:])
			lo := q&bytes0f | spreadBits[uint8(qh>>j)]<<4
			hi := q>>4&bytes0f | spreadBits[uint8(qh>>(16+j))]<<4
			s += dot8u(lo, group8(yb[:], 4+j)) + dot8u(hi, group8(yb[:], 20+j))
		}
		dd := f16(xb[0], xb[1]) * f16(yb[0], yb[1])
		sumf += float32(dd*float32(s)) + float32(f16(xb[2], xb[3])*f16(yb[2], yb[3]))
	}
	return sumf
}
