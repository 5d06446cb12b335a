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

// vecDotQ3KQ8K is ggml_vec_dot_q3_K_q8_K_generic with the whole block's
// integer sum scaled once. The weights are summed without their offset -4,
// which comes back as -4 times Q8_K's bsums (one per 16 elements, like the
// scales).
func vecDotQ3KQ8K(n int, x, y []byte) float32 {
	nb := n / 256
	x, y = x[:nb*110], y[:nb*q8KSize]
	var sumf float32
	for len(x) >= 110 && len(y) >= q8KSize {
		xb, yb := (*[110]byte)(x), (*[q8KSize]byte)(y)
		x, y = x[110:], y[q8KSize:]
		sc := q3KScales((*[12]byte)(xb[96:108]))
		hm := (*[32]byte)(xb[0:32])

		var isum int32
		for g := range 8 { // runs of 32 elements
			q3 := (*[32]byte)(xb[32+32*(g/4):])
			q8 := q8KGroup(yb, g)
			shift, hshift := uint(2*(g%4)), uint(g)
			var part [4]int32
			for k := range 4 {
				v := le64(q3[8*k:])>>shift&bytes03 | (le64(hm[8*k:])>>hshift&bytes01)<<2
				part[k] = dot8u(v, group8(q8[:], 8*k))
			}
			isum += sc[2*g]*(part[0]+part[1]-4*q8KBsum(yb, 2*g)) +
				sc[2*g+1]*(part[2]+part[3]-4*q8KBsum(yb, 2*g+1))
		}
		d := f16(xb[108], xb[109]) * q8KScale(yb)
		sumf += float32(d * float32(isum))
	}
	return sumf
}
