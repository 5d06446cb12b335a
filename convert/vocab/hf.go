package vocab

// The vocabulary of a Hugging Face model directory, written as llama.cpp's
// converter writes it (tokenizer.ggml.*, tokenizer.chat_template):
//
//   - SentencePiece models (Llama 1/2, Mistral) from tokenizer.model, read
//     by a small protobuf reader (spm.go): pieces, scores and piece
//     types exactly as _create_vocab_sentencepiece writes them.
//   - Without tokenizer.model, a Llama tokenizer.json that is a BPE model
//     with byte fallback is written as an SPM vocabulary, as llama.cpp's
//     LlamaHfVocab does, except for the scores: LlamaHfVocab gives every
//     token -1000, which makes llama.cpp's SPM tokenizer merge left to
//     right; infer scores each token by the rank of the merge that makes
//     it (-rank), so that the highest-scoring bigram is the merge
//     tokenizers would apply first.
//   - Byte-level BPE (GPT-2, Llama 3) from tokenizer.json, or vocab.json
//     and merges.txt: tokens, token types and merges as get_vocab_base and
//     SpecialVocab write them. tokenizer.ggml.pre names llama.cpp's
//     pre-tokenizer. convert_hf_to_gguf.py recognises it by hashing the
//     token ids Hugging Face's tokenizer gives a test string; infer does not
//     run Hugging Face's tokenizer and instead recognises the
//     pre_tokenizer section of tokenizer.json: a plain ByteLevel one is
//     "gpt-2", a Split on Llama 3's regex "llama-bpe", on Qwen2's "qwen2"
//     (with or without Qwen2's NFC normalizer), Digits then ByteLevel
//     "starcoder"; anything else (or another normalizer) is written as
//     "default", with a warning.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/infer-go/infer/convert/source"
	"github.com/infer-go/infer/gguf"
)

// llama.cpp's token types (llama_token_type, tokenizer.ggml.token_type).
const (
	TokenNormal      int32 = 1
	TokenUnknown     int32 = 2
	TokenControl     int32 = 3
	TokenUserDefined int32 = 4
	TokenUnused      int32 = 5
	TokenByte        int32 = 6
)

// maxTokenizerJSON bounds tokenizer.json, the one large JSON file.
const maxTokenizerJSON = 512 << 20

// warner passes notes that do not stop a conversion to the caller's Warn;
// nil drops them.
type warner func(msg string)

func (w warner) warnf(format string, args ...any) {
	if w != nil {
		w(fmt.Sprintf(format, args...))
	}
}

