package tokenizer

import (
	"flag"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/infer-go/infer/internal/testref"
)

var fullSweep = flag.Bool("tokenizer.full", false, "round-trip every Unicode codepoint, not a sample")

// vocabFiles lists every vocabulary-only GGUF of the reference data.
func vocabFiles(t *testing.T) []string {
	t.Helper()
	dir := testref.Dir(t)
	files, err := filepath.Glob(filepath.Join(dir, "vocab", "ggml-vocab-*.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no vocabularies in reference data")
	}
	return files
}

func vocabName(path string) string {
	return strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "ggml-vocab-"), ".gguf")
}

// TestTokenRoundTrip is llama.cpp's test-tokenizer-1-{spm,bpe} vocabulary
// round trip: every token's text, re-tokenized with special-token parsing,
// detokenizes to the same text. (For BPE, tokens whose bytes are not valid
// UTF-8 on their own are skipped, as llama.cpp's test skips them.)
func TestTokenRoundTrip(t *testing.T) {
	for _, path := range vocabFiles(t) {
		t.Run(vocabName(path), func(t *testing.T) {
			tok := loadTokenizer(t, path)
			failures := 0
			for id := int32(0); int(id) < tok.VocabSize(); id++ {
				str := tok.Detokenize([]int32{id}, false, true)
				if tok.kind == kindBPE && !utf8.ValidString(str) {
					continue
				}
				ids := tok.Encode(str, false, true)
				if check := tok.Detokenize(ids, false, true); check != str {
					if failures++; failures <= 10 {
						t.Errorf("token %d %q detokenizes to %q, which re-tokenizes to %v = %q", id, tok.TokenText(id), str, ids, check)
					}
				}
			}
			if failures > 10 {
				t.Errorf("... %d failures in all", failures)
			}
		})
	}
}

// TestCodepointRoundTrip is the codepoint half of test-tokenizer-1: each
// codepoint alone encodes and decodes back to itself (except U+2581,
// which SentencePiece reads as a space). A sample unless -tokenizer.full
// (go test ./tokenizer/ -run CodepointRoundTrip -args -tokenizer.full).
func TestCodepointRoundTrip(t *testing.T) {
	step := rune(7)
	if *fullSweep {
		step = 1
	}
	for _, path := range vocabFiles(t) {
		t.Run(vocabName(path), func(t *testing.T) {
			tok := loadTokenizer(t, path)
			failures := 0
			for cp := rune(0); cp < 0x110000; cp += step {
				if (cp >= 0xD800 && cp <= 0xDFFF) || (cp >= 0x40000 && cp <= 0xE0000) {
					continue // surrogates and unassigned planes, as llama.cpp skips them
				}
				str := string(appendCodepoint(nil, cp))
				if tok.kind == kindBPE && !bytesHaveTokens(tok, str) {
					continue // falcon lacks some control bytes; llama.cpp drops them too
				}
				ids := tok.Encode(str, false, tok.kind == kindSPM)
				if check := tok.Detokenize(ids, false, true); cp != 0x2581 && check != str {
					if failures++; failures <= 10 {
						t.Errorf("U+%04X %q encodes to %v, which decodes to %q", cp, str, ids, check)
					}
				}
			}
			if failures > 10 {
				t.Errorf("... %d failures in all", failures)
			}
		})
	}
}

// bytesHaveTokens reports whether every byte of s has a byte-level token.
func bytesHaveTokens(tok *Tokenizer, s string) bool {
	for i := 0; i < len(s); i++ {
		if _, ok := tok.ids[byteToUTF8[s[i]]]; !ok {
			return false
		}
	}
	return true
}
