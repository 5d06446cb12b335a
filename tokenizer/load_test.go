package tokenizer

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/infer-go/infer/gguf"
)

func TestLoadErrors(t *testing.T) {
	spm := spmVocab([]string{"▁a"}, nil, nil)
	bpe := bpeVocab([]string{"Ġt"}, []string{"Ġ t"})
	// tiny is too small for the BPE default BOS/EOS id 11.
	tiny := kvs{keyModel: "gpt2", keyTokens: []string{"a", "b", "ab"}, keyMerges: []string{"a b"}}
	tests := []struct {
		name string
		md   kvs
		want string // substring of the error
	}{
		{"no model", spm.with(keyModel, nil), "no tokenizer.ggml.model"},
		{"model not a string", spm.with(keyModel, uint32(1)), `"tokenizer.ggml.model": have UINT32, want STRING`},
		{"unknown model", spm.with(keyModel, "bert"), `unsupported tokenizer model "bert"`},
		{"no vocab", spm.with(keyModel, "no_vocab"), "no vocabulary"},
		{"no tokens", spm.with(keyTokens, nil), "no tokenizer.ggml.tokens"},
		{"empty tokens", spm.with(keyTokens, []string{}).with(keyScores, nil).with(keyTokenType, nil), "is empty"},
		{"tokens not strings", spm.with(keyTokens, []int32{1, 2}), "want ARRAY[STRING]"},
		{"short scores", spm.with(keyScores, []float32{0, 1}), "tokenizer.ggml.scores has 2 entries but tokenizer.ggml.tokens has 260"},
		{"long types", spm.with(keyTokenType, make([]int32, 300)), "tokenizer.ggml.token_type has 300 entries"},
		{"scores wrong type", spm.with(keyScores, []string{"x"}), "want ARRAY[FLOAT32] or ARRAY[INT32]"},
		{"types wrong type", spm.with(keyTokenType, []float32{1}), "want ARRAY[integer]"},
		{"type too large", spm.with(keyTokenType, make([]uint32, 259)).with(keyTokenType, append(make([]uint32, 259), 1<<31)), "does not fit in INT32"},
		{"duplicate token", spm.with(keyTokens, append(spm[keyTokens].([]string)[:259:259], "<s>")), `duplicate token "<s>"`},
		{"add_bos without bos", tiny.with(keyAddBOS, true), "BOS is to be added (tokenizer.ggml.add_bos_token"},
		{"add_eos without eos", tiny.with(keyAddEOS, true), "EOS is to be added (tokenizer.ggml.add_eos_token)"},
		{"bool key wrong type", spm.with(keyAddBOS, uint8(1)), `"tokenizer.ggml.add_bos_token": have UINT8, want BOOL`},
		{"id key wrong type", spm.with("tokenizer.ggml.bos_token_id", "1"), `"tokenizer.ggml.bos_token_id": have STRING`},
		{"no merges", bpe.with(keyMerges, nil), "gpt2 vocabulary without tokenizer.ggml.merges"},
		{"merges not strings", bpe.with(keyMerges, []uint32{1}), `"tokenizer.ggml.merges": have ARRAY[UINT32]`},
		{"merge without space", bpe.with(keyMerges, []string{"Ġt"}), `tokenizer.ggml.merges[0] = "Ġt"`},
		{"merge with empty right", bpe.with(keyMerges, []string{"Ġ "}), `tokenizer.ggml.merges[0]`},
		{"empty merge", bpe.with(keyMerges, []string{""}), `tokenizer.ggml.merges[0] = ""`},
		{"unknown pre", bpe.with(keyPre, "klingon"), `unsupported pre-tokenizer "klingon"`},
		{"pre not a string", bpe.with(keyPre, int32(3)), `"tokenizer.ggml.pre": have INT32`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := load(tc.md)
			if err == nil {
				t.Fatalf("load succeeded (vocab %d), want error containing %q", tok.VocabSize(), tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

// TestLoadDefaults checks the settings llama.cpp derives when keys are
// absent, and the ones the keys override.
func TestLoadDefaults(t *testing.T) {
	spm := spmVocab([]string{"▁a"}, nil, nil)
	tok := mustLoad(t, spm.with("tokenizer.ggml.bos_token_id", nil).with("tokenizer.ggml.eos_token_id", nil))
	if tok.BOS() != 1 || tok.EOS() != 2 || tok.UNK() != 0 || !tok.AddBOS() || tok.AddEOS() || !tok.addSpacePrefix {
		t.Errorf("SPM defaults: bos %d eos %d unk %d addBOS %v addEOS %v spacePrefix %v", tok.BOS(), tok.EOS(), tok.UNK(), tok.AddBOS(), tok.AddEOS(), tok.addSpacePrefix)
	}
	if !tok.IsEOG(2) || tok.IsEOG(1) {
		t.Errorf("SPM EOG set %v, want EOS 2 only", tok.EOGTokens())
	}
	tok = mustLoad(t, spm.with(keyAddBOS, false).with(keyAddEOS, true).with(keyAddSpacePrefix, false))
	if tok.AddBOS() || !tok.AddEOS() || tok.addSpacePrefix {
		t.Errorf("SPM overrides not applied: addBOS %v addEOS %v spacePrefix %v", tok.AddBOS(), tok.AddEOS(), tok.addSpacePrefix)
	}
	// Out-of-range and negative ids keep the default.
	tok = mustLoad(t, spm.with("tokenizer.ggml.bos_token_id", uint32(1<<20)).with("tokenizer.ggml.eos_token_id", int32(-1)))
	if tok.BOS() != 1 || tok.EOS() != 2 {
		t.Errorf("bad ids: bos %d eos %d, want defaults 1 2", tok.BOS(), tok.EOS())
	}

	bpe := bpeVocab([]string{"Ġt"}, []string{"Ġ t"})
	tok = mustLoad(t, bpe)
	// The default BOS/EOS id 11 exists in this vocabulary (it is byte 11).
	if tok.AddBOS() || tok.AddEOS() || tok.addSpacePrefix || !tok.cleanSpaces || tok.BOS() != 11 || tok.EOS() != 11 {
		t.Errorf("BPE defaults: addBOS %v addEOS %v spacePrefix %v clean %v bos %d eos %d", tok.AddBOS(), tok.AddEOS(), tok.addSpacePrefix, tok.cleanSpaces, tok.BOS(), tok.EOS())
	}
	tok = mustLoad(t, bpe.with(keyPre, "llama-bpe"))
	if !tok.AddBOS() || !tok.ignoreMerges {
		t.Errorf("llama-bpe: addBOS %v ignoreMerges %v, want both", tok.AddBOS(), tok.ignoreMerges)
	}
	tok = mustLoad(t, bpe.with(keyPre, "qwen2"))
	if tok.cleanSpaces {
		t.Errorf("qwen2 cleans spaces; llama.cpp does not")
	}
	tok = mustLoad(t, bpe.with(keyPre, nil))
	if tok.Pre() != "" || tok.split == nil {
		t.Errorf("missing pre: want the default splitter")
	}
	// Scores may be INT32; token types any integer type.
	tok = mustLoad(t, bpe.with(keyScores, make([]int32, 257)).with(keyTokenType, make([]uint8, 257)))
	if tok.VocabSize() != 257 {
		t.Errorf("VocabSize %d", tok.VocabSize())
	}
}

// TestEveryPreTypeCompiles makes sure each supported tokenizer.ggml.pre
// value yields a working splitter.
func TestEveryPreTypeCompiles(t *testing.T) {
	for name := range preTypes {
		md := bpeVocab([]string{"Ġt"}, []string{"Ġ t"}).with(keyPre, name)
		tok, err := load(md)
		if err != nil {
			t.Errorf("pre %q: %v", name, err)
			continue
		}
		// Pre-tokenizers only cut text up: the pieces put back together
		// are the text.
		text := "Hello, world! It's 2024: naïve café 123456 — 你好 ok\n\n  x "
		var got []byte
		for _, id := range tok.Encode(text, false, false) {
			got = append(got, tok.Piece(id)...)
		}
		if string(got) != text {
			t.Errorf("pre %q: pieces spell %q", name, got)
		}
	}
}

// TestEmptyTokenText: llama.cpp names an empty token "[EMPTY_<id>]".
func TestEmptyTokenText(t *testing.T) {
	md := spmVocab([]string{"▁a", ""}, nil, nil)
	tok := mustLoad(t, md)
	if got := tok.TokenText(260); got != "[EMPTY_260]" {
		t.Errorf("TokenText(260) = %q", got)
	}
}

// TestFromGGUF goes through a real file: the writer's output, opened back.
func TestFromGGUF(t *testing.T) {
	w := gguf.NewWriter()
	for k, v := range spmVocab([]string{"▁a", "▁b"}, nil, nil) {
		w.AddKV(k, gguf.ValueOf(v))
	}
	path := filepath.Join(t.TempDir(), "vocab.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	// The tokenizer must not depend on the mapping once loaded.
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	got := tok.Encode("a b", true, false)
	want := []int32{1, 259, 260}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("Encode = %v, want %v", got, want)
	}
	if s := tok.Decode(got); s != " a b" {
		t.Errorf("Decode = %q, want %q (the space after BOS is llama.cpp's)", s, " a b")
	}

	// And a file without a vocabulary.
	w = gguf.NewWriter()
	w.AddKV("general.architecture", gguf.ValueOf("llama"))
	path = filepath.Join(t.TempDir(), "novocab.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	if f, err = gguf.Open(path); err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := FromGGUF(f); err == nil || !strings.Contains(err.Error(), keyModel) {
		t.Errorf("FromGGUF without vocabulary: err = %v", err)
	}
}
