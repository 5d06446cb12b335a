package ops

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkVecDot times one kernel on one 4096-element row, single-threaded;
// bytes are the weight row's.
func BenchmarkVecDot(b *testing.B) {
	const cols = 4096
	for _, tc := range matmulCases {
		b.Run(tc.typ.String(), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(3, uint64(tc.typ)))
			tr := lookupVecDot(tc.typ)
			x := quantizeRows(b, tc.typ, testData(rng, cols), cols)
			y := quantizeRows(b, tr.VecDotType, testData(rng, cols), cols)
			b.SetBytes(int64(len(x)))
			var sink float32
			for b.Loop() {
				sink += tr.VecDot(cols, x, y)
			}
			_ = sink
		})
	}
}
