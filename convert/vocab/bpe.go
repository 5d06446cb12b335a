package vocab

// Vocabularies for nanoGPT models, written as llama.cpp's byte-level BPE
// ("gpt2") tokenizer: nanoGPT's character vocabulary from meta.pkl, or
// GPT-2's BPE from a tokenizer.json or a vocab.json with merges.txt.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/infer-go/infer/convert/source"
	"github.com/infer-go/infer/gguf"
)

// BPE is a byte-level BPE vocabulary as GGUF stores it: token texts
// in GPT-2's byte-to-unicode alphabet, types, merge rules.
type BPE struct {
	Tokens []string
	Types  []int32
	Merges []string
	// BOS and EOS are token ids, or -1 for none.
	BOS, EOS int32
	// Description says where the vocabulary came from, for messages.
	Description string
}

// gpt2ByteRunes is GPT-2's bytes_to_unicode: printable bytes stand for
// themselves, the others for the codepoints from U+0100 up, in order.
var gpt2ByteRunes = func() [256]rune {
	var m [256]rune
	n := rune(0)
	for b := range 256 {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			m[b] = rune(b)
		} else {
			m[b] = 256 + n
			n++
		}
	}
	return m
}()

// ByteLevel spells s's bytes in GPT-2's byte alphabet (bytes_to_unicode), as
// byte-level BPE vocabularies store token texts.
func ByteLevel(s string) string {
	var sb strings.Builder
	for i := range len(s) {
		sb.WriteRune(gpt2ByteRunes[s[i]])
	}
	return sb.String()
}

// eosCandidates are characters a character vocabulary may hold that text
// rarely uses. A gpt2 vocabulary always has an end-of-generation token:
// llama.cpp (and infer) default its id to 11, which in a character
// vocabulary is an ordinary character (";" in Tiny Shakespeare's), and
// generation would stop there; naming one of these instead keeps
// generation going. In Tiny Shakespeare "$" occurs once in 1.1M characters.
var eosCandidates = []string{"$", "&", "`", "~", "^", "|", "#", "@", "%", "*", "_", "+", "=", "<", ">"}

// FromChars turns nanoGPT's character vocabulary (itos: id -> character)
// into byte-level BPE tokens: each character is one token whose text is its
// UTF-8 bytes in GPT-2's byte alphabet. Characters of more than one byte
// need merge rules to become one token again; ASCII needs none, so the
// merge list of an ASCII vocabulary is empty.
func FromChars(itos []string) (*BPE, error) {
	v := &BPE{BOS: -1, EOS: -1}
	seen := map[string]int{}
	merges := map[string]bool{}
	for id, ch := range itos {
		if ch == "" || !utf8.ValidString(ch) {
			return nil, fmt.Errorf("character %d is %q: want one valid UTF-8 character", id, ch)
		}
		if prev, dup := seen[ch]; dup {
			return nil, fmt.Errorf("character %q has ids %d and %d", ch, prev, id)
		}
		seen[ch] = id
		text := ByteLevel(ch)
		v.Tokens = append(v.Tokens, text)
		v.Types = append(v.Types, TokenNormal)
		// Merge the bytes left to right: "a b", then "ab c", ...
		runes := []rune(text)
		for i := 1; i < len(runes); i++ {
			rule := string(runes[:i]) + " " + string(runes[i])
			if !merges[rule] {
				merges[rule] = true
				v.Merges = append(v.Merges, rule)
			}
		}
	}
	if v.Merges == nil {
		v.Merges = []string{}
	}
	for _, c := range eosCandidates {
		if id, ok := seen[c]; ok {
			v.BOS, v.EOS = int32(id), int32(id)
			break
		}
	}
	return v, nil
}

