package convert

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestConvertHFErrors breaks a small Llama directory in the ways real
// downloads break and requires a clear error and no output file.
func TestConvertHFErrors(t *testing.T) {
	base := synthLlama{embd: 32, layers: 2, heads: 2, kv: 1, ff: 40, vocab: 262}
	drop := func(name string) func([]hfTensor) []hfTensor {
		return func(ts []hfTensor) []hfTensor {
			return slices.DeleteFunc(ts, func(x hfTensor) bool { return x.name == name })
		}
	}
	editJSON := func(file string, f func(m map[string]any)) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			raw, err := os.ReadFile(filepath.Join(dir, file))
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			f(m)
			writeJSONFile(t, filepath.Join(dir, file), m)
		}
	}
	for _, tc := range []struct {
		name  string
		model synthLlama
		after func(t *testing.T, dir string)
		want  string
	}{
		{"unknown architecture", base, editJSON("config.json", func(m map[string]any) {
			m["architectures"], m["model_type"] = []string{"BertForMaskedLM"}, "bert"
		}), "BertForMaskedLM is not supported"},
		{"missing tensor", synthLlama{embd: 32, layers: 2, heads: 2, kv: 1, ff: 40, vocab: 262,
			edit: drop("model.layers.1.mlp.up_proj.weight")}, nil, `missing tensor "model.layers.1.mlp.up_proj.weight"`},
		{"shape mismatch", synthLlama{embd: 32, layers: 2, heads: 2, kv: 1, ff: 40, vocab: 262, edit: func(ts []hfTensor) []hfTensor {
			for i := range ts {
				if ts[i].name == "model.layers.0.self_attn.k_proj.weight" {
					ts[i].shape = []int{32, 16} // transposed
				}
			}
			return ts
		}}, nil, "shape [32 16], want [16 32]"},
		{"unmapped tensor", synthLlama{embd: 32, layers: 2, heads: 2, kv: 1, ff: 40, vocab: 262, edit: func(ts []hfTensor) []hfTensor {
			return append(ts, hfTensor{"model.layers.2.mlp.up_proj.weight", "F32", []int{1}, make([]byte, 4)})
		}}, nil, "cannot map tensor(s) model.layers.2.mlp.up_proj.weight"},
		{"integer weights", synthLlama{embd: 32, layers: 2, heads: 2, kv: 1, ff: 40, vocab: 262, edit: func(ts []hfTensor) []hfTensor {
			for i := range ts {
				if ts[i].name == "model.norm.weight" {
					ts[i].dtype = "I32"
				}
			}
			return ts
		}}, nil, "dtype I32 is not a float type"},
		{"truncated safetensors", base, func(t *testing.T, dir string) {
			path := filepath.Join(dir, "model.safetensors")
			st, _ := os.Stat(path)
			if err := os.Truncate(path, st.Size()-100); err != nil {
				t.Fatal(err)
			}
		}, "outside the"},
		{"missing shard", synthLlama{embd: 32, layers: 2, heads: 2, kv: 1, ff: 40, vocab: 262, shards: 3}, func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "model-00002-of-00003.safetensors")); err != nil {
				t.Fatal(err)
			}
		}, "model-00002-of-00003.safetensors: no such file"},
		{"index and shards disagree", synthLlama{embd: 32, layers: 2, heads: 2, kv: 1, ff: 40, vocab: 262, shards: 2},
			editJSON("model.safetensors.index.json", func(m map[string]any) {
				m["weight_map"].(map[string]any)["model.layers.9.mlp.up_proj.weight"] = "model-00001-of-00002.safetensors"
			}), "the index lists tensors the shards lack: model.layers.9.mlp.up_proj.weight"},
		{"no weights", base, func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "model.safetensors")); err != nil {
				t.Fatal(err)
			}
		}, "no model.safetensors"},
		{"config without hidden_size", base, editJSON("config.json", func(m map[string]any) { delete(m, "hidden_size") }),
			"config.json has none of hidden_size"},
		{"vocab_size below the tokenizer's", base, editJSON("config.json", func(m map[string]any) { m["vocab_size"] = 200 }),
			"token id 259, but the model's vocab_size is 200"},
		{"lm_head missing, not tied", synthLlama{embd: 32, layers: 2, heads: 2, kv: 1, ff: 40, vocab: 262,
			edit: drop("lm_head.weight")}, nil, `missing tensor "lm_head.weight"`},
		{"no tokenizer", base, func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "tokenizer.json")); err != nil {
				t.Fatal(err)
			}
		}, "no tokenizer"},
		{"unigram tokenizer", base, editJSON("tokenizer.json", func(m map[string]any) {
			m["model"] = map[string]any{"type": "Unigram", "vocab": []any{}}
		}), `model type "Unigram" is not supported`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := tc.model.write(t, 1)
			if tc.after != nil {
				tc.after(t, dir)
			}
			outDir := t.TempDir()
			out := filepath.Join(outDir, "out.gguf")
			_, err := ConvertHF(dir, out, LMOptions{QuantizeOptions: QuantizeOptions{Threads: 1}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if entries, _ := os.ReadDir(outDir); len(entries) != 0 {
				t.Errorf("a failed conversion left %s", entries[0].Name())
			}
		})
	}
}

