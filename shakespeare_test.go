package infer_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/infer-go/infer"
	"github.com/infer-go/infer/convert"
	"github.com/infer-go/infer/internal/testref"
	"github.com/infer-go/infer/sampler"
)

// shippedModel is the character-level nanoGPT model the README's first
// command runs (see testdata/README.md).
const shippedModel = "testdata/shakespeare-char-q8_0.gguf"

// TestShippedModelGenerates loads the shipped model and samples 50
// characters with a fixed seed, twice and with different thread counts: the
// text must be the same each time and the one recorded here (it changes
// only if the model's numerics, the sampler or the file change).
func TestShippedModelGenerates(t *testing.T) {
	const want = "\nMy grioor:\nAnd confice with heart perses the to b"
	p := sampler.DefaultParams()
	p.Seed = 42
	for _, threads := range []int{1, 2, 1} {
		m, err := infer.Load(shippedModel, infer.Options{Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		info := m.Info()
		if info.Arch != "gpt2" || info.VocabSize != 65 || info.ContextLength != 128 || info.FileType != "Q8_0" {
			t.Errorf("info %+v", info)
		}
		var got string
		st, err := m.Generate(context.Background(), "ROMEO:", infer.GenerateOptions{Sampler: p, MaxTokens: 50}, func(s string) bool { got += s; return true })
		m.Close()
		if err != nil {
			t.Fatal(err)
		}
		if st.GeneratedTokens != 50 || got != want {
			t.Errorf("%d threads: %d tokens %q, want 50 tokens %q", threads, st.GeneratedTokens, got, want)
		}
	}
}

// TestShippedModelReproducible converts ../shared/nanogpt/ckpt.pt again the
// way testdata/README.md says and requires the shipped file byte for byte.
func TestShippedModelReproducible(t *testing.T) {
	ckpt := testref.Path(t, "nanogpt", "ckpt.pt")
	ft, err := convert.ParseQuantFileType("q8_0")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "shakespeare-char-q8_0.gguf")
	if _, err := convert.ConvertNanoGPT(ckpt, out, ft, convert.NanoGPTOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(shippedModel)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("converting %s gives %d bytes that differ from the shipped %s (%d bytes)", ckpt, len(got), shippedModel, len(want))
	}
}
