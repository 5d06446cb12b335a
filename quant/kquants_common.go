package quant

import "math"

// Helpers shared by the K-quant ("super-block" of 256) formats, following
// ggml-quants.c step for step so that the bytes come out identical.
//
// Numerics: ggml computes these in float (float32) and the reference build
// does not fuse multiply-adds, so every product that feeds an addition or
// subtraction is wrapped in an explicit float32(...) conversion, including
// products that reach the addition through a variable or an inlined
// argument (nearestInt(a*b) is a*b + 12582912). The Go spec lets a compiler
// fuse x*y+z, and it does on arm64 and with GOAMD64=v3; an explicit
// conversion forbids it. Without these, some Q2_K and Q5_K blocks of the
// reference input encode differently on those targets.

// qkK is ggml's QK_K: the number of values in one K-quant super-block.
const qkK = 256

// groupMaxEps is ggml's GROUP_MAX_EPS: below it a group counts as all zero.
const groupMaxEps = 1e-15

// nearestInt is ggml's nearest_int: adding 1.5*2^23 leaves round(f) (half to
// even) in the low mantissa bits. It is meaningful for |f| <= 4194303; beyond
// that it returns the same garbage ggml does rather than panicking.
func nearestInt(f float32) int32 {
	// The conversion keeps a product passed as f from fusing with the add.
	val := float32(f) + 12582912
	i := int32(math.Float32bits(val))
	return (i & 0x007fffff) - 0x00400000
}

func clampInt(v, lo, hi int32) int32 {
	return max(lo, min(hi, v))
}

// sqrtf is C's sqrtf: the float64 square root of a float32, rounded once to
// float32, is the correctly rounded float32 square root.
func sqrtf(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// getScaleMinK4 unpacks the j-th (of 8) 6-bit scale and min from the 12-byte
// scales field of Q4_K/Q5_K: j<4 sit in the low 6 bits of bytes j and j+4;
// j>=4 keep their low nibbles in byte j+4 and their top 2 bits in the spare
// high bits of bytes j-4 (scale) and j (min).
func getScaleMinK4(j int, q []byte) (sc, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	sc = q[j+4]&0xF | (q[j-4]>>6)<<4
	m = q[j+4]>>4 | (q[j]>>6)<<4
	return sc, m
}

// putScaleMinK4 is the inverse of getScaleMinK4 for all 8 pairs at once;
// ls and lm must be <= 63.
func putScaleMinK4(q []byte, ls, lm *[8]uint8) {
	for j := range 8 {
		if j < 4 {
			q[j] = ls[j]
			q[j+4] = lm[j]
		} else {
			q[j+4] = ls[j]&0xF | (lm[j]&0xF)<<4
			q[j-4] |= (ls[j] >> 4) << 6
			q[j] |= (lm[j] >> 4) << 6
		}
	}
}

// makeQXQuants is ggml's make_qx_quants with rmse_type 1: it picks a signed
// scale for x so that x ≈ scale*(L-nmax), L in [0, 2*nmax), minimising the
// error weighted by qw (x² when qw is nil), trying 18 scales around -nmax/max.
func makeQXQuants(nmax int, x []float32, L []int8, qw []float32) float32 {
	var maxv, amax float32
	for _, v := range x {
		if ax := absf(v); ax > amax {
			amax, maxv = ax, v
		}
	}
	if amax < groupMaxEps {
		for i := range x {
			L[i] = 0
		}
		return 0
	}
	weight := func(i int) float32 {
		if qw != nil {
			return qw[i]
		}
		return x[i] * x[i]
	}
	fnmax := float32(nmax)
	n32, lo, hi := int32(nmax), -int32(nmax), int32(nmax)-1

	iscale := -fnmax / maxv
	var sumlx, suml2 float32
	for i, v := range x {
		l := clampInt(nearestInt(iscale*v), lo, hi)
		L[i] = int8(l + n32)
		w, fl := weight(i), float32(l)
		sumlx += float32(w * v * fl)
		suml2 += float32(w * fl * fl)
	}
	var scale float32
	if suml2 != 0 {
		scale = sumlx / suml2
	}
	best := scale * sumlx
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(fnmax + float32(0.1*float32(is))) / maxv
		sumlx, suml2 = 0, 0
		for i, v := range x {
			l := clampInt(nearestInt(iscale*v), lo, hi)
			w, fl := weight(i), float32(l)
			sumlx += float32(w * v * fl)
			suml2 += float32(w * fl * fl)
		}
		if suml2 > 0 && sumlx*sumlx > best*suml2 {
			for i, v := range x {
				L[i] = int8(n32 + clampInt(nearestInt(iscale*v), lo, hi))
			}
			scale = sumlx / suml2
			best = scale * sumlx
		}
	}
	return scale
}

