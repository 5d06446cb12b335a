package model

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/internal/testref"
	"github.com/infer-go/infer/ops"
	"github.com/infer-go/infer/quant"
)

// realShapeSpecs are the shapes of ../shared/archs/real-files.json (the
// files llama.cpp's converter writes), with the tiny vocabulary: widths
// that are not multiples of 256 (qwen2's 704 and phi3's 640 feed-forward,
// gemma2's 320 embedding) make llama-quantize fall back to Q5_0, Q5_1,
// Q8_0 and IQ4_NL for some tensors, as in real files.
var realShapeSpecs = []tinySpec{
	{arch: "qwen2", embd: 256, layers: 4, heads: 8, headsKV: 2, ff: 704, ctx: 256},
	{arch: "phi3", embd: 256, layers: 4, heads: 8, headsKV: 4, ff: 640, ctx: 4096, ropeDims: 32, slidingWindow: 2047},
	{arch: "gemma2", embd: 320, layers: 26, heads: 4, headsKV: 2, headDim: 64, ff: 512, ctx: 8192, slidingWindow: 8, tied: true},
	{arch: "starcoder2", embd: 256, layers: 4, heads: 8, headsKV: 2, ff: 1024, ctx: 256},
}

// llamaQuantizeTypes are llama-quantize's mixtures checked on the real
// shapes; the F32 file itself is checked too.
var llamaQuantizeTypes = []string{"F16", "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_0", "Q3_K_M"}

// TestRealShapesQuantizedByLlamaCpp writes each architecture at the shape
// of llama.cpp's own files in F32, quantizes it with llama.cpp's
// llama-quantize into its usual mixtures (K-quants with Q6_K outputs, the
// legacy and IQ4_NL fallbacks for rows that are not a multiple of 256) and
// compares infer's logits with llama.cpp's (refdump) on each file.
func TestRealShapesQuantizedByLlamaCpp(t *testing.T) {
	// About three minutes on two cores: run on request.
	if os.Getenv("INFER_REAL_SHAPES") == "" {
		t.Skip("set INFER_REAL_SHAPES=1 to quantize the real shapes with llama-quantize and compare with llama.cpp")
	}
	quantizeTool := filepath.Join(testref.Dir(t), "peer", "llama-quantize")
	if _, err := os.Stat(quantizeTool); err != nil {
		t.Skipf("llama-quantize not found (%v): skipping", err)
	}
	pool := ops.NewPool(2)
	defer pool.Close()
	for _, spec := range realShapeSpecs {
		spec.spmVocab, spec.vocab, spec.weightType = true, len(tinySPMTokens), quant.F32
		dir := t.TempDir()
		src := spec.write(t, dir)
		for _, typ := range append([]string{"F32"}, llamaQuantizeTypes...) {
			t.Run(spec.arch+"-"+typ, func(t *testing.T) {
				path := src
				if typ != "F32" {
					sub := t.TempDir()
					path = filepath.Join(sub, "model.gguf")
					out, err := exec.Command(quantizeTool, src, path, typ, "2").CombinedOutput()
					if err != nil {
						t.Fatalf("llama-quantize %s: %v\n%s", typ, err, lastLines(string(out), 15))
					}
				}
				tokens, greedy, refAll, refGen := runRefdump(t, path)
				f, err := gguf.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				lm, err := Load(f, Options{Pool: pool})
				if err != nil {
					t.Fatal(err)
				}
				prompt, gen := compareWithRefdump(t, lm, tokens, greedy, refAll, refGen)
				t.Logf("%s: prompt batch:    %v", tensorTypes(f), prompt)
				t.Logf("teacher forcing: %v", gen)
				checkAgainstRefdump(t, spec.arch, fileTypes(f), prompt, gen)
			})
		}
	}
}

// fileTypes lists the types of the file's tensors.
func fileTypes(f *gguf.File) []quant.Type {
	var types []quant.Type
	for _, ti := range f.Tensors {
		types = append(types, ti.Type)
	}
	return types
}

// tensorTypes counts the file's tensors by type.
func tensorTypes(f *gguf.File) string {
	count := map[quant.Type]int{}
	var order []quant.Type
	for _, ti := range f.Tensors {
		if count[ti.Type] == 0 {
			order = append(order, ti.Type)
		}
		count[ti.Type]++
	}
	s := ""
	for i, typ := range order {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%v:%d", typ, count[typ])
	}
	return s
}
