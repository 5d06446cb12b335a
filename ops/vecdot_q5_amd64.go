//go:build amd64 && !purego

package ops

// dotQ5_0AVX2 returns vecDotQ5_0Q8_0(32*nb, x, y) for nb >= 1 whole blocks:
// dotQ4_0AVX2's order with the Q5_0 weights q-16 (element j the low nibble
// of qs[j] and bit j of qh, j+16 the high nibble and bit j+16). Needs AVX2,
// FMA3 and F16C, as every kernel installAVX2 puts in.
//
//go:noescape
func dotQ5_0AVX2(x, y *byte, nb int) float32

// vecDotQ5_0Q8_0AVX2 checks the slices' lengths as vecDotQ5_0Q8_0 does (a
// short slice panics the same way) and runs the assembly on whole blocks.
func vecDotQ5_0Q8_0AVX2(n int, x, y []byte) float32 {
	nb := n / 32
	x, y = x[:nb*22], y[:nb*34]
	if nb == 0 {
		return 0
	}
	return dotQ5_0AVX2(&x[0], &y[0], nb)
}
