package quant

import "encoding/binary"

// Q4_K block, 144 bytes for 256 values in 8 groups of 32:
//
//	d      f16        super-block scale of the group scales
//	dmin   f16        super-block scale of the group mins
//	scales [12]uint8  8 6-bit scales and 8 6-bit mins; see getScaleMinK4
//	qs     [128]uint8 4-bit quants: each 64 values take 32 bytes, value l in
//	                  the low nibble of byte l, value l+32 in its high nibble
//
// value = d*scale*q - dmin*min.
const q4KBlockBytes = 144

// DequantizeQ4K expands Q4_K blocks from src into dst (len(dst)/256 blocks).
func DequantizeQ4K(dst []float32, src []byte) {
	for b := range len(dst) / qkK {
		blk := src[b*q4KBlockBytes : (b+1)*q4KBlockBytes]
		y := dst[b*qkK : (b+1)*qkK]
		d := F16ToF32(binary.LittleEndian.Uint16(blk[0:]))
		dmin := F16ToF32(binary.LittleEndian.Uint16(blk[2:]))
		scales, qs := blk[4:16], blk[16:144]
		for j := range 4 {
			sc, m := getScaleMinK4(2*j, scales)
			d1, m1 := d*float32(sc), float32(dmin*float32(m))
			sc, m = getScaleMinK4(2*j+1, scales)
			d2, m2 := d*float32(sc), float32(dmin*float32(m))
			q := qs[32*j : 32*j+32]
			out := y[64*j : 64*j+64]
			for l := range 32 {
				out[l] = float32(d1*float32(q[l]&0xF)) - m1
				out[l+32] = float32(d2*float32(q[l]>>4)) - m2
			}
		}
	}
}

// QuantizeQ4K is ggml's quantize_row_q4_K_ref.
func QuantizeQ4K(dst []byte, src []float32) {
	var L [qkK]uint8
	for b := range len(src) / qkK {
		x := src[b*qkK : (b+1)*qkK]
		blk := dst[b*q4KBlockBytes : (b+1)*q4KBlockBytes]
		d, dmin := quantizeKScalesMins(blk[4:16], x, &L, 15, -1, 0.1, 20)
		binary.LittleEndian.PutUint16(blk[0:], d)
		binary.LittleEndian.PutUint16(blk[2:], dmin)
		qs := blk[16:144]
		for j := 0; j < qkK; j += 64 {
			for l := range 32 {
				qs[j/2+l] = L[j+l] | L[j+l+32]<<4
			}
		}
	}
}

// quantizeKScalesMins is the part of quantize_row_q4_K_ref and
// quantize_row_q5_K_ref that Q4_K and Q5_K share: it fits each group of 32 of
// the super-block x with make_qkx2_quants (levels 0..nmax), stores the 6-bit
// scales and mins into scales (12 bytes), fills L with the quants
// requantized against the stored scales, and returns d and dmin as f16.
func quantizeKScalesMins(scales []byte, x []float32, L *[qkK]uint8, nmax int, rmin, rdelta float32, nstep int) (d, dmin uint16) {
	var (
		laux    [32]uint8
		weights [32]float32
		sc, mn  [8]float32
	)
	var maxScale, maxMin float32
	for j := range 8 {
		xs := x[32*j : 32*j+32]
		var sumX2 float32
		for _, v := range xs {
			sumX2 += float32(v * v)
		}
		avX := sqrtf(sumX2 / 32)
		for l, v := range xs {
			weights[l] = avX + absf(v)
		}
		sc[j], mn[j] = makeQKX2Quants(nmax, xs, weights[:], L[32*j:32*j+32], laux[:], rmin, rdelta, nstep, false)
		if sc[j] > maxScale {
			maxScale = sc[j]
		}
		if mn[j] > maxMin {
			maxMin = mn[j]
		}
	}

	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	var ls, lm [8]uint8
	for j := range 8 {
		// C stores nearest_int into a uint8_t before clamping to 63.
		ls[j] = min(63, uint8(nearestInt(invScale*sc[j])))
		lm[j] = min(63, uint8(nearestInt(invMin*mn[j])))
	}
	putScaleMinK4(scales, &ls, &lm)
	d = F32ToF16(maxScale / 63)
	dmin = F32ToF16(maxMin / 63)

	// Requantize against the scales as stored (6-bit, f16).
	df, dminf := F16ToF32(d), F16ToF32(dmin)
	hi := int32(nmax)
	for j := range 8 {
		s, m := getScaleMinK4(j, scales)
		dl := df * float32(s)
		if dl == 0 {
			continue
		}
		ml := float32(dminf * float32(m))
		for i, v := range x[32*j : 32*j+32] {
			L[32*j+i] = uint8(clampInt(nearestInt((v+ml)/dl), 0, hi))
		}
	}
	return d, dmin
}
