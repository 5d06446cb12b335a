package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/internal/testref"
)

// loadedVocabs caches tokenizers by path: several tests share a vocabulary.
var loadedVocabs sync.Map

func loadTokenizer(tb testing.TB, path string) *Tokenizer {
	tb.Helper()
	if tok, ok := loadedVocabs.Load(path); ok {
		return tok.(*Tokenizer)
	}
	f, err := gguf.Open(path)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	tok, err := FromGGUF(f)
	if err != nil {
		tb.Fatalf("FromGGUF(%s): %v", filepath.Base(path), err)
	}
	loadedVocabs.Store(path, tok)
	return tok
}

// vocabTest is one case of llama.cpp's tests/test-tokenizer-0 data.
type vocabTest struct {
	text string
	want []int32
}

// readVocabTests reads NAME.gguf.inp/.out the way test-tokenizer-0.cpp
// does: inputs separated by "\n__ggml_vocab_test__\n", one output line per
// input, ids separated by single spaces after trimming the line. The C++
// test keeps its cases in a map, so a repeated input counts once, with
// its last expectation.
func readVocabTests(tb testing.TB, inpPath, outPath string) []vocabTest {
	tb.Helper()
	raw, err := os.ReadFile(inpPath)
	if err != nil {
		tb.Fatal(err)
	}
	outRaw, err := os.ReadFile(outPath)
	if err != nil {
		tb.Fatal(err)
	}
	const sep = "\n__ggml_vocab_test__\n"
	var inputs []string
	for s := string(raw); len(s) > 0; {
		i := strings.Index(s, sep)
		if i < 0 {
			inputs = append(inputs, s)
			break
		}
		inputs = append(inputs, s[:i])
		s = s[i+len(sep):]
	}
	lines := strings.Split(string(outRaw), "\n")
	if n := len(lines); n > 0 && lines[n-1] == "" && strings.HasSuffix(string(outRaw), "\n") {
		lines = lines[:n-1] // getline yields no line after the final newline
	}
	if len(inputs) != len(lines) {
		tb.Fatalf("%s: %d inputs but %d output lines", filepath.Base(inpPath), len(inputs), len(lines))
	}
	index := map[string]int{}
	var tests []vocabTest
	for i, in := range inputs {
		var want []int32
		for _, f := range strings.Fields(lines[i]) {
			id, err := strconv.ParseInt(f, 10, 32)
			if err != nil {
				tb.Fatalf("%s line %d: %v", filepath.Base(outPath), i+1, err)
			}
			want = append(want, int32(id))
		}
		if j, ok := index[in]; ok {
			tests[j].want = want
			continue
		}
		index[in] = len(tests)
		tests = append(tests, vocabTest{text: in, want: want})
	}
	return tests
}

// TestLlamaCppVocabVectors runs llama.cpp's own tokenizer test vectors:
// every ggml-vocab-*.gguf with .inp/.out files, encoded without BOS/EOS and
// without special-token parsing, exactly as test-tokenizer-0 does.
func TestLlamaCppVocabVectors(t *testing.T) {
	dir := testref.Dir(t)
	inps, err := filepath.Glob(filepath.Join(dir, "vocab", "ggml-vocab-*.gguf.inp"))
	if err != nil {
		t.Fatal(err)
	}
	if len(inps) == 0 {
		t.Skip("no vocab test vectors in reference data")
	}
	for _, inp := range inps {
		vocab := strings.TrimSuffix(inp, ".inp")
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(vocab), "ggml-vocab-"), ".gguf")
		t.Run(name, func(t *testing.T) {
			tok := loadTokenizer(t, vocab)
			tests := readVocabTests(t, inp, vocab+".out")
			pass := 0
			for _, tc := range tests {
				got := tok.Encode(tc.text, false, false)
				if !slices.Equal(got, tc.want) {
					t.Errorf("Encode(%q)\n got %v\nwant %v", tc.text, got, tc.want)
					continue
				}
				pass++
			}
			t.Logf("%s: %d/%d vectors pass", name, pass, len(tests))
		})
	}
}

