package ops

import "encoding/binary"

// Q3_K block (110 bytes): hmask[32] (the third bit), qs[64] (low two bits),
// scales[12] (sixteen 6-bit scales, offset by 32), d (f16). Element
// 128*k + 32*j + l (j < 4, l < 32) is ((qs[32*k+l] >> 2j) & 3) minus 4 unless
// bit 4k+j of hmask[l] is set, times d*(scale[8*k + 2*j + l/16] - 32).

// q3KScales unpacks the sixteen 6-bit Q3_K scales, minus their offset 32.
func q3KScales(b *[12]byte) [16]int32 {
	const kmask1, kmask2 = 0x03030303, 0x0f0f0f0f
	a0 := binary.LittleEndian.Uint32(b[0:4])
	a1 := binary.LittleEndian.Uint32(b[4:8])
	t := binary.LittleEndian.Uint32(b[8:12])
	w := [4]uint32{
		a0&kmask2 | (t>>0&kmask1)<<4,
		a1&kmask2 | (t>>2&kmask1)<<4,
		a0>>4&kmask2 | (t>>4&kmask1)<<4,
		a1>>4&kmask2 | (t>>6&kmask1)<<4,
	}
	var s [16]int32
	for i := range 16 {
		s[i] = int32(w[i/4]>>(8*(i%4))&0xff) - 32
	}
	return s
}

// vecDotQ3KQ8K is ggml_vec_dot_q3_K_q8_K as llama.cpp's AVX2 build
// computes it (for batches too). Canonical order, per block: lane l (l < 8)
// is the exact integer sum, over the eight runs r of 32 elements, of
// scale·Σ q·y over elements 32r+4l..32r+4l+3 (q the 3-bit weight less 4
// where its hmask bit is clear, the scale that of the run's first 16
// elements for l < 4 and of its second 16 for l >= 4, less 32);
// acc[l] = fma(d, float(lane), acc[l]) with d = d_y*d_w. The result is
// hsum8(acc).
func vecDotQ3KQ8K(n int, x, y []byte) float32 {
	nb := n / 256
	x, y = x[:nb*110], y[:nb*q8KSize]
	var acc [8]float32
	for len(x) >= 110 && len(y) >= q8KSize {
		xb, yb := (*[110]byte)(x), (*[q8KSize]byte)(y)
		x, y = x[110:], y[q8KSize:]
		sc := q3KScales((*[12]byte)(xb[96:108]))
		hm := (*[32]byte)(xb[0:32])

		var lanes [8]int32
		for r := range 8 { // runs of 32 elements
			q3 := (*[32]byte)(xb[32+32*(r/4):])
			q8 := q8KGroup(yb, r)
			shift, hshift := uint(2*(r%4)), uint(r)
			for l := range 8 {
				// 4 - 4*bit subtracted from the low two bits, byte by byte.
				v := le32(q3[4*l:])>>shift&0x03030303 | 0x80808080
				h := (le32(hm[4*l:]) >> hshift & 0x01010101) ^ 0x01010101
				lanes[l] += sc[2*r+l/4] * dot4s((v-4*h)^0x80808080, q8[4*l:])
			}
		}
		d := q8KScale(yb) * f16(xb[108], xb[109])
		for l, s := range lanes {
			acc[l] = fma32(d, float32(s), acc[l])
		}
	}
	return hsum8(&acc)
}