// makeQ3Quants is ggml's make_q3_quants with do_rmse: a signed scale for x,
// L in [0, 2*nmax), refined by up to 5 passes that move single values to the
// level that most reduces the x²-weighted error.
func makeQ3Quants(nmax int, x []float32, L []int8) float32 {
	var maxv, amax float32
	for _, v := range x {
		if ax := absf(v); ax > amax {
			amax, maxv = ax, v
		}
	}
	if amax < groupMaxEps {
		for i := range x {
			L[i] = 0
		}
		return 0
	}
	lo, hi := -int32(nmax), int32(nmax)-1
	iscale := -float32(nmax) / maxv
	var sumlx, suml2 float32
	for i, v := range x {
		l := clampInt(nearestInt(iscale*v), lo, hi)
		L[i] = int8(l)
		w, fl := v*v, float32(l)
		sumlx += float32(w * v * fl)
		suml2 += float32(w * fl * fl)
	}
	for range 5 {
		changed := false
		for i, v := range x {
			w, li := v*v, float32(L[i])
			slx := sumlx - float32(w*v*li)
			if !(slx > 0) { // also skips NaN, as C's `if (slx > 0)` does
				continue
			}
			sl2 := suml2 - float32(w*li*li)
			newL := clampInt(nearestInt(v*sl2/slx), lo, hi)
			if newL == int32(L[i]) {
				continue
			}
			fn := float32(newL)
			slx += float32(w * v * fn)
			sl2 += float32(w * fn * fn)
			if sl2 > 0 && slx*slx*suml2 > sumlx*sumlx*sl2 {
				L[i] = int8(newL)
				sumlx, suml2 = slx, sl2
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	for i := range x {
		L[i] += int8(nmax)
	}
	if suml2 > 0 {
		return sumlx / suml2
	}
	return 0
}

// makeQKX2Quants is ggml's make_qkx2_quants: it fits x ≈ scale*L - theMin
// with L in [0, nmax] and theMin >= 0, minimising the weighted squared (or,
// with useMad, absolute) error over nstep+1 trial scales. laux is scratch of
// len(x).
func makeQKX2Quants(nmax int, x, weights []float32, L, laux []uint8, rmin, rdelta float32, nstep int, useMad bool) (scale, theMin float32) {
	n := len(x)
	weights, L, laux = weights[:n], L[:n], laux[:n] // one bounds check each, not one per use
	minv, maxv := x[0], x[0]
	sumW := weights[0]
	sumX := float32(sumW * x[0])
	for i := 1; i < n; i++ {
		// Comparisons, not min/max: C keeps the first of equal values and
		// ignores NaN, where Go's min and max would propagate it.
		if x[i] < minv {
			minv = x[i]
		}
		if x[i] > maxv {
			maxv = x[i]
		}
		sumW += weights[i]
		sumX += float32(weights[i] * x[i])
	}
	if minv > 0 {
		minv = 0
	}
	if maxv == minv {
		for i := range n {
			L[i] = 0
		}
		return 0, -minv
	}
	fnmax, n32 := float32(nmax), int32(nmax)
	errOf := func(diff float32) float32 {
		if useMad {
			return absf(diff)
		}
		return diff * diff
	}

	iscale := fnmax / (maxv - minv)
	scale = 1 / iscale
	var bestErr float32
	for i, v := range x {
		l := clampInt(nearestInt(iscale*(v-minv)), 0, n32)
		L[i] = uint8(l)
		diff := float32(scale*float32(l)) + minv - v
		bestErr += float32(weights[i] * errOf(diff))
	}
	if nstep < 1 {
		return scale, -minv
	}
	for is := 0; is <= nstep; is++ {
		iscale = (rmin + float32(rdelta*float32(is)) + fnmax) / (maxv - minv)
		var sumL, sumL2, sumXL float32
		for i, v := range x {
			l := clampInt(nearestInt(iscale*(v-minv)), 0, n32)
			laux[i] = uint8(l)
			w, fl := weights[i], float32(l)
			sumL += float32(w * fl)
			sumL2 += float32(w * fl * fl)
			sumXL += float32(w * fl * v)
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if !(D > 0) {
			continue
		}
		thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
		thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
		if thisMin > 0 {
			thisMin = 0
			thisScale = sumXL / sumL2
		}
		var curErr float32
		for i, v := range x {
			diff := float32(thisScale*float32(laux[i])) + thisMin - v
			curErr += float32(weights[i] * errOf(diff))
		}
		if curErr < bestErr {
			copy(L, laux)
			bestErr = curErr
			scale = thisScale
			minv = thisMin
		}
	}
	return scale, -minv
}

// packQ2Bits packs 256 2-bit values the way Q2_K and Q3_K store them: each
// half of 128 values takes 32 bytes, value l+32*k of the half in bits 2k..2k+1
// of byte l.
func packQ2Bits(qs []byte, L *[qkK]uint8) {
	for j := 0; j < qkK; j += 128 {
		for l := range 32 {
			qs[j/4+l] = L[j+l] | L[j+l+32]<<2 | L[j+l+64]<<4 | L[j+l+96]<<6
		}
	}
}
