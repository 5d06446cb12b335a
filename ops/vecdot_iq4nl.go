package ops

// kvaluesIQ4NL is ggml's kvalues_iq4nl: the 16 non-uniform levels an IQ4_NL
// nibble indexes.
var kvaluesIQ4NL = [16]int32{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}

// IQ4_NL block (18 bytes): d (f16), qs[16]; element j is
// d*kvalues[qs[j]&15], element j+16 is d*kvalues[qs[j]>>4].

// iq4nlLanes adds the exact integer sums of one IQ4_NL block against a
// Q8_0 block, lane l (l < 8) over elements 4l..4l+3 (0..15 the low nibbles,
// 16..31 the high ones), to acc with a fused multiply-add by d each.
func iq4nlLanes(acc *[8]float32, d float32, xb *[18]byte, yb *[34]byte) {
	kv := &kvaluesIQ4NL
	for l := range 4 {
		q := (*[4]byte)(xb[2+4*l : 6+4*l])
		lo := (*[4]byte)(yb[2+4*l : 6+4*l])
		hi := (*[4]byte)(yb[18+4*l : 22+4*l])
		sl := kv[q[0]&15]*int32(int8(lo[0])) + kv[q[1]&15]*int32(int8(lo[1])) +
			kv[q[2]&15]*int32(int8(lo[2])) + kv[q[3]&15]*int32(int8(lo[3]))
		sh := kv[q[0]>>4]*int32(int8(hi[0])) + kv[q[1]>>4]*int32(int8(hi[1])) +
			kv[q[2]>>4]*int32(int8(hi[2])) + kv[q[3]>>4]*int32(int8(hi[3]))
		acc[l] = fma32(d, float32(sl), acc[l])
		acc[4+l] = fma32(d, float32(sh), acc[4+l])
	}
}

// vecDotIQ4NLQ8_0 is ggml_vec_dot_iq4_nl_q8_0 as llama.cpp's AVX2 build
// computes it. Canonical order: blocks in pairs, the first of each pair
// into eight float lanes acc1, the second into acc2 (iq4nlLanes: lane l the
// exact integer sum over elements 4l..4l+3, added with a fused multiply-add
// by d_y*d_w); then hsum8 of acc1+acc2 (added lane by lane); a last block
// without a pair adds its whole integer sum s by sum = fma(d, s, sum).
func vecDotIQ4NLQ8_0(n int, x, y []byte) float32 {
	nb := n / 32
	x, y = x[:nb*18], y[:nb*34]
	var acc1, acc2 [8]float32
	for len(x) >= 36 && len(y) >= 68 {
		iq4nlLanes(&acc1, f16(y[0], y[1])*f16(x[0], x[1]), (*[18]byte)(x), (*[34]byte)(y))
		iq4nlLanes(&acc2, f16(y[34], y[35])*f16(x[18], x[19]), (*[18]byte)(x[18:]), (*[34]byte)(y[34:]))
		x, y = x[36:], y[68:]
	}
	for l := range acc1 {
		acc1[l] += acc2[l]
	}
	sumf := hsum8(&acc1)
	if len(x) >= 18 && len(y) >= 34 {
		kv := &kvaluesIQ4NL
		var s int32
		for j := range 16 {
			s += int32(int8(y[2+j]))*kv[x[2+j]&15] + int32(int8(y[18+j]))*kv[x[2+j]>>4]
		}
		sumf = fma32(f16(y[0], y[1])*f16(x[0], x[1]), float32(s), sumf)
	}
	return sumf
}

// vecDotIQ4NLQ8_0Batch is the dot product of llamafile's tinyBLAS_Q0_AVX,
// which llama.cpp's x86 build uses for IQ4_NL batches: vecDotQ8_0Q8_0's
// order with the IQ4_NL levels — one set of eight float lanes over all the
// blocks in order (iq4nlLanes), then hsum8.
func vecDotIQ4NLQ8_0Batch(n int, x, y []byte) float32 {
	nb := n / 32
	x, y = x[:nb*18], y[:nb*34]
	var acc [8]float32
	for len(x) >= 18 && len(y) >= 34 {
		iq4nlLanes(&acc, f16(y[0], y[1])*f16(x[0], x[1]), (*[18]byte)(x), (*[34]byte)(y))
		x, y = x[18:], y[34:]
	}
	return hsum8(&acc)
}
