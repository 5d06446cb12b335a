package quant

import "encoding/binary"

// Q5_K block, 176 bytes for 256 values in 8 groups of 32:
//
//	d      f16        super-block scale of the group scales
//	dmin   f16        super-block scale of the group mins
//	scales [12]uint8  8 6-bit scales and 8 6-bit mins; see getScaleMinK4
//	qh     [32]uint8  fifth bit of each quant: value e in bit e/32 of byte e%32
//	qs     [128]uint8 low 4 bits, laid out as in Q4_K
//
// value = d*scale*q - dmin*min.
const q5KBlockBytes = 176

// DequantizeQ5K expands Q5_K blocks from src into dst (len(dst)/256 blocks).
func DequantizeQ5K(dst []float32, src []byte) {
	for b := range len(dst) / qkK {
		blk := src[b*q5KBlockBytes : (b+1)*q5KBlockBytes]
		y := dst[b*qkK : (b+1)*qkK]
		d := F16ToF32(binary.LittleEndian.Uint16(blk[0:]))
		dmin := F16ToF32(binary.LittleEndian.Uint16(blk[2:]))
		scales, qh, qs := blk[4:16], blk[16:48], blk[48:176]
		for j := range 4 {
			sc, m := getScaleMinK4(2*j, scales)
			d1, m1 := d*float32(sc), float32(dmin*float32(m))
			sc, m = getScaleMinK4(2*j+1, scales)
			d2, m2 := d*float32(sc), float32(dmin*float32(m))
			q := qs[32*j : 32*j+32]
			out := y[64*j : 64*j+64]
			for l := range 32 {
				q1 := q[l]&0xF | (qh[l]>>(2*j)&1)<<4
				q2 := q[l]>>4 | (qh[l]>>(2*j+1)&1)<<4
				out[l] = float32(d1*float32(q1)) - m1
				out[l+32] = float32(d2*float32(q2)) - m2
			}
		}
	}
}

// QuantizeQ5K is ggml's quantize_row_q5_K_ref.
func QuantizeQ5K(dst []byte, src []float32) {
	var L [qkK]uint8
	for b := range len(src) / qkK {
		x := src[b*qkK : (b+1)*qkK]
		blk := dst[b*q5KBlockBytes : (b+1)*q5KBlockBytes]
		d, dmin := quantizeKScalesMins(blk[4:16], x, &L, 31, -0.5, 0.1, 15)
		binary.LittleEndian.PutUint16(blk[0:], d)
		binary.LittleEndian.PutUint16(blk[2:], dmin)
		qh, qs := blk[16:48], blk[48:176]
		clear(qh)
		for j := 0; j < qkK; j += 64 {
			m1, m2 := uint8(1)<<(j/32), uint8(2)<<(j/32)
			for l := range 32 {
				l1, l2 := L[j+l], L[j+l+32]
				if l1 > 15 {
					l1 -= 16
					qh[l] |= m1
				}
				if l2 > 15 {
					l2 -= 16
					qh[l] |= m2
				}
				qs[j/2+l] = l1 | l2<<4
			}
		}
	}
}
