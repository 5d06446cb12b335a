package quant

import "encoding/binary"

// Q2_K block, 84 bytes for 256 values in 16 groups of 16:
//
//	scales [16]uint8  group scale (low nibble) and min (high nibble), 4 bits each
//	qs     [64]uint8  2-bit quants; see packQ2Bits
//	d      f16        super-block scale of the group scales
//	dmin   f16        super-block scale of the group mins
//
// value = d*scale*q - dmin*min.
const q2KBlockBytes = 84

// DequantizeQ2K expands Q2_K blocks from src into dst (len(dst)/256 blocks).
func DequantizeQ2K(dst []float32, src []byte) {
	for b := range len(dst) / qkK {
		blk := src[b*q2KBlockBytes : (b+1)*q2KBlockBytes]
		y := dst[b*qkK : (b+1)*qkK]
		scales, qs := blk[0:16], blk[16:80]
		d := F16ToF32(binary.LittleEndian.Uint16(blk[80:]))
		dmin := F16ToF32(binary.LittleEndian.Uint16(blk[82:]))
		// Group g = 8*half + 2*j + k (16 values) sits in bits 2j..2j+1 of
		// bytes 32*half + 16*k ... +15.
		for half := range 2 {
			for j := range 4 {
				for k := range 2 {
					g := 8*half + 2*j + k
					sc := scales[g]
					dl := d * float32(sc&0xF)
					ml := float32(dmin * float32(sc>>4))
					q := qs[32*half+16*k : 32*half+16*k+16]
					out := y[16*g : 16*g+16]
					for l := range 16 {
						out[l] = float32(dl*float32(q[l]>>(2*j)&3)) - ml
					}
				}
			}
		}
	}
}

// QuantizeQ2K is ggml's quantize_row_q2_K_ref.
func QuantizeQ2K(dst []byte, src []float32) {
	const q4scale = 15
	var (
		L       [qkK]uint8
		laux    [16]uint8
		weights [16]float32
		mins    [16]float32
		scales  [16]float32
	)
	for b := range len(src) / qkK {
		x := src[b*qkK : (b+1)*qkK]
		blk := dst[b*q2KBlockBytes : (b+1)*q2KBlockBytes]
		bScales, qs := blk[0:16], blk[16:80]

		var maxScale, maxMin float32
		for j := range 16 {
			xs := x[16*j : 16*j+16]
			for l, v := range xs {
				weights[l] = absf(v)
			}
			scales[j], mins[j] = makeQKX2Quants(3, xs, weights[:], L[16*j:16*j+16], laux[:], -0.5, 0.1, 15, true)
			if scales[j] > maxScale {
				maxScale = scales[j]
			}
			if mins[j] > maxMin {
				maxMin = mins[j]
			}
		}

		var d, dmin uint16
		if maxScale > 0 {
			iscale := q4scale / maxScale
			for j := range 16 {
				bScales[j] = uint8(nearestInt(iscale * scales[j]))
			}
			d = F32ToF16(maxScale / q4scale)
		} else {
			clear(bScales)
		}
		if maxMin > 0 {
			iscale := q4scale / maxMin
			for j := range 16 {
				bScales[j] |= uint8(nearestInt(iscale*mins[j]) << 4)
			}
			dmin = F32ToF16(maxMin / q4scale)
		}
		binary.LittleEndian.PutUint16(blk[80:], d)
		binary.LittleEndian.PutUint16(blk[82:], dmin)

		// Requantize against the scales as stored (4-bit, f16).
		df, dminf := F16ToF32(d), F16ToF32(dmin)
		for j := range 16 {
			dl := df * float32(bScales[j]&0xF)
			if dl == 0 {
				continue
			}
			ml := float32(dminf * float32(bScales[j]>>4))
			for i, v := range x[16*j : 16*j+16] {
				L[16*j+i] = uint8(clampInt(nearestInt((v+ml)/dl), 0, 3))
			}
		}
		packQ2Bits(qs, &L)
	}
}
