package ops

import (
	"encoding/binary"
	"math"
)

// Q8_K block (292 bytes), the activation type of every K-quant: d (float32),
// qs[256] (int8), bsums[16] (int16: the sums of each 16 consecutive qs).
const (
	q8KQs    = 4
	q8KBsums = 4 + 256
	q8KSize  = 292
)

// q8KScale reads a Q8_K block's float32 scale.
func q8KScale(yb *[q8KSize]byte) float32 {
	return math.Float32frombits(binary.LittleEndian.Uint32(yb[0:4]))
}

// q8KBsum reads bsums[j] of a Q8_K block.
func q8KBsum(yb *[q8KSize]byte, j int) int32 {
	return int32(int16(binary.LittleEndian.Uint16(yb[q8KBsums+2*j:])))
}

// q8KGroup is the j-th run of 32 activations (j < 8) of a Q8_K block.
func q8KGroup(yb *[q8KSize]byte, j int) *[32]byte {
	return (*[32]byte)(yb[q8KQs+32*j:])
}

// K-quant scales and mins of Q4_K and Q5_K: eight 6-bit pairs packed into 12
// bytes, unpacked like ggml's get_scale_min_k4.
func scaleMinK4(q *[12]byte) (sc, m [8]int32) {
	for j := range 4 {
		sc[j] = int32(q[j] & 63)
		m[j] = int32(q[j+4] & 63)
		sc[j+4] = int32(q[j+8]&0x0f | q[j]>>6<<4)
		m[j+4] = int32(q[j+8]>>4 | q[j+4]>>6<<4)
	}
	return sc, m
}
