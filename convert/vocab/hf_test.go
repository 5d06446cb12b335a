package vocab

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infer-go/infer/convert/internal/testsrc"
	"github.com/infer-go/infer/convert/source"
)

func TestDetectPreTokenizer(t *testing.T) {
	bl := func(regex bool) map[string]any {
		return map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": regex}
	}
	split := func(re string) map[string]any {
		return map[string]any{"type": "Split", "pattern": map[string]any{"Regex": re}, "behavior": "Isolated", "invert": false}
	}
	seq := func(p ...any) map[string]any { return map[string]any{"type": "Sequence", "pretokenizers": p} }
	llama3 := `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	qwen := `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	for _, tc := range []struct {
		name       string
		pre        any
		normalizer any
		want       string
		ok         bool
	}{
		{"gpt2", bl(true), nil, "gpt-2", true},
		{"llama3", seq(split(llama3), bl(false)), nil, "llama-bpe", true},
		{"qwen2", seq(split(qwen), bl(false)), nil, "qwen2", true},
		{"starcoder", seq(map[string]any{"type": "Digits", "individual_digits": true}, bl(true)), nil, "starcoder", true},
		{"prefix space", map[string]any{"type": "ByteLevel", "add_prefix_space": true, "use_regex": true}, nil, "default", false},
		{"other regex", seq(split(`\s+`), bl(false)), nil, "default", false},
		{"with a normalizer", bl(true), map[string]any{"type": "NFC"}, "default", false},
		{"qwen2 with its NFC normalizer", seq(split(qwen), bl(false)), map[string]any{"type": "NFC"}, "qwen2", true},
		{"qwen2 with another normalizer", seq(split(qwen), bl(false)), map[string]any{"type": "NFKC"}, "default", false},
		{"none", nil, nil, "default", false},
		{"metaspace", map[string]any{"type": "Metaspace", "replacement": "▁"}, nil, "default", false},
	} {
		raw, _ := json.Marshal(map[string]any{"pre_tokenizer": tc.pre, "normalizer": tc.normalizer})
		var tj tokenizerJSON
		if err := json.Unmarshal(raw, &tj); err != nil {
			t.Fatal(err)
		}
		if got, ok := detectPreTokenizer(&tj); got != tc.want || ok != tc.ok {
			t.Errorf("%s: %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestTokenizerJSONMerges(t *testing.T) {
	for _, tc := range []struct {
		merges string
		want   []string
		err    bool
	}{
		{`["a b", "ab c"]`, []string{"a b", "ab c"}, false},
		{`[["a", "b"], ["a b", "c"]]`, []string{"a b", "a\u0120b c"}, false},
		{`[["a"]]`, nil, true},
		{`{"a": 1}`, nil, true},
		{`null`, nil, false},
	} {
		var tj tokenizerJSON
		tj.Model.Merges = json.RawMessage(tc.merges)
		got, err := tj.merges()
		if (err != nil) != tc.err || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, %v", tc.merges, got, err)
		}
	}
}

// TestSPMStyleTokenizerJSON converts a Llama tokenizer.json without
// tokenizer.model: byte tokens, control tokens from the special tokens,
// scores from the merge ranks, added tokens and padding.
func TestSPMStyleTokenizerJSON(t *testing.T) {
	dir := t.TempDir()
	vocab := map[string]int{"<unk>": 0, "<s>": 1, "</s>": 2, "<0x0A>": 3, "▁": 4, "a": 5, "b": 6, "▁a": 7, "ab": 8, "▁ab": 9}
	testsrc.WriteJSON(t, filepath.Join(dir, "tokenizer.json"), map[string]any{
		"added_tokens": []map[string]any{
			{"id": 0, "content": "<unk>", "special": true}, {"id": 1, "content": "<s>", "special": true},
			{"id": 2, "content": "</s>", "special": true}, {"id": 10, "content": "<tool>", "special": false},
			{"id": 11, "content": "<|im_end|>", "special": true}},
		"decoder": map[string]any{"type": "Sequence", "decoders": []any{}},
		"model": map[string]any{"type": "BPE", "byte_fallback": true, "vocab": vocab,
			"merges": []string{"▁ a", "a b", "▁a b"}},
	})
	testsrc.WriteJSON(t, filepath.Join(dir, "tokenizer_config.json"), map[string]any{
		"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": true,
		"additional_special_tokens": []string{"<|im_end|>"}, "add_prefix_space": false,
	})
	files, err := readHFTokenizerFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !files.json.isSPMStyle() {
		t.Fatal("not taken for an SPM-style tokenizer")
	}
	v, err := spmJSONVocab(files, 14)
	if err != nil {
		t.Fatal(err)
	}
	wantTokens := []string{"<unk>", "<s>", "</s>", "<0x0A>", "▁", "a", "b", "▁a", "ab", "▁ab", "<tool>", "<|im_end|>", "[PAD12]", "[PAD13]"}
	wantTypes := []int32{3, 3, 3, 6, 1, 1, 1, 1, 1, 1, 4, 3, 5, 5}
	wantScores := []float32{0, 0, 0, 0, -7, -8, -9, 0, -1, -2, -1000, -1000, -1000, -1000}
	if !slices.Equal(v.tokens, wantTokens) || !slices.Equal(v.types, wantTypes) || !slices.Equal(v.scores, wantScores) {
		t.Errorf("tokens %q\ntypes %v\nscores %v", v.tokens, v.types, v.scores)
	}
	if _, err := spmJSONVocab(files, 11); err == nil {
		t.Error("12 tokens in a vocabulary of 11: no error")
	}
	// The special tokens and flags SpecialVocab reads.
	sv, err := loadSpecialVocab(files, source.HFConfig{"pad_token_id": json.RawMessage("0")}, 14, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []specialID{{"bos", 1}, {"eos", 2}, {"unk", 0}, {"pad", 0}}
	if !slices.Equal(sv.ids, want) || !slices.Equal(sv.add, []specialFlag{{"bos", true}}) {
		t.Errorf("special ids %v, add %v", sv.ids, sv.add)
	}
}

func TestLooksSpecial(t *testing.T) {
	for s, want := range map[string]bool{"<|im_start|>": true, "<｜begin▁of▁sentence｜>": true, "<unused12>": true,
		"<pad>": true, "<tool>": false, "|>": false, "hello": false} {
		if looksSpecial(s) != want {
			t.Errorf("looksSpecial(%q) = %v", s, !want)
		}
	}
}

func TestParseSentencePieceModel(t *testing.T) {
	no := false
	pieces := []SentencePiece{{"<unk>", 0, spmUnknown}, {"<s>", 0, spmControl}, {"<0x41>", 0, spmByte}, {"▁the", -1.5, spmNormal}, {"<x>", 0, spmUserDefined}}
	m, err := ParseSentencePieceModel(spmModel(pieces, &no))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Pieces, pieces) || m.AddDummyPrefix || m.ModelType != 2 {
		t.Errorf("%+v", m)
	}
	good := spmModel(pieces, nil)
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "no pieces"},
		{"truncated", good[:len(good)-3], "past the end"},
		{"bad varint", []byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "varint"},
		{"field 0", []byte{0x02, 0x00}, "field number"},
		{"group wire type", []byte{0x0b}, "wire type"},
		{"bad piece type", spmModel([]SentencePiece{{"x", 0, 9}}, nil), "type 9"},
		{"invalid UTF-8", spmModel([]SentencePiece{{"\xff", 0, 1}}, nil), "not UTF-8"},
	} {
		if _, err := ParseSentencePieceModel(tc.data); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// TestSPMModelVocab checks _create_vocab_sentencepiece's overrides:
// added_tokens.json, added_tokens_decoder, padding, add_dummy_prefix.
func TestSPMModelVocab(t *testing.T) {
	dir := t.TempDir()
	no := false
	pieces := []SentencePiece{{"<unk>", 0, spmUnknown}, {"<s>", 0, spmControl}, {"</s>", 0, spmControl},
		{"<0x41>", 0, spmByte}, {"▁a", -1, spmNormal}, {"<user>", 0, spmUserDefined}, {"<gap>", 0, spmUnused}}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.model"), spmModel(pieces, &no), 0o644); err != nil {
		t.Fatal(err)
	}
	testsrc.WriteJSON(t, filepath.Join(dir, "added_tokens.json"), map[string]int{"<extra>": 7, "<far>": 100})
	testsrc.WriteJSON(t, filepath.Join(dir, "tokenizer_config.json"), map[string]any{
		"added_tokens_decoder": map[string]any{
			"0": map[string]any{"content": "<unk>", "special": true},
			"8": map[string]any{"content": "▁hi▁", "special": false}},
	})
	files, err := readHFTokenizerFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	var warnings []string
	v, err := spmModelVocab(files, 10, false, warner(func(m string) { warnings = append(warnings, m) }))
	if err != nil {
		t.Fatal(err)
	}
	wantTokens := []string{"<unk>", "<s>", "</s>", "<0x41>", "▁a", "<user>", "<gap>", "<extra>", " hi ", "[PAD9]"}
	wantTypes := []int32{3, 3, 3, 6, 1, 1, 5, 4, 4, 5}
	wantScores := []float32{-1000, 0, 0, 0, -1, 0, 0, -1000, -1000, -10000}
	if !slices.Equal(v.tokens, wantTokens) || !slices.Equal(v.types, wantTypes) || !slices.Equal(v.scores, wantScores) {
		t.Errorf("tokens %q\ntypes %v\nscores %v", v.tokens, v.types, v.scores)
	}
	if v.addSpacePrefix == nil || *v.addSpacePrefix {
		t.Error("add_dummy_prefix false should give add_space_prefix false")
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "<far>") {
		t.Errorf("warnings %q", warnings)
	}
}

// spmModel encodes a tokenizer.model holding pieces.
func spmModel(pieces []SentencePiece, addDummyPrefix *bool) []byte {
	ps := make([]testsrc.Piece, len(pieces))
	for i, p := range pieces {
		ps[i] = testsrc.Piece{Piece: p.Piece, Score: p.Score, Type: p.Type}
	}
	return testsrc.SPMModel(ps, addDummyPrefix)
}

func FuzzParseSentencePieceModel(f *testing.F) {
	no := false
	f.Add(spmModel([]SentencePiece{{"<unk>", 0, spmUnknown}, {"▁a", -1, spmNormal}}, &no))
	f.Add([]byte{0x0a, 0x03, 0x0a, 0x01, 'a'})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseSentencePieceModel(data)
		if err != nil {
			return
		}
		if len(m.Pieces) == 0 || len(m.Pieces) > len(data)/2 {
			t.Fatalf("%d pieces from %d bytes", len(m.Pieces), len(data))
		}
	})
}