// ReadMetaPKL reads nanoGPT's meta.pkl ({vocab_size, itos, stoi}, written
// by data/*/prepare.py) and returns itos as a list. No class or function in
// the pickle is ever called: a meta.pkl holds only dicts, ints and strings.
func ReadMetaPKL(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	itos, err := parseMetaPKL(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return itos, nil
}

func parseMetaPKL(data []byte) (itos []string, err error) {
	root, err := source.ParsePlainPickle(data)
	if err != nil {
		return nil, fmt.Errorf("meta.pkl: %w", err)
	}
	items, ok := source.TorchItems(root)
	if !ok {
		return nil, fmt.Errorf("meta.pkl: %T is not a dict", root)
	}
	var itosItems, stoiItems []source.TorchItem
	vocabSize := -1
	for _, it := range items {
		switch it.Key {
		case "itos":
			itosItems, ok = source.TorchItems(it.Value)
			if !ok {
				return nil, errors.New("meta.pkl: itos is not a dict")
			}
		case "stoi":
			stoiItems, _ = source.TorchItems(it.Value)
		case "vocab_size":
			if vocabSize, ok = it.Value.(int); !ok {
				return nil, fmt.Errorf("meta.pkl: vocab_size %v is not an integer", it.Value)
			}
		}
	}
	if itosItems == nil {
		return nil, errors.New("meta.pkl: no itos (id -> character) dict: not a nanoGPT character vocabulary")
	}
	n := len(itosItems)
	if vocabSize >= 0 && vocabSize != n {
		return nil, fmt.Errorf("meta.pkl: vocab_size %d, but itos has %d entries", vocabSize, n)
	}
	itos = make([]string, n)
	for _, it := range itosItems {
		id, okID := it.Key.(int)
		ch, okCh := it.Value.(string)
		if !okID || !okCh || id < 0 || id >= n || itos[id] != "" {
			return nil, fmt.Errorf("meta.pkl: itos entry %v: %q: want ids 0..%d, each once, mapped to characters", it.Key, it.Value, n-1)
		}
		itos[id] = ch
	}
	for _, it := range stoiItems {
		ch, okCh := it.Key.(string)
		id, okID := it.Value.(int)
		if !okCh || !okID || id < 0 || id >= n || itos[id] != ch {
			return nil, fmt.Errorf("meta.pkl: stoi[%q] = %v disagrees with itos", it.Key, it.Value)
		}
	}
	return itos, nil
}

// ForNanoGPT reads the vocabulary of the nanoGPT model in srcPath (a
// ckpt.pt or model.safetensors) trained on dataset (its config.dataset, or
// ""): the file at vocabPath (nanoGPT's meta.pkl, a tokenizer.json, or a
// vocab.json with merges.txt beside it; a directory holding one of them),
// or, when vocabPath is empty, meta.pkl beside srcPath, else
// data/<dataset>/meta.pkl, where nanoGPT's sample.py looks for it.
func ForNanoGPT(srcPath, dataset, vocabPath string) (*BPE, error) {
	if vocabPath == "" {
		candidates := []string{filepath.Join(filepath.Dir(srcPath), "meta.pkl")}
		if dataset != "" && !strings.ContainsAny(dataset, `/\`) {
			candidates = append(candidates, filepath.Join("data", dataset, "meta.pkl"),
				filepath.Join(filepath.Dir(srcPath), "..", "data", dataset, "meta.pkl"))
		}
		for _, c := range candidates {
			if _, err := os.Stat(c); err == nil {
				vocabPath = c
				break
			}
		}
		if vocabPath == "" {
			return nil, fmt.Errorf("%s: no vocabulary: no %s; give one with --vocab: nanoGPT's meta.pkl, or for GPT-2's BPE a tokenizer.json or a vocab.json (with merges.txt beside it)",
				srcPath, strings.Join(candidates, " nor "))
		}
	}
	if st, err := os.Stat(vocabPath); err == nil && st.IsDir() {
		for _, f := range []string{"meta.pkl", "tokenizer.json", "vocab.json"} {
			if _, err := os.Stat(filepath.Join(vocabPath, f)); err == nil {
				vocabPath = filepath.Join(vocabPath, f)
				break
			}
		}
	}
	data, err := os.ReadFile(vocabPath)
	if err != nil {
		return nil, fmt.Errorf("vocabulary: %w", err)
	}
	if len(data) > 0 && data[0] == 0x80 { // a pickle
		itos, err := parseMetaPKL(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", vocabPath, err)
		}
		v, err := FromChars(itos)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", vocabPath, err)
		}
		v.Description = fmt.Sprintf("%d characters from %s", len(itos), vocabPath)
		return v, nil
	}
	return ReadBPE(vocabPath)
}

// ReadBPE reads a GPT-2-style BPE vocabulary: a Hugging Face
// tokenizer.json (model.vocab, model.merges, added_tokens), or a vocab.json
// (token -> id) with the merges.txt beside it.
func ReadBPE(path string) (*BPE, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("%s: not a JSON object: %w", path, err)
	}
	var v *BPE
	// A tokenizer.json has a "model" object; a vocab.json maps tokens
	// (GPT-2's include "model") to numbers.
	if raw, ok := probe["model"]; ok && len(bytes.TrimSpace(raw)) > 0 && bytes.TrimSpace(raw)[0] == '{' {
		v, err = parseTokenizerJSON(data)
	} else {
		mergesPath := filepath.Join(filepath.Dir(path), "merges.txt")
		var merges []byte
		if merges, err = os.ReadFile(mergesPath); err != nil {
			return nil, fmt.Errorf("%s is a vocab.json, whose merges.txt must be beside it: %w", path, err)
		}
		v, err = parseVocabJSON(data, merges)
		path = path + " + " + mergesPath
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	v.Description = fmt.Sprintf("%d BPE tokens, %d merges from %s", len(v.Tokens), len(v.Merges), path)
	return v, nil
}

func parseTokenizerJSON(data []byte) (*BPE, error) {
	var tj struct {
		Model struct {
			Type   string            `json:"type"`
			Vocab  map[string]int    `json:"vocab"`
			Merges []json.RawMessage `json:"merges"`
		} `json:"model"`
		AddedTokens []struct {
			ID      int    `json:"id"`
			Content string `json:"content"`
			Special bool   `json:"special"`
		} `json:"added_tokens"`
	}
	if err := json.Unmarshal(data, &tj); err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	if tj.Model.Type != "" && tj.Model.Type != "BPE" {
		return nil, fmt.Errorf("tokenizer.json: model type %q: only BPE vocabularies convert to GPT-2's tokenizer", tj.Model.Type)
	}
	merges := make([]string, len(tj.Model.Merges))
	for i, raw := range tj.Model.Merges {
		// Older files write "a b", newer ones ["a", "b"].
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			merges[i] = s
			continue
		}
		var pair []string
		if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
			return nil, fmt.Errorf("tokenizer.json: merge %d is %s: want \"a b\" or [\"a\", \"b\"]", i, raw)
		}
		merges[i] = pair[0] + " " + pair[1]
	}
	vocab := tj.Model.Vocab
	types := map[int]int32{}
	for _, at := range tj.AddedTokens {
		if prev, ok := vocab[at.Content]; ok && prev != at.ID {
			return nil, fmt.Errorf("tokenizer.json: added token %q has id %d, the vocabulary %d", at.Content, at.ID, prev)
		}
		vocab[at.Content] = at.ID
		types[at.ID] = TokenUserDefined
		if at.Special {
			types[at.ID] = TokenControl
		}
	}
	return newBPEVocab(vocab, merges, types)
}

func parseVocabJSON(vocabJSON, mergesTxt []byte) (*BPE, error) {
	var vocab map[string]int
	if err := json.Unmarshal(vocabJSON, &vocab); err != nil {
		return nil, fmt.Errorf("vocab.json: want a map of token to id: %w", err)
	}
	var merges []string
	for i, line := range strings.Split(string(mergesTxt), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" || (i == 0 && strings.HasPrefix(line, "#version")) {
			continue
		}
		merges = append(merges, line)
	}
	return newBPEVocab(vocab, merges, map[int]int32{})
}

// newBPEVocab orders a token -> id map by id (the ids must be 0..n-1) and
// checks the merges. "<|endoftext|>", GPT-2's only special token, is the
// BOS and EOS and a control token.
func newBPEVocab(vocab map[string]int, merges []string, types map[int]int32) (*BPE, error) {
	n := len(vocab)
	v := &BPE{Tokens: make([]string, n), Types: make([]int32, n), Merges: merges, BOS: -1, EOS: -1}
	for tok, id := range vocab {
		if id < 0 || id >= n || v.Tokens[id] != "" {
			return nil, fmt.Errorf("token %q has id %d: want the ids 0..%d, each once", tok, id, n-1)
		}
		if tok == "" {
			return nil, fmt.Errorf("token %d is empty", id)
		}
		v.Tokens[id] = tok
	}
	for id := range v.Types {
		v.Types[id] = TokenNormal
		if t, ok := types[id]; ok {
			v.Types[id] = t
		}
	}
	if id, ok := vocab["<|endoftext|>"]; ok {
		v.BOS, v.EOS = int32(id), int32(id)
		v.Types[id] = TokenControl
	}
	for i, m := range merges {
		// llama.cpp splits at the first space after the first byte.
		if p := strings.IndexByte(m[min(1, len(m)):], ' '); len(m) < 3 || p < 0 || p+2 >= len(m) {
			return nil, fmt.Errorf("merge %d is %q: want \"left right\"", i, m)
		}
	}
	if v.Merges == nil {
		v.Merges = []string{}
	}
	return v, nil
}

// PadTo extends the vocabulary to n tokens with unused "[PAD<id>]" tokens,
// as llama.cpp's converter does when a model's embedding has more rows than
// its tokenizer has tokens (nanoGPT's GPT-2 models use 50304 for 50257).
func (v *BPE) PadTo(n int) error {
	if len(v.Tokens) > n {
		return fmt.Errorf("the vocabulary has %d tokens but the model's embedding only %d rows", len(v.Tokens), n)
	}
	for id := len(v.Tokens); id < n; id++ {
		v.Tokens = append(v.Tokens, fmt.Sprintf("[PAD%d]", id))
		v.Types = append(v.Types, TokenUnused)
	}
	return nil
}

// KVs are the vocabulary's tokenizer.* keys.
func (v *BPE) KVs() []gguf.KV {
	kv := []gguf.KV{
		{Key: "tokenizer.ggml.model", Value: gguf.ValueOf("gpt2")},
		{Key: "tokenizer.ggml.pre", Value: gguf.ValueOf("gpt-2")},
		{Key: "tokenizer.ggml.tokens", Value: gguf.ValueOf(slices.Clone(v.Tokens))},
		{Key: "tokenizer.ggml.token_type", Value: gguf.ValueOf(slices.Clone(v.Types))},
		{Key: "tokenizer.ggml.merges", Value: gguf.ValueOf(slices.Clone(v.Merges))},
	}
	if v.BOS >= 0 {
		kv = append(kv, gguf.KV{Key: "tokenizer.ggml.bos_token_id", Value: gguf.ValueOf(uint32(v.BOS))})
	}
	if v.EOS >= 0 {
		kv = append(kv, gguf.KV{Key: "tokenizer.ggml.eos_token_id", Value: gguf.ValueOf(uint32(v.EOS))})
	}
	return append(kv, gguf.KV{Key: "tokenizer.ggml.add_bos_token", Value: gguf.ValueOf(false)})
}