func TestDetectPreTokenizer(t *testing.T) {
	bl := func(regex bool) map[string]any {
		return map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": regex}
	}
	split := func(re string) map[string]any {
		return map[string]any{"type": "Split", "pattern": map[string]any{"Regex": re}, "behavior": "Isolated", "invert": false}
	}
	seq := func(p ...any) map[string]any { return map[string]any{"type": "Sequence", "pretokenizers": p} }
	qwen := `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	for _, tc := range []struct {
		name       string
		pre        any
		normalizer any
		want       string
		ok         bool
	}{
		{"gpt2", bl(true), nil, "gpt-2", true},
		{"llama3", llama3PreTokenizer, nil, "llama-bpe", true},
		{"qwen2", seq(split(qwen), bl(false)), nil, "qwen2", true},
		{"starcoder", seq(map[string]any{"type": "Digits", "individual_digits": true}, bl(true)), nil, "starcoder", true},
		{"prefix space", map[string]any{"type": "ByteLevel", "add_prefix_space": true, "use_regex": true}, nil, "default", false},
		{"other regex", seq(split(`\s+`), bl(false)), nil, "default", false},
		{"with a normalizer", bl(true), map[string]any{"type": "NFC"}, "default", false},
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
	writeJSONFile(t, filepath.Join(dir, "tokenizer.json"), map[string]any{
		"added_tokens": []map[string]any{
			{"id": 0, "content": "<unk>", "special": true}, {"id": 1, "content": "<s>", "special": true},
			{"id": 2, "content": "</s>", "special": true}, {"id": 10, "content": "<tool>", "special": false},
			{"id": 11, "content": "<|im_end|>", "special": true}},
		"decoder": map[string]any{"type": "Sequence", "decoders": []any{}},
		"model": map[string]any{"type": "BPE", "byte_fallback": true, "vocab": vocab,
			"merges": []string{"▁ a", "a b", "▁a b"}},
	})
	writeJSONFile(t, filepath.Join(dir, "tokenizer_config.json"), map[string]any{
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
	sv, err := loadSpecialVocab(files, hfConfig{"pad_token_id": json.RawMessage("0")}, 14, false, &LMOptions{})
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
	m, err := ParseSentencePieceModel(encodeSPMModel(pieces, &no))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Pieces, pieces) || m.AddDummyPrefix || m.ModelType != 2 {
		t.Errorf("%+v", m)
	}
	good := encodeSPMModel(pieces, nil)
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
		{"bad piece type", encodeSPMModel([]SentencePiece{{"x", 0, 9}}, nil), "type 9"},
		{"invalid UTF-8", encodeSPMModel([]SentencePiece{{"\xff", 0, 1}}, nil), "not UTF-8"},
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
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.model"), encodeSPMModel(pieces, &no), 0o644); err != nil {
		t.Fatal(err)
	}
	writeJSONFile(t, filepath.Join(dir, "added_tokens.json"), map[string]int{"<extra>": 7, "<far>": 100})
	writeJSONFile(t, filepath.Join(dir, "tokenizer_config.json"), map[string]any{
		"added_tokens_decoder": map[string]any{
			"0": map[string]any{"content": "<unk>", "special": true},
			"8": map[string]any{"content": "▁hi▁", "special": false}},
	})
	files, err := readHFTokenizerFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	var warnings []string
	v, err := spmModelVocab(files, 10, &LMOptions{Warn: func(m string) { warnings = append(warnings, m) }})
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

func FuzzParseSentencePieceModel(f *testing.F) {
	no := false
	f.Add(encodeSPMModel([]SentencePiece{{"<unk>", 0, spmUnknown}, {"▁a", -1, spmNormal}}, &no))
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
