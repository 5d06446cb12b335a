package quant

import "encoding/binary"

// Q3_K block, 110 bytes for 256 values in 16 groups of 16:
//
//	hmask  [32]uint8  high (third) bit of each quant: value e in bit e/32 of byte e%32
//	qs     [64]uint8  low 2 bits of each quant; see packQ2Bits
//	scales [12]uint8  16 signed 6-bit group scales, biased by 32; see q3KScale
//	d      f16        super-block scale
//
// value = d*(scale-32)*(q-4), q = low2 | high<<2.
const q3KBlockBytes = 110

// q3KScale unpacks group j's 6-bit scale (still biased by 32): the low nibbles
// of groups 0-7 and 8-15 share bytes 0-7, and the top 2 bits of all 16 fill
// bytes 8-11.
func q3KScale(scales []byte, j int) int8 {
	var lo uint8
	if j < 8 {
		lo = scales[j] & 0xF
	} else {
		lo = scales[j-8] >> 4
	}
	hi := (scales[8+j%4] >> (2 * (j / 4))) & 3
	return int8(lo | hi<<4)
}

// DequantizeQ3K expands Q3_K blocks from src into dst (len(dst)/256 blocks).
func DequantizeQ3K(dst []float32, src []byte) {
	for b := range len(dst) / qkK {
		blk := src[b*q3KBlockBytes : (b+1)*q3KBlockBytes]
		y := dst[b*qkK : (b+1)*qkK]
		hmask, qs, scales := blk[0:32], blk[32:96], blk[96:108]
		d := F16ToF32(binary.LittleEndian.Uint16(blk[108:]))
		// Group g = 8*half + 2*j + k (16 values) sits in bits 2j..2j+1 of
		// qs bytes 32*half + 16*k ... +15, its high bits in bit 4*half+j of
		// hmask bytes 16*k ... +15.
		for half := range 2 {
			for j := range 4 {
				hshift := 4*half + j
				for k := range 2 {
					g := 8*half + 2*j + k
					dl := d * float32(int32(q3KScale(scales, g))-32)
					q := qs[32*half+16*k : 32*half+16*k+16]
					hm := hmask[16*k : 16*k+16]
					out := y[16*g : 16*g+16]
					for l := range 16 {
						// (low2 | high<<2) - 4: ggml's low2 - (high ? 0 : 4), branch-free.
						v := int32(q[l]>>(2*j)&3|(hm[l]>>hshift&1)<<2) - 4
						out[l] = dl * float32(v)
					}
				}
			}
		}
	}
}

// QuantizeQ3K is ggml's quantize_row_q3_K_ref.
func QuantizeQ3K(dst []byte, src []float32) {
	var (
		L      [qkK]int8
		scales [16]float32
	)
	for b := range len(src) / qkK {
		x := src[b*qkK : (b+1)*qkK]
		blk := dst[b*q3KBlockBytes : (b+1)*q3KBlockBytes]
		hmask, qs, bScales := blk[0:32], blk[32:96], blk[96:108]

		var maxScale, amax float32
		for j := range 16 {
			scales[j] = makeQ3Quants(4, x[16*j:16*j+16], L[16*j:16*j+16])
			if s := absf(scales[j]); s > amax {
				amax, maxScale = s, scales[j]
			}
		}

		clear(bScales)
		var d uint16
		if maxScale != 0 {
			iscale := -32 / maxScale
			for j := range 16 {
				// C stores nearest_int into an int8_t before clamping.
				l := uint8(clampInt(int32(int8(nearestInt(iscale*scales[j]))), -32, 31) + 32)
				if j < 8 {
					bScales[j] = l & 0xF
				} else {
					bScales[j-8] |= (l & 0xF) << 4
				}
				bScales[j%4+8] |= (l >> 4) << (2 * (j / 4))
			}
			d = F32ToF16(1 / iscale)
		}
		binary.LittleEndian.PutUint16(blk[108:], d)

		// Requantize against the scales as stored (6-bit, f16).
		df := F16ToF32(d)
		for j := range 16 {
			dl := df * float32(int32(q3KScale(bScales, j))-32)
			if dl == 0 {
				continue
			}
			for i, v := range x[16*j : 16*j+16] {
				L[16*j+i] = int8(clampInt(nearestInt(v/dl), -4, 3) + 4)
			}
		}

		// The third bit goes to hmask, the low two to qs.
		clear(hmask)
		var low [qkK]uint8
		for j := range qkK {
			l := uint8(L[j])
			if l > 3 {
				hmask[j%32] |= 1 << (j / 32)
				l -= 4
			}
			low[j] = l
		}
		packQ2Bits(qs, &low)
	}
}
