package quant

import "encoding/binary"

// IQ4_NL: 32 elements a block, 4-bit indices into a fixed non-linear table
// of int8 levels (denser near zero, where weights cluster). Nibble order as
// Q4_0: byte j holds element j low, element j+16 high.
//
//   IQ4_NL (18 bytes): d f16 | qs [16]byte.   x = d * kvaluesIQ4NL[index]

const (
	qkIQ4NL       = 32
	blockIQ4NLLen = 18
)

// kvaluesIQ4NL is ggml's kvalues_iq4nl.
var kvaluesIQ4NL = [16]int8{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}

// DequantizeIQ4NL expands IQ4_NL blocks.
func DequantizeIQ4NL(dst []float32, src []byte) {
	nb := len(dst) / qkIQ4NL
	src = src[:nb*blockIQ4NLLen]
	for i := range nb {
		b := src[i*blockIQ4NLLen : (i+1)*blockIQ4NLLen]
		y := dst[i*qkIQ4NL : (i+1)*qkIQ4NL]
		d := F16ToF32(binary.LittleEndian.Uint16(b))
		for j, q := range b[2:18] {
			y[j] = d * float32(kvaluesIQ4NL[q&0x0f])
			y[j+16] = d * float32(kvaluesIQ4NL[q>>4])
		}
	}
}

// QuantizeIQ4NL is ggml's quantize_iq4_nl without an importance matrix
// (what ggml_quantize_chunk runs): quantize_row_iq4_nl_impl with one 32-value
// block per super-block, weights x², and 15 trial scales around max/-127.
func QuantizeIQ4NL(dst []byte, src []float32) {
	nb := len(src) / qkIQ4NL
	dst = dst[:nb*blockIQ4NLLen]
	for i := range nb {
		quantizeIQ4NLBlock(dst[i*blockIQ4NLLen:(i+1)*blockIQ4NLLen], src[i*qkIQ4NL:(i+1)*qkIQ4NL])
	}
}

// iq4nlTries is the ntry ggml passes: scales (k - 127)/max for k in -7..7.
const iq4nlTries = 7

func quantizeIQ4NLBlock(b []byte, x []float32) {
	const n = qkIQ4NL
	x = x[:n]
	var weight [n]float32
	for j, v := range x {
		weight[j] = v * v
	}
	var amax, vmax float32
	for _, v := range x {
		if a := absf(v); a > amax {
			amax, vmax = a, v
		}
	}

	var scale float32 // stays 0 for an all-zero block
	if !(amax < groupMaxEps) {
		v0 := float32(kvaluesIQ4NL[0])
		d := -vmax / v0
		sumQX, sumQ2 := iq4nlSums(x, &weight, 1/d)
		d = sumQX / sumQ2
		best := d * sumQX
		for itry := -iq4nlTries; itry <= iq4nlTries; itry++ {
			sumQX, sumQ2 := iq4nlSums(x, &weight, float32(itry+int(kvaluesIQ4NL[0]))/vmax)
			if sumQ2 > 0 && sumQX*sumQX > best*sumQ2 {
				d = sumQX / sumQ2
				best = d * sumQX
			}
		}
		scale = d
	}

	binary.LittleEndian.PutUint16(b, F32ToF16(scale))
	var id float32
	if scale != 0 {
		id = 1 / scale
	}
	qs := b[2:18]
	for j := range qs {
		l0 := bestIndexIQ4NL(float32(id * x[j]))
		l1 := bestIndexIQ4NL(float32(id * x[j+16]))
		qs[j] = uint8(l0) | uint8(l1)<<4
	}
}

// iq4nlSums returns Σ w·q·x and Σ w·q² over the block, q being the level
// the scale id picks for each x.
func iq4nlSums(x []float32, weight *[qkIQ4NL]float32, id float32) (sumQX, sumQ2 float32) {
	x = x[:qkIQ4NL]
	for j, v := range x {
		q := float32(kvaluesIQ4NL[bestIndexIQ4NL(float32(id*v))])
		w := weight[j]
		// Each product is rounded before the add, as in C.
		sumQX += float32(w * q * v)
		sumQ2 += float32(w * q * q)
	}
	return sumQX, sumQ2
}

// iq4nlMidSums holds kvaluesIQ4NL[i] + kvaluesIQ4NL[i+1]: twice the
// midpoints between neighbouring levels, exact in float32.
var iq4nlMidSums = func() (s [15]float32) {
	for i := range s {
		s[i] = float32(int(kvaluesIQ4NL[i]) + int(kvaluesIQ4NL[i+1]))
	}
	return s
}()

// bestIndexIQ4NL is ggml's best_index_int8 over kvaluesIQ4NL: the index of
// the nearest level, the upper one on a tie, clamped to the ends. ggml
// compares the float differences x-lo < hi-x; near a midpoint those are
// exact, so comparing 2x with lo+hi (exact too) decides identically, and a
// four-step search over the midpoints replaces the branchy one. A NaN gets
// the top index, where ggml's search ends.
func bestIndexIQ4NL(x float32) int {
	if x != x {
		return 15
	}
	x2 := x + x
	idx := 0
	if x2 >= iq4nlMidSums[7] {
		idx = 8
	}
	if x2 >= iq4nlMidSums[idx+3] {
		idx += 4
	}
	if x2 >= iq4nlMidSums[idx+1] {
		idx += 2
	}
	if x2 >= iq4nlMidSums[idx] {
		idx++
	}
	return idx
}