// tokenizerJSON is what the converter reads of a tokenizer.json.
type tokenizerJSON struct {
	AddedTokens   []hfAddedToken  `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         struct {
		Type         string          `json:"type"`
		Vocab        json.RawMessage `json:"vocab"`
		Merges       json.RawMessage `json:"merges"`
		ByteFallback bool            `json:"byte_fallback"`
		IgnoreMerges bool            `json:"ignore_merges"`
	} `json:"model"`
}

type hfAddedToken struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	Special    bool   `json:"special"`
	Normalized bool   `json:"normalized"`
}

// hfTokenizerFiles are a model directory's tokenizer files; absent ones
// are nil.
type hfTokenizerFiles struct {
	dir    string
	json   *tokenizerJSON
	config source.HFConfig // tokenizer_config.json
}

func readHFTokenizerFiles(dir string) (*hfTokenizerFiles, error) {
	f := &hfTokenizerFiles{dir: dir}
	path := filepath.Join(dir, "tokenizer.json")
	if st, err := os.Stat(path); err == nil {
		if st.Size() > maxTokenizerJSON {
			return nil, fmt.Errorf("%s: %d bytes is larger than a tokenizer should be", path, st.Size())
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		f.json = new(tokenizerJSON)
		if err := json.Unmarshal(raw, f.json); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	path = filepath.Join(dir, "tokenizer_config.json")
	if _, err := os.Stat(path); err == nil {
		raw, err := source.ReadHFJSON(path)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(raw, &f.config); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return f, nil
}

func (f *hfTokenizerFiles) exists(name string) bool {
	st, err := os.Stat(filepath.Join(f.dir, name))
	return err == nil && st.Mode().IsRegular()
}

// hfVocab is a vocabulary ready for GGUF.
type hfVocab struct {
	model  string // tokenizer.ggml.model: "llama" or "gpt2"
	pre    string
	tokens []string
	scores []float32 // nil for BPE vocabularies
	types  []int32
	// addSpacePrefix is set when the SentencePiece model says not to add a
	// leading space (llama.cpp's default for SPM is to add one).
	addSpacePrefix *bool
}

// HFOptions describe the model a Hugging Face vocabulary is for.
type HFOptions struct {
	// NVocab is the rows of the model's embedding: the vocabulary is padded
	// to it (0: the tokenizer's own size).
	NVocab int
	// SentencePiece is set for architectures whose vocabularies
	// convert_hf_to_gguf.py writes as SentencePiece ("llama") when the
	// directory has a tokenizer.model or a SentencePiece-style
	// tokenizer.json; otherwise the vocabulary is byte-level BPE ("gpt2").
	SentencePiece bool
	// Phi3AddedTokens lays the added tokens over a tokenizer.model the way
	// convert_hf_to_gguf.py's Phi3MiniModel.set_vocab does, rather than
	// _create_vocab_sentencepiece's way: added_tokens.json, then
	// tokenizer_config.json's added_tokens_decoder, then tokenizer.json's
	// added_tokens, each token user-defined (control if marked special)
	// with score -1000, its text as it is.
	Phi3AddedTokens bool
	// Warn, if set, receives notes that do not stop the conversion.
	Warn func(msg string)
}

// FromHFDir reads the vocabulary of the Hugging Face model directory dir
// (config is its config.json, for the special token ids it gives) and
// returns its tokenizer.* keys as convert_hf_to_gguf.py writes them.
func FromHFDir(dir string, config source.HFConfig, opts HFOptions) ([]gguf.KV, error) {
	warn, nVocab := warner(opts.Warn), opts.NVocab
	files, err := readHFTokenizerFiles(dir)
	if err != nil {
		return nil, err
	}
	var v *hfVocab
	switch {
	case opts.SentencePiece && files.exists("tokenizer.model"):
		v, err = spmModelVocab(files, nVocab, opts.Phi3AddedTokens, warn)
	case opts.SentencePiece && files.json != nil && files.json.isSPMStyle():
		v, err = spmJSONVocab(files, nVocab)
	default:
		v, err = bpeVocab(files, nVocab, warn)
	}
	if err != nil {
		return nil, err
	}
	sv, err := loadSpecialVocab(files, config, len(v.tokens), v.model == "gpt2", warn)
	if err != nil {
		return nil, err
	}
	var kv []gguf.KV
	add := func(key string, val any) { kv = append(kv, gguf.KV{Key: key, Value: gguf.ValueOf(val)}) }
	add("tokenizer.ggml.model", v.model)
	add("tokenizer.ggml.pre", v.pre)
	add("tokenizer.ggml.tokens", v.tokens)
	if v.scores != nil {
		add("tokenizer.ggml.scores", v.scores)
	}
	add("tokenizer.ggml.token_type", v.types)
	kv = append(kv, sv.kvs()...)
	if v.addSpacePrefix != nil {
		add("tokenizer.ggml.add_space_prefix", *v.addSpacePrefix)
	}
	if opts.SentencePiece && files.config != nil {
		if b, ok := files.config.Bool("add_prefix_space"); ok && v.addSpacePrefix == nil {
			add("tokenizer.ggml.add_space_prefix", b)
		}
	}
	return kv, nil
}

// isSPMStyle reports a Llama tokenizer.json that llama.cpp's LlamaHfVocab
// takes: BPE with byte fallback and a Sequence decoder (Metaspace-style).
func (tj *tokenizerJSON) isSPMStyle() bool {
	var dec struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(tj.Decoder, &dec)
	return tj.Model.Type == "BPE" && tj.Model.ByteFallback && dec.Type == "Sequence"
}

// bpeVocabMap decodes model.vocab of a BPE tokenizer.json.
func (tj *tokenizerJSON) bpeVocabMap() (map[string]int, error) {
	var vocab map[string]int
	if err := json.Unmarshal(tj.Model.Vocab, &vocab); err != nil {
		return nil, fmt.Errorf("tokenizer.json model.vocab: want a map of token to id: %w", err)
	}
	return vocab, nil
}

// merges decodes model.merges: "left right" strings, or [left, right]
// pairs (transformers 4.45 and later), whose spaces are written as U+0120
// the way gguf-py's SpecialVocab does.
func (tj *tokenizerJSON) merges() ([]string, error) {
	if source.IsJSONNull(tj.Model.Merges) {
		return nil, nil
	}
	var strs []string
	if err := json.Unmarshal(tj.Model.Merges, &strs); err == nil {
		return strs, nil
	}
	var pairs [][]string
	if err := json.Unmarshal(tj.Model.Merges, &pairs); err != nil {
		return nil, fmt.Errorf("tokenizer.json model.merges: want strings or pairs of strings: %w", err)
	}
	out := make([]string, len(pairs))
	for i, p := range pairs {
		if len(p) != 2 {
			return nil, fmt.Errorf("tokenizer.json model.merges[%d]: %d parts, want 2", i, len(p))
		}
		out[i] = strings.ReplaceAll(p[0], " ", "\u0120") + " " + strings.ReplaceAll(p[1], " ", "\u0120")
	}
	return out, nil
}

// looksSpecial is convert_hf_to_gguf.py's does_token_look_special: added
// tokens some models forget to mark special.
func looksSpecial(s string) bool {
	switch s {
	case "<pad>", "<mask>", "<2mass>", "[@BOS@]":
		return true
	}
	return (strings.HasPrefix(s, "<|") && strings.HasSuffix(s, "|>")) ||
		(strings.HasPrefix(s, "<\uff5c") && strings.HasSuffix(s, "\uff5c>")) ||
		(strings.HasPrefix(s, "<unused") && strings.HasSuffix(s, ">"))
}

// addedTokens collects the added tokens by id: tokenizer.json's list,
// then tokenizer_config.json's added_tokens_decoder for ids it lacks (the
// slow tokenizers' record).
func (f *hfTokenizerFiles) addedTokens() (map[int]hfAddedToken, error) {
	added := map[int]hfAddedToken{}
	if f.json != nil {
		for _, t := range f.json.AddedTokens {
			if _, dup := added[t.ID]; !dup {
				added[t.ID] = t
			}
		}
	}
	dec, err := f.addedTokensDecoder()
	if err != nil {
		return nil, err
	}
	for id, t := range dec {
		if _, ok := added[id]; !ok {
			added[id] = t
		}
	}
	return added, nil
}

// addedTokensJSON reads added_tokens.json (token to id), the slow
// tokenizers' list of added tokens; nil when there is none.
func (f *hfTokenizerFiles) addedTokensJSON() (map[string]int, error) {
	if !f.exists("added_tokens.json") {
		return nil, nil
	}
	raw, err := source.ReadHFJSON(filepath.Join(f.dir, "added_tokens.json"))
	if err != nil {
		return nil, err
	}
	var added map[string]int
	if err := json.Unmarshal(raw, &added); err != nil {
		return nil, fmt.Errorf("added_tokens.json: %w", err)
	}
	return added, nil
}

// addedTokensDecoder reads tokenizer_config.json's added_tokens_decoder.
func (f *hfTokenizerFiles) addedTokensDecoder() (map[int]hfAddedToken, error) {
	out := map[int]hfAddedToken{}
	if f.config == nil || !f.config.Has("added_tokens_decoder") {
		return out, nil
	}
	var dec map[string]hfAddedToken
	if err := json.Unmarshal(f.config["added_tokens_decoder"], &dec); err != nil {
		return nil, fmt.Errorf("tokenizer_config.json added_tokens_decoder: %w", err)
	}
	for k, t := range dec {
		id, err := strconv.Atoi(k)
		if err != nil || id < 0 {
			return nil, fmt.Errorf("tokenizer_config.json added_tokens_decoder: id %q", k)
		}
		t.ID = id
		out[id] = t
	}
	return out, nil
}

// bpeVocab is get_vocab_base: the byte-level BPE vocabulary, padded with
// [PADn] tokens up to the embedding's rows.
func bpeVocab(f *hfTokenizerFiles, nVocab int, warn warner) (*hfVocab, error) {
	v := &hfVocab{model: "gpt2"}
	var vocab map[string]int
	var err error
	switch {
	case f.json != nil:
		if f.json.Model.Type != "BPE" {
			return nil, fmt.Errorf("tokenizer.json: model type %q is not supported (BPE, or a SentencePiece tokenizer.model)", f.json.Model.Type)
		}
		if vocab, err = f.json.bpeVocabMap(); err != nil {
			return nil, err
		}
		pre, ok := detectPreTokenizer(f.json)
		if !ok {
			warn.warnf("tokenizer.json: pre-tokenizer not recognised; writing tokenizer.ggml.pre \"default\" (tokenization may differ from the model's)")
		}
		v.pre = pre
	case f.exists("vocab.json") && f.exists("merges.txt"):
		raw, err := source.ReadHFJSON(filepath.Join(f.dir, "vocab.json"))
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(raw, &vocab); err != nil {
			return nil, fmt.Errorf("vocab.json: %w", err)
		}
		// The slow GPT-2 tokenizer's regex.
		v.pre = "gpt-2"
	default:
		return nil, fmt.Errorf("%s: no tokenizer: want tokenizer.json (or vocab.json and merges.txt; tokenizer.model for SentencePiece)", f.dir)
	}
	added, err := f.addedTokens()
	if err != nil {
		return nil, err
	}
	extra, err := f.addedTokensJSON()
	if err != nil {
		return nil, err
	}
	for content, id := range extra {
		if _, ok := added[id]; !ok {
			added[id] = hfAddedToken{ID: id, Content: content}
		}
	}
	reverse := map[int]string{}
	maxID := -1
	for tok, id := range vocab {
		if id < 0 {
			return nil, fmt.Errorf("token %q has id %d", tok, id)
		}
		reverse[id] = tok
		maxID = max(maxID, id)
	}
	for id, t := range added {
		if id < 0 {
			return nil, fmt.Errorf("added token %q has id %d", t.Content, id)
		}
		reverse[id] = t.Content
		maxID = max(maxID, id)
	}
	if nVocab <= 0 {
		nVocab = maxID + 1
	}
	if maxID >= nVocab {
		return nil, fmt.Errorf("the tokenizer has token id %d, but the model's vocab_size is %d", maxID, nVocab)
	}
	v.tokens = make([]string, nVocab)
	v.types = make([]int32, nVocab)
	for i := range nVocab {
		tok, ok := reverse[i]
		switch {
		case !ok:
			v.tokens[i], v.types[i] = fmt.Sprintf("[PAD%d]", i), TokenUnused
		case isAdded(added, i, tok):
			a := added[i]
			if a.Special || looksSpecial(tok) {
				v.types[i] = TokenControl
			} else {
				tok = strings.ReplaceAll(tok, "\u2581", " ")
				v.types[i] = TokenUserDefined
			}
			v.tokens[i] = tok
		default:
			v.tokens[i], v.types[i] = tok, TokenNormal
		}
	}
	return v, nil
}

func isAdded(added map[int]hfAddedToken, id int, tok string) bool {
	a, ok := added[id]
	return ok && a.Content == tok
}

// spmJSONVocab is LlamaHfVocab: an SPM vocabulary from a Llama
// tokenizer.json (BPE with byte fallback), scored by merge rank (see the
// file comment).
func spmJSONVocab(f *hfTokenizerFiles, nVocab int) (*hfVocab, error) {
	tj := f.json
	vocab, err := tj.bpeVocabMap()
	if err != nil {
		return nil, err
	}
	merges, err := tj.merges()
	if err != nil {
		return nil, err
	}
	base := len(vocab)
	reverse := make(map[int]string, base)
	for tok, id := range vocab {
		reverse[id] = tok
	}
	added, err := f.addedTokens()
	if err != nil {
		return nil, err
	}
	ids := map[string]int{}
	for tok, id := range vocab {
		ids[tok] = id
	}
	for id, t := range added {
		ids[t.Content] = id
		if _, ok := reverse[id]; !ok {
			reverse[id] = t.Content
		}
	}
	special := map[int]bool{}
	for _, content := range f.specialTokenContents() {
		if id, ok := ids[content]; ok {
			special[id] = true
		}
	}
	rank := make(map[string]int, len(merges))
	for r, m := range merges {
		left, right, ok := strings.Cut(m, " ")
		if !ok {
			return nil, fmt.Errorf("tokenizer.json model.merges[%d] = %q: want \"left right\"", r, m)
		}
		tok := left + right
		if _, seen := rank[tok]; !seen {
			rank[tok] = r
		}
	}

	v := &hfVocab{model: "llama", pre: "default"}
	for id := range base {
		tok, ok := reverse[id]
		if !ok {
			return nil, fmt.Errorf("tokenizer.json: no token has id %d (of %d)", id, base)
		}
		typ := TokenNormal
		score := float32(0)
		switch {
		case isByteToken(tok):
			typ = TokenByte
		case special[id]:
			typ = TokenControl
		default:
			if r, ok := rank[tok]; ok {
				score = -float32(r)
			} else {
				score = -float32(len(merges) + id)
			}
		}
		v.tokens = append(v.tokens, tok)
		v.scores = append(v.scores, score)
		v.types = append(v.types, typ)
	}
	var extra []int
	for id := range added {
		if id >= base {
			extra = append(extra, id)
		}
	}
	sort.Ints(extra)
	for i, id := range extra {
		if id != base+i {
			return nil, fmt.Errorf("tokenizer.json: added token ids are not consecutive after the %d base tokens (id %d)", base, id)
		}
		t := added[id]
		typ := TokenUserDefined
		if special[id] {
			typ = TokenControl
		}
		v.tokens = append(v.tokens, t.Content)
		v.scores = append(v.scores, -1000)
		v.types = append(v.types, typ)
	}
	if len(v.tokens) > nVocab {
		return nil, fmt.Errorf("the tokenizer has %d tokens, but the model's vocab_size is %d", len(v.tokens), nVocab)
	}
	for i := len(v.tokens); i < nVocab; i++ {
		v.tokens = append(v.tokens, fmt.Sprintf("[PAD%d]", i))
		v.scores = append(v.scores, -1000)
		v.types = append(v.types, TokenUnused)
	}
	return v, nil
}

var byteTokenRE = regexp.MustCompile(`^<0x[0-9A-Fa-f]{2}>$`)

func isByteToken(s string) bool { return len(s) == 6 && byteTokenRE.MatchString(s) }

// specialTokenContents lists the special tokens tokenizer_config.json (and
// special_tokens_map.json) names: transformers' all_special_tokens.
func (f *hfTokenizerFiles) specialTokenContents() []string {
	var out []string
	collect := func(c source.HFConfig) {
		for _, typ := range []string{"bos", "eos", "unk", "sep", "pad", "cls", "mask"} {
			if s, ok := tokenContent(c, typ+"_token"); ok {
				out = append(out, s)
			}
		}
		if c.Has("additional_special_tokens") {
			var list []json.RawMessage
			if json.Unmarshal(c["additional_special_tokens"], &list) == nil {
				for _, raw := range list {
					if s, ok := tokenContent(source.HFConfig{"t": raw}, "t"); ok {
						out = append(out, s)
					}
				}
			}
		}
	}
	if f.config != nil {
		collect(f.config)
	}
	if raw, err := source.ReadHFJSON(filepath.Join(f.dir, "special_tokens_map.json")); err == nil {
		var c source.HFConfig
		if json.Unmarshal(raw, &c) == nil {
			collect(c)
		}
	}
	return out
}

// tokenContent reads a token entry of tokenizer_config.json: a string, or
// an AddedToken object with "content".
func tokenContent(c source.HFConfig, key string) (string, bool) {
	if !c.Has(key) {
		return "", false
	}
	var s string
	if json.Unmarshal(c[key], &s) == nil {
		return s, true
	}
	var obj struct {
		Content *string `json:"content"`
	}
	if json.Unmarshal(c[key], &obj) == nil && obj.Content != nil {
		return *obj.Content, true
	}
	return "", false
}

// preTokenizerJSON is one pre_tokenizer of tokenizer.json.
type preTokenizerJSON struct {
	Type             string `json:"type"`
	AddPrefixSpace   *bool  `json:"add_prefix_space"`
	UseRegex         *bool  `json:"use_regex"`
	IndividualDigits *bool  `json:"individual_digits"`
	Behavior         string `json:"behavior"`
	Invert           bool   `json:"invert"`
	Pattern          struct {
		Regex *string `json:"Regex"`
	} `json:"pattern"`
	Pretokenizers []preTokenizerJSON `json:"pretokenizers"`
}

// splitRegexPre names the pre-tokenizers whose Split regex llama.cpp
// reimplements, as tokenizer.json spells the regex.
var splitRegexPre = map[string]string{
	`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`: "llama-bpe",
	`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`:      "qwen2",
}

// detectPreTokenizer names llama.cpp's pre-tokenizer for tj (see the file
// comment); ok is false when it is not one infer recognises.
func detectPreTokenizer(tj *tokenizerJSON) (string, bool) {
	name, ok := detectPreTokenizerSplit(tj)
	if !ok || source.IsJSONNull(tj.Normalizer) {
		return name, ok
	}
	// Qwen2's tokenizer.json normalizes to NFC before splitting; llama.cpp
	// recognises it as "qwen2" all the same (and does not normalize).
	var norm struct {
		Type string `json:"type"`
	}
	if name == "qwen2" && json.Unmarshal(tj.Normalizer, &norm) == nil && norm.Type == "NFC" {
		return name, true
	}
	return "default", false
}

// detectPreTokenizerSplit names the pre_tokenizer section alone.
func detectPreTokenizerSplit(tj *tokenizerJSON) (string, bool) {
	if source.IsJSONNull(tj.PreTokenizer) {
		return "default", false
	}
	var root preTokenizerJSON
	if err := json.Unmarshal(tj.PreTokenizer, &root); err != nil {
		return "default", false
	}
	var seq []preTokenizerJSON
	var flatten func(p preTokenizerJSON)
	flatten = func(p preTokenizerJSON) {
		if p.Type == "Sequence" {
			for _, q := range p.Pretokenizers {
				flatten(q)
			}
			return
		}
		seq = append(seq, p)
	}
	flatten(root)
	isTrue := func(b *bool, def bool) bool {
		if b == nil {
			return def
		}
		return *b
	}
	byteLevel := func(p preTokenizerJSON, regex bool) bool {
		return p.Type == "ByteLevel" && !isTrue(p.AddPrefixSpace, false) && isTrue(p.UseRegex, true) == regex
	}
	switch {
	case len(seq) == 1 && byteLevel(seq[0], true):
		return "gpt-2", true
	case len(seq) == 2 && seq[0].Type == "Split" && seq[0].Pattern.Regex != nil && !seq[0].Invert &&
		seq[0].Behavior == "Isolated" && byteLevel(seq[1], false):
		if name, ok := splitRegexPre[*seq[0].Pattern.Regex]; ok {
			return name, true
		}
	case len(seq) == 2 && seq[0].Type == "Digits" && isTrue(seq[0].IndividualDigits, false) && byteLevel(seq[1], true):
		return "starcoder", true
	}
	return "default", false
}
