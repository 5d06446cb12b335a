package ops

// Softmax replaces the row x by softmax(x) in place, as ggml's soft_max on
// llama.cpp's reference build (AVX-512): the maximum is subtracted, then
// each full group of sixteen (from the start of the row) is exponentiated by
// vExpf and added up by reduce16 into a double sum; the rest of the row uses
// expf, each value added to the sum on its own; finally x is multiplied by
// the float rounding of 1/sum. -Inf entries (masked positions) give exact
// zeros.
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	mx := x[0]
	for _, v := range x[1:] {
		mx = max(mx, v)
	}
	var sum float64
	i := 0
	if simdOn && expSum16SIMD != nil {
		sum, i = expSum16SIMD(x, mx) // the groups of sixteen, same bits
	}
	for ; i+16 <= len(x); i += 16 {
		g := (*[16]float32)(x[i:])
		for l, v := range g {
			g[l] = vExpf(v - mx)
		}
		sum += float64(reduce16(g))
	}
	for ; i < len(x); i++ {
		x[i] = expf(x[i] - mx)
		sum += float64(x[i])
	}
	Scale(x, float32(1/sum))
}

// expSum16SIMD is an architecture's assembly for Softmax's groups of
// sixteen (softmax_amd64.go), used only while SIMD() is on: it
// exponentiates them in place and returns their sum and how many elements
// it did.
var expSum16SIMD func(x []float32, mx float32) (sum float64, done int)
