//go:build amd64 && !purego

package ops

// The AVX2 exponentials of Softmax (softmax_amd64.s), installed as
// softmax.go's hook when simdAvailable and used only while SIMD() is on.

func init() {
	if simdAvailable() {
		expSum16SIMD = expSum16Groups
	}
}

// expSum16AVX2 replaces x[i] by vExpf(x[i] - mx) for i < 16*groups (groups
// >= 1) and returns the double sum of each group's reduce16, in order.
//
//go:noescape
func expSum16AVX2(x *float32, groups int, mx float32) float64

// expSum16Groups is Softmax's hook: the whole groups of sixteen of x.
func expSum16Groups(x []float32, mx float32) (sum float64, done int) {
	groups := len(x) / 16
	if groups == 0 {
		return 0, 0
	}
	return expSum16AVX2(&x[0], groups, mx), 16 * groups
}
