//go:build amd64 && !purego

package ops

// Assembly versions of the F16 and F32 dot products (vecdot_float_amd64.s),
// for CPUs with AVX2, FMA3 and F16C (simdAvailable). Each takes runs >= 1
// whole runs of its lane count at x and y; the Go wrappers check the slices'
// lengths first, so a short slice panics exactly as in the portable kernel,
// and add any tail past the last whole run as the portable kernel does.

// dotF16VecAVX2 returns vecDotF16's sum of the first 64*runs elements before
// its tail: 64 float lanes, lane l accumulating the exact product of
// elements l, 64+l, 128+l, ... with one rounded addition each, in order,
// then reduce64 of the lanes.
//
//go:noescape
func dotF16VecAVX2(x, y *byte, runs int) float32

// dotF16BatchAVX2 returns vecDotF16Batch(16*runs, x, y): 16 float lanes,
// lane l accumulating the exact product of elements l, 16+l, ... with one
// rounded addition each, in order, then reduce16 of the lanes.
//
//go:noescape
func dotF16BatchAVX2(x, y *byte, runs int) float32

// dotF32VecAVX2 returns vecDotF32's sum of the first 64*runs elements before
// its tail: 64 float lanes, lane l accumulating elements l, 64+l, ... with a
// fused multiply-add each, in order, then reduce64 of the lanes.
//
//go:noescape
func dotF32VecAVX2(x, y *byte, runs int) float32

// dotF32BatchAVX2 returns vecDotF32Batch(16*runs, x, y): 16 float lanes,
// lane l accumulating elements l, 16+l, ... with a fused multiply-add each,
// in order, then reduce16 of the lanes.
//
//go:noescape
func dotF32BatchAVX2(x, y *byte, runs int) float32

func vecDotF16AVX2(n int, x, y []byte) float32 {
	x, y = x[:2*n], y[:2*n]
	runs := n / vecLanes
	var sum float64
	if runs > 0 {
		sum = float64(dotF16VecAVX2(&x[0], &y[0], runs))
	}
	// The tail in double, each product rounded to float, as in vecDotF16.
	for i := 2 * vecLanes * runs; i+2 <= len(x); i += 2 {
		sum += float64(float32(f16(x[i], x[i+1]) * f16(y[i], y[i+1])))
	}
	return float32(sum)
}

func vecDotF16BatchAVX2(n int, x, y []byte) float32 {
	x, y = x[:2*n], y[:2*n]
	runs := n / batchLanes
	if runs == 0 {
		return 0
	}
	return dotF16BatchAVX2(&x[0], &y[0], runs)
}

func vecDotF32AVX2(n int, x, y []byte) float32 {
	x, y = x[:4*n], y[:4*n]
	runs := n / vecLanes
	var sum float32
	if runs > 0 {
		sum = dotF32VecAVX2(&x[0], &y[0], runs)
	}
	// The tail in float, each product fused into the sum, as in vecDotF32.
	for i := 4 * vecLanes * runs; i < len(x); i += 4 {
		sum = fma32(f32le(x[i:]), f32le(y[i:]), sum)
	}
	return sum
}

func vecDotF32BatchAVX2(n int, x, y []byte) float32 {
	x, y = x[:4*n], y[:4*n]
	runs := n / batchLanes
	if runs == 0 {
		return 0
	}
	return dotF32BatchAVX2(&x[0], &y[0], runs)
}
