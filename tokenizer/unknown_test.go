package tokenizer

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infer-go/infer/internal/testref"
)

func TestUnencodable(t *testing.T) {
	// An SPM vocabulary without byte tokens: what is not a piece becomes
	// <unk>. A byte-level BPE vocabulary with only some bytes drops the
	// others, as nanoGPT's character vocabularies do.
	noBytes := kvs{
		keyModel:                          "llama",
		keyTokens:                         []string{"<unk>", "<s>", "</s>", "▁", "a", "b", "▁a"},
		keyScores:                         []float32{0, 0, 0, -1, -2, -3, -0.5},
		keyTokenType:                      []int32{typeUnknown, typeControl, typeControl, typeNormal, typeNormal, typeNormal, typeNormal},
		"tokenizer.ggml.bos_token_id":     uint32(1),
		"tokenizer.ggml.eos_token_id":     uint32(2),
		"tokenizer.ggml.unknown_token_id": uint32(0),
	}
	someBytes := bpeVocab(nil, nil)
	tokens := someBytes[keyTokens].([]string)
	someBytes = someBytes.with(keyTokens, tokens[:128]) // ASCII only
	someBytes = someBytes.with(keyTokenType, someBytes[keyTokenType].([]int32)[:128])
	full := spmVocab([]string{"▁a"}, nil, nil)

	for _, c := range []struct {
		name  string
		vocab kvs
		text  string
		want  []rune
	}{
		{"spm without bytes", noBytes, "aé~ba~", []rune{'é', '~'}},
		{"spm without bytes, all known", noBytes, "ab a", nil},
		{"ascii-only bpe", someBytes, "é~1ü", []rune{'é', 'ü'}},
		{"byte fallback", full, "é~1\n", nil},
		{"special text parsed", full, "<s>é", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			tok := mustLoad(t, c.vocab)
			ids := tok.Encode(c.text, false, true)
			if got := tok.Unencodable(c.text, ids); !slices.Equal(got, c.want) {
				t.Errorf("Unencodable(%q) = %q (ids %v), want %q", c.text, got, ids, c.want)
			}
		})
	}
}

// TestUnencodableVectors: llama.cpp's tokenizer test strings (unicode,
// emoji, whitespace runs, code), which every one of these vocabularies
// encodes without loss through byte fallback or byte-level BPE, report no
// character with the ids llama.cpp itself produced: no false alarms.
func TestUnencodableVectors(t *testing.T) {
	dir := testref.Dir(t)
	inps, err := filepath.Glob(filepath.Join(dir, "vocab", "ggml-vocab-*.gguf.inp"))
	if err != nil || len(inps) == 0 {
		t.Skip("no vocab test vectors in reference data")
	}
	for _, inp := range inps {
		vocab := strings.TrimSuffix(inp, ".inp")
		tok := loadTokenizer(t, vocab)
		for _, tc := range readVocabTests(t, inp, vocab+".out") {
			got := tok.Unencodable(tc.text, tc.want)
			if len(got) > 0 {
				t.Errorf("%s: %q: Unencodable = %q", filepath.Base(vocab), tc.text, got)
			}
		}
	}
}

// TestUnencodableCleanSpaces: GPT-2's vocabulary asks the detokenizer to
// drop spaces before punctuation; those spaces were encoded all the same.
func TestUnencodableCleanSpaces(t *testing.T) {
	tok := loadTokenizer(t, testref.Path(t, "vocab", "ggml-vocab-gpt-2.gguf"))
	for _, text := range []string{" ,", " ?", "a 's", " !"} {
		ids := tok.Encode(text, false, false)
		if got := tok.Unencodable(text, ids); len(got) > 0 {
			t.Errorf("Unencodable(%q) = %q", text, got)
		}
	}
}
