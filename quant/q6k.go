package quant

import "encoding/binary"

// Q6_K block, 210 bytes for 256 values in 16 groups of 16:
//
//	ql     [128]uint8 low 4 bits: each 128 values take 64 bytes, values l and
//	                  l+64 in the low/high nibble of byte l, values l+32 and
//	                  l+96 in those of byte l+32 (l < 32)
//	qh     [64]uint8  high 2 bits: each 128 values take 32 bytes, value
//	                  l+32*k in bits 2k..2k+1 of byte l
//	scales [16]int8   group scales
//	d      f16        super-block scale
//
// value = d*scale*(q-32).
const q6KBlockBytes = 210

// DequantizeQ6K expands Q6_K blocks from src into dst (len(dst)/256 blocks).
func DequantizeQ6K(dst []float32, src []byte) {
	for b := range len(dst) / qkK {
		blk := src[b*q6KBlockBytes : (b+1)*q6KBlockBytes]
		d := F16ToF32(binary.LittleEndian.Uint16(blk[208:]))
		for half := range 2 {
			ql := blk[64*half : 64*half+64]
			qh := blk[128+32*half : 128+32*half+32]
			sc := blk[192+8*half : 192+8*half+8]
			y := dst[b*qkK+128*half : b*qkK+128*half+128]
			for l := range 32 {
				is := l / 16
				q1 := int32(ql[l]&0xF|(qh[l]>>0&3)<<4) - 32
				q2 := int32(ql[l+32]&0xF|(qh[l]>>2&3)<<4) - 32
				q3 := int32(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
				q4 := int32(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
				// ggml multiplies left to right: (d*scale)*q.
				y[l] = d * float32(int8(sc[is])) * float32(q1)
				y[l+32] = d * float32(int8(sc[is+2])) * float32(q2)
				y[l+64] = d * float32(int8(sc[is+4])) * float32(q3)
				y[l+96] = d * float32(int8(sc[is+6])) * float32(q4)
			}
		}
	}
}

// QuantizeQ6K is ggml's quantize_row_q6_K_ref.
func QuantizeQ6K(dst []byte, src []float32) {
	var (
		L      [qkK]int8
		scales [16]float32
	)
	for b := range len(src) / qkK {
		x := src[b*qkK : (b+1)*qkK]
		blk := dst[b*q6KBlockBytes : (b+1)*q6KBlockBytes]

		var maxScale, maxAbsScale float32
		for j := range 16 {
			scales[j] = makeQXQuants(32, x[16*j:16*j+16], L[16*j:16*j+16], nil)
			if s := absf(scales[j]); s > maxAbsScale {
				maxAbsScale, maxScale = s, scales[j]
			}
		}
		if maxAbsScale < groupMaxEps {
			clear(blk)
			continue
		}

		iscale := -128 / maxScale
		d := F32ToF16(1 / iscale)
		binary.LittleEndian.PutUint16(blk[208:], d)
		bScales := blk[192:208]
		for j := range 16 {
			bScales[j] = uint8(int8(min(127, nearestInt(iscale*scales[j]))))
		}

		// Requantize against the scales as stored (int8, f16).
		df := F16ToF32(d)
		for j := range 16 {
			dl := df * float32(int8(bScales[j]))
			if dl == 0 {
				continue
			}
			for i, v := range x[16*j : 16*j+16] {
				L[16*j+i] = int8(clampInt(nearestInt(v/dl), -32, 31) + 32)
			}
		}

		for half := range 2 {
			ql := blk[64*half : 64*half+64]
			qh := blk[128+32*half : 128+32*half+32]
			Lh := L[128*half : 128*half+128]
			for l := range 32 {
				v0, v1, v2, v3 := uint8(Lh[l]), uint8(Lh[l+32]), uint8(Lh[l+64]), uint8(Lh[l+96])
				ql[l] = v0&0xF | (v2&0xF)<<4
				ql[l+32] = v1&0xF | (v3&0xF)<<4
				qh[l] = v0>>4 | (v1>>4)<<2 | (v2>>4)<<4 | (v3>>4)<<6
			}
		}
	}
}
