//go:build amd64 && !purego

package ops

// The assembly SwiGLU (swiglu_amd64.s, AVX2+FMA), installed as
// activation.go's hook when simdAvailable and used only while SIMD() is on.

func init() {
	if simdAvailable() {
		swiGLUSIMD = swiGLUGroups
	}
}

// swiGLUAVX2 sets dst[i] = v / (1 + vExpf(0-v)) * up[i], v = gate[i], for
// i < n (a positive multiple of 8), each operation rounded as in SwiGLU's
// groups of sixteen. dst may be gate or up.
//
//go:noescape
func swiGLUAVX2(dst, gate, up *float32, n int)

// swiGLUGroups is SwiGLU's hook (slices of one length, checked): it does
// the whole groups of sixteen and returns how many elements it did.
func swiGLUGroups(dst, gate, up []float32) int {
	n := len(dst) &^ 15
	if n == 0 {
		return 0
	}
	gate, up = gate[:n], up[:n]
	swiGLUAVX2(&dst[0], &gate[0], &up[0], n)
	return n
}