// trickyRef is ref/tokenizer/llama-tokenize-tricky.json: llama-tokenize's
// output, with the BOS the vocabulary asks for, with and without
// special-token parsing.
type trickyRef struct {
	Vocabs map[string]struct {
		File    string `json:"file"`
		Results []struct {
			Text           string  `json:"text"`
			ParseSpecial   []int32 `json:"parse_special"`
			NoParseSpecial []int32 `json:"no_parse_special"`
		} `json:"results"`
	} `json:"vocabs"`
}

func TestLlamaTokenizeTricky(t *testing.T) {
	path := testref.Path(t, "ref", "tokenizer", "llama-tokenize-tricky.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ref trickyRef
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	for name, v := range ref.Vocabs {
		t.Run(name, func(t *testing.T) {
			tok := loadTokenizer(t, testref.Path(t, "vocab", v.File))
			pass, total := 0, 0
			for _, r := range v.Results {
				for _, c := range []struct {
					parse bool
					want  []int32
				}{{true, r.ParseSpecial}, {false, r.NoParseSpecial}} {
					total++
					// llama-tokenize adds special tokens when the vocabulary
					// adds BOS.
					got := tok.Encode(r.Text, tok.AddBOS(), c.parse)
					if !slices.Equal(got, c.want) {
						t.Errorf("Encode(%q, parseSpecial=%v)\n got %v\nwant %v", r.Text, c.parse, got, c.want)
						continue
					}
					pass++
				}
			}
			t.Logf("%s: %d/%d tricky cases pass", name, pass, total)
		})
	}
}

// TestModelPromptTokens checks the token ids llama.cpp fed the reference
// models (ref/logits/*.json) against the models' own vocabularies.
func TestModelPromptTokens(t *testing.T) {
	dir := testref.Dir(t)
	refs, err := filepath.Glob(filepath.Join(dir, "ref", "logits", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) == 0 {
		t.Skip("no reference logits metadata")
	}
	for _, p := range refs {
		t.Run(strings.TrimSuffix(filepath.Base(p), ".json"), func(t *testing.T) {
			raw, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var ref struct {
				Model      string  `json:"model"`
				Prompt     string  `json:"prompt"`
				AddSpecial bool    `json:"add_special"`
				Tokens     []int32 `json:"tokens"`
				NVocab     int     `json:"n_vocab"`
			}
			if err := json.Unmarshal(raw, &ref); err != nil {
				t.Fatal(err)
			}
			tok := loadTokenizer(t, testref.Path(t, filepath.FromSlash(ref.Model)))
			if tok.VocabSize() != ref.NVocab {
				t.Errorf("VocabSize = %d, want %d", tok.VocabSize(), ref.NVocab)
			}
			got := tok.Encode(ref.Prompt, ref.AddSpecial, false)
			if !slices.Equal(got, ref.Tokens) {
				t.Errorf("Encode(%q, %v)\n got %v\nwant %v", ref.Prompt, ref.AddSpecial, got, ref.Tokens)
			}
			// Decoding the prompt's own tokens gives the prompt back; with BOS
			// in front, llama.cpp keeps the SentencePiece space (see Decode).
			ids := got
			if len(ids) > 0 && ids[0] == tok.BOS() && tok.AddBOS() && ref.AddSpecial {
				ids = ids[1:]
			}
			if dec := tok.Decode(ids); dec != ref.Prompt {
				t.Errorf("Decode = %q, want %q", dec, ref.Prompt)
			}
		})
	}
}

// TestConcurrentEncode: a Tokenizer is shared by goroutines (its scratch
// space is pooled); results must not depend on it.
func TestConcurrentEncode(t *testing.T) {
	for _, name := range []string{"llama-spm", "deepseek-llm"} {
		tok := loadTokenizer(t, testref.Path(t, "vocab", "ggml-vocab-"+name+".gguf"))
		tests := readVocabTests(t, testref.Path(t, "vocab", "ggml-vocab-"+name+".gguf.inp"), testref.Path(t, "vocab", "ggml-vocab-"+name+".gguf.out"))
		var wg sync.WaitGroup
		errs := make(chan string, 4*len(tests))
		for g := range 4 {
			wg.Go(func() {
				for i := range tests {
					tc := tests[(i+g*7)%len(tests)]
					if got := tok.Encode(tc.text, false, false); !slices.Equal(got, tc.want) {
						errs <- tc.text
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for text := range errs {
			t.Errorf("%s: concurrent Encode(%q) differs", name, text)
		}
	}
}
