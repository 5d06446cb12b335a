package tokenizer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/infer-go/infer/internal/testref"
)

// fuzzTokenizers are the vocabularies FuzzEncode drives: two small built
// ones, always, and llama.cpp's test vocabularies when the reference data
// is present.
func fuzzTokenizers(f *testing.F) []*Tokenizer {
	spm, err := load(spmVocab([]string{"▁", "▁a", "a", "ab", "<u>"}, nil, map[string]int32{"<u>": typeUserDefined}))
	if err != nil {
		f.Fatal(err)
	}
	bpe, err := load(bpeVocab([]string{"Ġt", "he", "Ġthe", "<|x|>"}, []string{"Ġ t", "h e", "Ġt he"}).with(keyPre, "qwen2"))
	if err != nil {
		f.Fatal(err)
	}
	toks := []*Tokenizer{spm, bpe}
	if os.Getenv("INFER_SHARED") != "" || dirExists(filepath.Join(testref.Root(f), "..", "shared")) {
		for _, name := range []string{"llama-spm", "phi-3", "gpt-2", "falcon", "deepseek-llm"} {
			toks = append(toks, loadTokenizer(f, testref.Path(f, "vocab", "ggml-vocab-"+name+".gguf")))
		}
	}
	return toks
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// FuzzEncode feeds arbitrary bytes to Encode and checks that nothing
// panics, every id is in the vocabulary, and decoding gives the text back
// where llama.cpp's tokenizer preserves it:
//   - byte-level BPE with a token for every byte: the pieces spell the text, with each byte that is
//     not valid UTF-8 replaced by U+FFFD (Decode itself may clean spaces);
//   - SentencePiece with byte fallback: Decode returns valid UTF-8 text
//     exactly, unless it holds "▁" (read as a space) or user-defined
//     tokens (after which Encode inserts a space).
func FuzzEncode(f *testing.F) {
	seeds := []string{"", " ", "Hello world", " this is 🦙.cpp", "\xff\xfe", "a\xe2\x82", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"<s> </s> <unk> <|endoftext|> <|end|>", "  \n\n\t x", "3333333 1,000", "▁▁", "ø ö <u>", "\xc0\x80"}
	if dir := os.Getenv("INFER_SHARED"); dir != "" || dirExists(filepath.Join(testref.Root(f), "..", "shared")) {
		if raw, err := os.ReadFile(filepath.Join(testref.Dir(f), "vocab", "ggml-vocab-gpt-2.gguf.inp")); err == nil {
			seeds = append(seeds, strings.Split(string(raw), "\n__ggml_vocab_test__\n")...)
		}
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	toks := fuzzTokenizers(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		text := string(data)
		for _, tok := range toks {
			for _, special := range []bool{false, true} {
				for _, id := range tok.Encode(text, special, special) {
					if !tok.valid(id) {
						t.Fatalf("%s/%s: Encode(%q) gave id %d outside the vocabulary", tok.model, tok.pre, text, id)
					}
				}
			}
			ids := tok.Encode(text, false, false)
			switch tok.kind {
			case kindBPE:
				if !hasAllByteTokens(tok) {
					continue // llama.cpp drops bytes it has no token for
				}
				var spelled []byte
				for _, id := range ids {
					spelled = append(spelled, tok.Piece(id)...)
				}
				var want []byte
				for _, c := range codepointsOf(text) {
					want = appendCodepoint(want, c)
				}
				if string(spelled) != string(want) {
					t.Fatalf("%s/%s: Encode(%q) = %v spells %q", tok.model, tok.pre, text, ids, spelled)
				}
				if utf8.ValidString(text) {
					d := tok.NewStreamDecoder()
					var sb strings.Builder
					for _, id := range ids {
						sb.WriteString(d.Push(id))
					}
					sb.WriteString(d.Flush())
					if sb.String() != text {
						t.Fatalf("%s/%s: streaming %v gives %q, want %q", tok.model, tok.pre, ids, sb.String(), text)
					}
				}
			case kindSPM:
				if !utf8.ValidString(text) || strings.Contains(text, "▁") || hasUserDefined(tok, text) {
					continue
				}
				if got := tok.Decode(ids); got != text {
					t.Fatalf("%s: Decode(Encode(%q) = %v) = %q", tok.model, text, ids, got)
				}
			}
		}
	})
}

func hasUserDefined(tok *Tokenizer, text string) bool {
	for _, id := range tok.specials {
		if tok.attrs[id]&attrUserDefined != 0 && strings.Contains(text, tok.tokens[id]) {
			return true
		}
	}
	return false
}

func hasAllByteTokens(tok *Tokenizer) bool {
	for b := 0; b < 256; b++ {
		if _, ok := tok.ids[byteToUTF8[b]]; !ok {
			return false
		}
	}
	return true
}

// FuzzLoad builds vocabularies from arbitrary token lists, types, merges
// and flags: loading must fail cleanly or give a tokenizer that encodes
// and decodes anything without panicking.
func FuzzLoad(f *testing.F) {
	f.Add("a\nb\nab\n<s>", []byte{1, 1, 1, 3}, "a b\nab b", uint8(0), "ab <s>a\xff")
	f.Add("▁\n▁a\na\n<0x41>\n<u>", []byte{1, 1, 1, 6, 4}, "", uint8(1), " a A<u>")
	f.Add("x\nx", []byte{}, "x x", uint8(2), "xx")
	f.Add("Ġ\nt\nĠt", []byte{1, 1, 1}, "Ġ t\n t\nĠ", uint8(3), " t t")
	pres := []string{"gpt-2", "llama-bpe", "qwen2", "deepseek-llm", "falcon", "default"}
	f.Fuzz(func(t *testing.T, tokens string, types []byte, merges string, mode uint8, text string) {
		md := kvs{keyTokens: strings.Split(tokens, "\n")}
		if len(types) > 0 {
			tt := make([]int32, len(types))
			for i, b := range types {
				tt[i] = int32(b % 8)
			}
			md[keyTokenType] = tt
		}
		if mode%2 == 0 {
			md[keyModel] = "gpt2"
			md[keyPre] = pres[int(mode/2)%len(pres)]
			md[keyMerges] = strings.Split(merges, "\n")
		} else {
			md[keyModel] = "llama"
			md[keyAddSpacePrefix] = mode&4 != 0
		}
		md["tokenizer.ggml.bos_token_id"] = uint32(mode)
		tok, err := load(md)
		if err != nil {
			return
		}
		for _, special := range []bool{false, true} {
			ids := tok.Encode(text, special, special)
			for _, id := range ids {
				if !tok.valid(id) {
					t.Fatalf("id %d outside a vocabulary of %d", id, tok.VocabSize())
				}
			}
			tok.Detokenize(ids, special, special)
			d := tok.NewStreamDecoder()
			for _, id := range append(ids, -1, int32(tok.VocabSize())) {
				d.Push(id)
			}
			d.Flush()
		}
	})
}
