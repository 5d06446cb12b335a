package gguf

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infer-go/infer/quant"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the FuzzParse seed corpus in testdata")

const corpusDir = "testdata/fuzz/FuzzParse"

// corpusSeeds are FuzzParse's seeds: small valid files made by the writer
// ("valid-") and files broken in one way each ("bad-").
func corpusSeeds(t *testing.T) map[string][]byte {
	sample := writerBytes(t, sampleWriter(t))

	vocab := NewWriter()
	vocab.AddKV("general.architecture", ValueOf("gpt2"))
	vocab.AddKV("tokenizer.ggml.model", ValueOf("gpt2"))
	vocab.AddKV("tokenizer.ggml.tokens", ValueOf([]string{"!", "\"", "Ġthe", "<|endoftext|>"}))
	vocab.AddKV("tokenizer.ggml.token_type", ValueOf([]int32{1, 1, 1, 3}))
	vocab.AddKV("tokenizer.ggml.merges", ValueOf([]string{"Ġ t", "h e"}))
	vocab.AddKV("tokenizer.ggml.scores", ValueOf([]float32{0, -1, -2, 0}))

	aligned := NewWriter()
	aligned.AddKV("general.alignment", ValueOf(uint32(64)))
	aligned.AddKV("deep", ValueOf([]Value{ValueOf([]Value{ValueOf([]int64{-1})}), ValueOf([]Value{})}))
	aligned.AddKV("f64", ValueOf([]float64{0.5}))
	aligned.AddKV("u64", ValueOf(uint64(3)))
	if err := aligned.AddTensor("iq", quant.IQ2_XXS, []uint64{256}, make([]byte, 66)); err != nil {
		t.Fatal(err)
	}
	if err := aligned.AddTensor("q8", quant.Q8_0, []uint64{32, 2}, bytes.Repeat([]byte{1}, 68)); err != nil {
		t.Fatal(err)
	}

	v2 := bytes.Clone(sample)
	v2[4] = 2
	bigEndian := bytes.Clone(sample)
	copy(bigEndian[4:8], []byte{0, 0, 0, 3})
	badBool := (&builder{}).header(0, 1).str("b").u32(uint32(TypeBool)).u8(2).b
	deep := (&builder{}).header(0, 1).str("k").u32(uint32(TypeArray))
	for range maxArrayDepth + 1 {
		deep.u32(uint32(TypeArray)).u64(1)
	}
	deep.u32(uint32(TypeUint8)).u64(0)

	return map[string][]byte{
		"valid-sample":     sample,
		"valid-vocab":      writerBytes(t, vocab),
		"valid-aligned":    writerBytes(t, aligned),
		"valid-v2":         v2,
		"valid-empty":      (&builder{}).header(0, 0).b,
		"bad-truncated":    sample[:len(sample)/2],
		"bad-big-endian":   bigEndian,
		"bad-string-len":   (&builder{}).header(0, 1).str("k").u32(uint32(TypeString)).u64(1 << 32).str("xyz").b,
		"bad-array-len":    (&builder{}).header(0, 1).str("k").u32(uint32(TypeArray)).u32(uint32(TypeString)).u64(1 << 40).b,
		"bad-bool":         badBool,
		"bad-deep":         deep.b,
		"bad-dup-tensor":   (&builder{}).header(2, 0).tensor("w", quant.F32, 0, 8).tensor("w", quant.F32, 32, 8).padTo(32).zeros(64).b,
		"bad-unaligned":    (&builder{}).header(1, 0).tensor("w", quant.F32, 4, 8).padTo(32).zeros(64).b,
		"bad-past-end":     (&builder{}).header(1, 0).tensor("w", quant.Q4_K, 0, 256, 2).padTo(32).zeros(200).b,
		"bad-five-dims":    (&builder{}).header(1, 0).tensor("w", quant.F32, 0, 1, 1, 1, 1, 1).padTo(32).zeros(4).b,
		"bad-type-id":      (&builder{}).header(1, 0).tensor("w", quant.Type(99), 0, 1).padTo(32).zeros(4).b,
		"bad-alignment":    (&builder{}).header(0, 1).kvU32("general.alignment", 3).b,
		"bad-dup-key":      (&builder{}).header(0, 2).kvU32("k", 1).kvU32("k", 1).b,
		"bad-value-type":   (&builder{}).header(0, 1).str("k").u32(99).u64(0).b,
		"bad-kv-count":     (&builder{}).header(0, 1<<62).kvU32("k", 1).b,
		"bad-dims-product": (&builder{}).header(1, 0).tensor("w", quant.F32, 0, 1<<40, 1<<40).b,
	}
}

// TestFuzzCorpus checks that the committed seeds are what corpusSeeds makes
// (rewriting them with -update-corpus), that they are small, and that the
// valid ones parse and the bad ones do not.
func TestFuzzCorpus(t *testing.T) {
	seeds := corpusSeeds(t)
	if *updateCorpus {
		if err := os.MkdirAll(corpusDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range seeds {
			content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
			if err := os.WriteFile(filepath.Join(corpusDir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, data := range seeds {
		content, err := os.ReadFile(filepath.Join(corpusDir, name))
		if err != nil {
			t.Errorf("seed %s: %v (run go test -run TestFuzzCorpus -update-corpus ./gguf/)", name, err)
			continue
		}
		if want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data); string(content) != want {
			t.Errorf("seed %s is stale (run go test -run TestFuzzCorpus -update-corpus ./gguf/)", name)
		}
		if len(content) >= 4096 {
			t.Errorf("seed %s is %d bytes, keep seeds under 4 KB", name, len(content))
		}
		_, err = Parse(data)
		if valid := strings.HasPrefix(name, "valid-"); valid != (err == nil) {
			t.Errorf("seed %s: Parse error %v", name, err)
		}
	}
}
