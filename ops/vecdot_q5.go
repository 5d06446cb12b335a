package ops

import "encoding/binary"

// Q5_0 block (22 bytes): d (f16), qh (uint32: bit j is the fifth bit of
// element j), qs[16] (low nibbles as in Q4_0); element = d*(q - 16).
// Q5_1 block (24 bytes): d, m (f16), qh, qs[16]; element = d*q + m.

// q5Lanes returns the 5-bit weights of one Q5 block as eight lanes of four
// bytes, lane l holding elements 4l..4l+3 (elements 0..15 the low nibbles
// of qs with bits 0..15 of qh on top, 16..31 the high nibbles with bits
// 16..31), each byte the weight q (0..31), less sub.
func q5Lanes(qs *[16]byte, qh uint32, sub uint64) (lanes [8]uint32) {
	for j := 0; j < 16; j += 8 {
		q := le64(qs[j:])
		lo := subBytes(q&bytes0f|spreadBits[uint8(qh>>j)]<<4, sub)
		hi := subBytes(q>>4&bytes0f|spreadBits[uint8(qh>>(16+j))]<<4, sub)
		lanes[j/4], lanes[j/4+1] = uint32(lo), uint32(lo>>32)
		lanes[4+j/4], lanes[4+j/4+1] = uint32(hi), uint32(hi>>32)
	}
	return lanes
}

// vecDotQ5_0Q8_0 is ggml_vec_dot_q5_0_q8_0 as llama.cpp's AVX2 build
// computes it (tinyBLAS_Q0_AVX adds in the same order for batches).
// Canonical order: vecDotQ8_0Q8_0's, with the weights q-16 — per block, lane
// l (l < 8) the exact integer sum over elements 4l..4l+3 (see q5Lanes),
// accumulated into float lane l with a fused multiply-add by d_w*d_x; the
// lanes added by hsum8 at the end.
func vecDotQ5_0Q8_0(n int, x, y []byte) float32 {
	nb := n / 32
	x, y = x[:nb*22], y[:nb*34]
	var acc [8]float32
	for len(x) >= 22 && len(y) >= 34 {
		xb, yb := (*[22]byte)(x), (*[34]byte)(y)
		x, y = x[22:], y[34:]
		d := f16(xb[0], xb[1]) * f16(yb[0], yb[1])
		lanes := q5Lanes((*[16]byte)(xb[6:22]), binary.LittleEndian.Uint32(xb[2:6]), 16)
		for l, v := range lanes {
			acc[l] = fma32(d, float32(dot4s(v, yb[2+4*l:])), acc[l])
		}
	}
	return hsum8(&acc)
}

// vecDotQ5_1Q8_1 is ggml_vec_dot_q5_1_q8_1 as llama.cpp's AVX2 build
// computes it: vecDotQ4_1Q8_1's order with the 5-bit weights of q5Lanes
// (q unsigned, 0..31): hsum8 of the lanes, each block added by a fused
// multiply-add by d_w*d_y, plus the running sum of m*s.
func vecDotQ5_1Q8_1(n int, x, y []byte) float32 {
	nb := n / 32
	x, y = x[:nb*24], y[:nb*36]
	var acc [8]float32
	var summs float32
	for len(x) >= 24 && len(y) >= 36 {
		xb, yb := (*[24]byte)(x), (*[36]byte)(y)
		x, y = x[24:], y[36:]
		d := f16(xb[0], xb[1]) * f16(yb[0], yb[1])
		summs += f16(xb[2], xb[3]) * f16(yb[2], yb[3]) // exact product: fused or not
		lanes := q5Lanes((*[16]byte)(xb[8:24]), binary.LittleEndian.Uint32(xb[4:8]), 0)
		for l, v := range lanes {
			acc[l] = fma32(d, float32(dot4u(v, yb[4+4*l:])), acc[l])
		}
	}
	return hsum8(&acc) + summs
}
