package quantize

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/internal/testref"
	"github.com/infer-go/infer/model"
	"github.com/infer-go/infer/ops"
)

// TestQuantizedModelsMatchLlamaCpp quantizes the shared F16 llama with infer
// quantize and compares the result with llama.cpp's logits for the same type.
//
// llama.cpp's quantized reference files were made from the F32 weights, not
// from the F16 file (TestReferenceMadeFromF32 proves it), so about half their
// blocks differ from ours and their logits cannot be matched bit for bit;
// the direct comparison is logged. What is asserted is what that leaves
// checkable: over the prompt, infer's quantization is no farther from the
// F16 model (llama.cpp's F16 logits) than llama-quantize's is, within 25%.
// (quant/ is byte-exact with ggml's quantizers and ops/ with llama.cpp's
// kernels, so llama-quantize run on the F16 file would give these bytes and
// llama.cpp these logits.)
func TestQuantizedModelsMatchLlamaCpp(t *testing.T) {
	const (
		nearTie   = 1e-3
		tolerance = 1.25 // ours / llama-quantize's KL from the F16 model
	)
	src := testref.Path(t, "models", "tiny-llama-256-f16.gguf")
	for _, tc := range []struct{ typ, ref string }{
		{"Q8_0", "tiny-llama-256-q8_0"},
		{"Q4_0", "tiny-llama-256-q4_0"},
		{"Q4_K_M", "tiny-llama-256-q4_k_m"},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			var ref struct {
				Tokens []int32 `json:"tokens"`
				NVocab int     `json:"n_vocab"`
				Greedy []int32 `json:"greedy_tokens"`
			}
			data, err := os.ReadFile(testref.Path(t, "ref", "logits", tc.ref+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &ref); err != nil {
				t.Fatal(err)
			}
			n, vocab := len(ref.Tokens), ref.NVocab
			refAll := testref.ReadF32File(t, testref.Path(t, "ref", "logits", tc.ref+".logits_all.f32"), n*vocab)
			refGen := testref.ReadF32File(t, testref.Path(t, "ref", "logits", tc.ref+".gen_logits.f32"), len(ref.Greedy)*vocab)

			ft, err := ParseFileType(tc.typ)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "q.gguf")
			if _, err := File(src, out, ft, Options{}); err != nil {
				t.Fatal(err)
			}
			f, err := gguf.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			pool := ops.NewPool(2)
			defer pool.Close()
			lm, err := model.Load(f, model.Options{Pool: pool})
			if err != nil {
				t.Fatal(err)
			}
			st, err := lm.NewState(0)
			if err != nil {
				t.Fatal(err)
			}

			var rows, flips int
			var sumKL, maxAbs float64
			compare := func(label string, want, got []float32) {
				d := testref.CompareLogits(want, got)
				rows++
				sumKL += d.KL
				maxAbs = math.Max(maxAbs, d.MaxAbs)
				if d.RefArgmax != d.GotArgmax {
					gap := testref.TopTwoGap(want)
					if gap >= nearTie {
						flips++
					}
				}
			}
			all := make([]float32, n*vocab)
			if err := st.Forward(ref.Tokens, 0, true, all); err != nil {
				t.Fatal(err)
			}
			for i := range n {
				compare(fmt.Sprintf("prompt position %d", i), refAll[i*vocab:(i+1)*vocab], all[i*vocab:(i+1)*vocab])
			}
			logits := append([]float32(nil), all[(n-1)*vocab:]...)
			for k := range ref.Greedy {
				if k > 0 {
					if err := st.Forward(ref.Greedy[k-1:k], n+k-1, false, logits); err != nil {
						t.Fatal(err)
					}
				}
				compare(fmt.Sprintf("generated token %d", k), refGen[k*vocab:(k+1)*vocab], logits)
			}
			// How far each quantization is from the F16 model, as llama.cpp
			// computes it: ours must be no farther than llama-quantize's.
			f16 := testref.ReadF32File(t, testref.Path(t, "ref", "logits", "tiny-llama-256-f16.logits_all.f32"), n*vocab)
			var oursKL, theirsKL float64
			for i := range n {
				row := func(x []float32) []float32 { return x[i*vocab : (i+1)*vocab] }
				oursKL += testref.CompareLogits(row(f16), row(all)).KL / float64(n)
				theirsKL += testref.CompareLogits(row(f16), row(refAll)).KL / float64(n)
			}
			t.Logf("%s: mean KL from the F16 model: infer quantize %.3g, llama-quantize %.3g", tc.typ, oursKL, theirsKL)
			meanKL := sumKL / float64(rows)
			t.Logf("%s quantized by infer vs llama-quantize's file in llama.cpp: %d rows, max|diff| %.3g, mean KL %.3g, argmax differs at %d rows (gap >= %g)",
				tc.typ, rows, maxAbs, meanKL, flips, nearTie)
			if oursKL > tolerance*theirsKL {
				t.Errorf("%s: infer's quantization is %.3g (mean KL) from the F16 model, llama-quantize's %.3g: more than %gx farther", tc.typ, oursKL, theirsKL, tolerance)
			}
		})
	}
}
