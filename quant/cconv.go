package quant

import "math"

// ggml's quantizers convert floats to small integers with C casts such as
// (int8_t)(x + 8.5f). gcc on x86-64 compiles those to cvttss2si, a 32-bit
// truncating conversion whose out-of-range and NaN result is 0x80000000,
// and keeps the low byte. Go leaves out-of-range conversions to the
// platform (arm64 saturates, for one), so the reference's behaviour is
// spelled out here: blocks of tiny or huge values, whose 1/d is infinite,
// then encode the same bytes on every architecture.

// cTruncInt32 converts like x86's cvttss2si: truncation toward zero, and
// math.MinInt32 for NaN or anything outside the int32 range.
func cTruncInt32(f float32) int32 {
	if !(f > -2147483904 && f < 2147483648) { // also catches NaN
		return math.MinInt32
	}
	return int32(f)
}

// cInt8 is C's (int8_t)f as the x86-64 reference computes it.
func cInt8(f float32) int8 { return int8(cTruncInt32(f)) }

// cUint8 is C's (uint8_t)f as the x86-64 reference computes it.
func cUint8(f float32) uint8 { return uint8(cTruncInt32(f)) }

// roundAway is C's roundf: to nearest, halfway cases away from zero.
func roundAway(f float32) float32 { return float32(math.Round(float64(f))) }

// cMaxAbs is one step of ggml's `amax = MAX(amax, fabsf(v))` with the C macro's
// exact NaN behaviour (a > b ? a : b), unlike Go's max builtin.
func cMaxAbs(amax, v float32) float32 {
	a := absf(v)
	if amax > a {
		return amax
	}
	return a
}

// absf is fabsf: it clears the sign bit, NaNs included.
func absf(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }
