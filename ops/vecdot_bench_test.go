package ops

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkVecDot times each kernel on one 4096-element row,
// single-threaded: the vec_dot of every type, and the batch (tinyBLAS) and
// repacked kernels where a type has them. Bytes are the weight row's.
func BenchmarkVecDot(b *testing.B) {
	const cols = 4096
	for _, tc := range matmulCases {
		tr := lookupVecDot(tc.typ)
		kernels := []struct {
			name string
			f    func(int, []byte, []byte) float32
		}{{tc.typ.String(), tr.VecDot}, {tc.typ.String() + "/batch", tr.VecDotBatch}, {tc.typ.String() + "/repacked", tr.VecDotRepacked}}
		for _, k := range kernels {
			if k.f == nil {
				continue
			}
			b.Run(k.name, func(b *testing.B) {
				rng := rand.New(rand.NewPCG(3, uint64(tc.typ)))
				x := quantizeRows(b, tc.typ, testData(rng, cols), cols)
				y := activationRows(b, tc.typ, testData(rng, cols), cols)
				b.SetBytes(int64(len(x)))
				var sink float32
				for b.Loop() {
					sink += k.f(cols, x, y)
				}
				_ = sink
			})
		}
	}
}
