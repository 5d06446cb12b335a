package quant

import (
	"encoding/binary"
	"math"
)

// Q8_K block, 292 bytes for 256 values: the activation format K-quant dot
// products pair with.
//
//	d     f32        scale
//	qs    [256]int8  quants
//	bsums [16]int16  sum of each group of 16 qs (lets a dot product apply
//	                 the weights' group mins without touching qs)
//
// value = d*q.
const q8KBlockBytes = 292

// DequantizeQ8K expands Q8_K blocks from src into dst (len(dst)/256 blocks).
func DequantizeQ8K(dst []float32, src []byte) {
	for b := range len(dst) / qkK {
		blk := src[b*q8KBlockBytes : (b+1)*q8KBlockBytes]
		d := math.Float32frombits(binary.LittleEndian.Uint32(blk))
		qs := blk[4 : 4+qkK]
		y := dst[b*qkK : (b+1)*qkK]
		for i, q := range qs {
			y[i] = d * float32(int8(q))
		}
	}
}

// QuantizeQ8K is ggml's quantize_row_q8_K_ref: with m the value of largest
// magnitude and iscale = -127/m, q = nearestInt(iscale*x) capped at 127 (m
// itself maps to -127) and d = 1/iscale. An all-zero block stores zeros.
func QuantizeQ8K(dst []byte, src []float32) {
	for b := range len(src) / qkK {
		x := src[b*qkK : (b+1)*qkK]
		blk := dst[b*q8KBlockBytes : (b+1)*q8KBlockBytes]
		var maxv, amax float32
		for _, v := range x {
			if ax := absf(v); ax > amax {
				amax, maxv = ax, v
			}
		}
		if amax == 0 {
			// ggml leaves bsums untouched here; zero is what they sum to.
			clear(blk)
			continue
		}
		iscale := -127 / maxv
		qs := blk[4 : 4+qkK]
		for i, v := range x {
			qs[i] = uint8(int8(min(127, nearestInt(iscale*v))))
		}
		for g := range 16 {
			var sum int32
			for _, q := range qs[16*g : 16*g+16] {
				sum += int32(int8(q))
			}
			binary.LittleEndian.PutUint16(blk[4+qkK+2*g:], uint16(int16(sum)))
		}
		binary.LittleEndian.PutUint32(blk, math.Float32bits(1/iscale))
	}
}
