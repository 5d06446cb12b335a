package model

import (
	"testing"

	"github.com/infer-go/infer/ops"
)

// BenchmarkForward measures one decoding step (one token, logits of the last
// position) of the Q8_0 tiny llama after a 64-token context, on 2 threads.
func BenchmarkForward(b *testing.B) {
	pool := ops.NewPool(2)
	defer pool.Close()
	_, lm := openModel(b, "tiny-llama-256-q8_0", Options{Pool: pool})
	st := mustState(b, lm)
	vocab := lm.Config().VocabSize
	const ctx = 64
	prompt := make([]int32, ctx)
	for i := range prompt {
		prompt[i] = int32(1 + i*37%(vocab-1))
	}
	logits := make([]float32, ctx*vocab)
	if err := st.Forward(prompt, 0, false, logits); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		// Re-running position ctx overwrites it, so every step sees the same cache.
		if err := st.Forward([]int32{42}, ctx, false, logits); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}
