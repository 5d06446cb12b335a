//go:build arm64 && !purego

package ops

// Assembly version of the F16 dot product's single-row route
// (vecdot_float_arm64.s), base ASIMD only. The batch route (tinyBLAS's 16
// lanes) and F32 stay portable on arm64.

// dotF16VecNEON returns vecDotF16's sum of the first 64*runs elements
// before its tail (runs >= 1): 64 float lanes, lane l accumulating the exact
// product of elements l, 64+l, 128+l, ... with one rounded addition each,
// in order, then reduce64 of the lanes.
//
//go:noescape
func dotF16VecNEON(x, y *byte, runs int) float32

func vecDotF16NEON(n int, x, y []byte) float32 {
	x, y = x[:2*n], y[:2*n]
	runs := n / vecLanes
	var sum float64
	if runs > 0 {
		sum = float64(dotF16VecNEON(&x[0], &y[0], runs))
	}
	// The tail in double, each product rounded to float, as in vecDotF16.
	for i := 2 * vecLanes * runs; i+2 <= len(x); i += 2 {
		sum += float64(float32(f16(x[i], x[i+1]) * f16(y[i], y[i+1])))
	}
	return float32(sum)
}
