//go:build arm64 && !purego

package ops

// The K-quant assembly kernels (vecdot_kquants_arm64.s) use base ASIMD
// only, like those in vecdot_arm64.s. Each takes nb >= 1 whole blocks at x
// and y; the Go wrappers check the slices' lengths first, so a short slice
// panics exactly as in the portable kernel.

// dotQ4KNEON returns vecDotQ4KQ8K(256*nb, x, y): per block, lane l (l < 8)
// is the exact integer sum over the four 64-element groups j of
// scale[2j]·Σ q·y over low-nibble elements 64j+4l..+3 plus scale[2j+1]·Σ
// q·y over high-nibble elements 64j+32+4l..+3, added into float lane l
// (lanes 0..3 in one register, 4..7 in another) with one fused multiply-add
// by d_y*d_w; min lane m (m < 4) is the exact integer
// min[2m]·(bsum[4m]+bsum[4m+1]) + min[2m+1]·(bsum[4m+2]+bsum[4m+3]), added
// into accMin[m] with one fused multiply-add by -(d_y*dmin_w). The result
// is hsum8(acc) + ((accMin0+accMin2) + (accMin1+accMin3)).
//
//go:noescape
func dotQ4KNEON(x, y *byte, nb int) float32

// dotQ6KNEON returns vecDotQ6KQ8K(256*nb, x, y): per block, lane l (l < 8)
// is the exact integer sum over the eight runs c of 32 elements of
// scale·Σ (q-32)·y over elements 32c+4l..+3 (scale[2c] for l < 4,
// scale[2c+1] for l >= 4), added into float lane l with one fused
// multiply-add by d_y*d_w; hsum8 of the lanes after the last block.
//
//go:noescape
func dotQ6KNEON(x, y *byte, nb int) float32

func vecDotQ4KQ8KNEON(n int, x, y []byte) float32 {
	nb := n / 256
	x, y = x[:nb*144], y[:nb*q8KSize]
	if nb == 0 {
		return 0
	}
	return dotQ4KNEON(&x[0], &y[0], nb)
}

func vecDotQ6KQ8KNEON(n int, x, y []byte) float32 {
	nb := n / 256
	x, y = x[:nb*210], y[:nb*q8KSize]
	if nb == 0 {
		return 0
	}
	return dotQ6KNEON(&x[0], &y[0], nb)
}
