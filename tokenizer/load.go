package tokenizer

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// load reads the vocabulary the way llama.cpp's llama_vocab::impl::load
// does, rejecting what it rejects (and a few inconsistencies it would
// read past) with errors that name the key.
func load(md metadata) (*Tokenizer, error) {
	t := &Tokenizer{
		bos: NoToken, eos: NoToken, eot: NoToken, eom: NoToken,
		unk: NoToken, sep: NoToken, pad: NoToken,
	}
	model, ok, err := metaString(md, keyModel)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("tokenizer: no %s key: the file carries no vocabulary", keyModel)
	}
	t.model = model
	pre, _, err := metaString(md, keyPre)
	if err != nil {
		return nil, err
	}
	t.pre = pre

	switch model {
	case "llama":
		t.kind = kindSPM
		t.bos, t.eos, t.unk = 1, 2, 0
		t.addSpacePrefix = true
		t.addBOS = true
	case "gpt2":
		t.kind = kindBPE
		t.bos, t.eos = 11, 11
		t.cleanSpaces = true
		if err := t.loadMerges(md); err != nil {
			return nil, err
		}
		if err := t.configurePre(pre); err != nil {
			return nil, err
		}
	case "no_vocab", "none":
		return nil, fmt.Errorf("tokenizer: %s is %q: the file has no vocabulary", keyModel, model)
	default:
		return nil, fmt.Errorf("tokenizer: unsupported tokenizer model %q (%s): supported are \"llama\" (SentencePiece) and \"gpt2\" (byte-level BPE)", model, keyModel)
	}
	if v, ok, err := metaBool(md, keyAddSpacePrefix); err != nil {
		return nil, err
	} else if ok {
		t.addSpacePrefix = v
	}

	if err := t.loadTokens(md); err != nil {
		return nil, err
	}
	if err := t.loadSpecialIDs(md); err != nil {
		return nil, err
	}
	t.detectSpecialByText()
	t.buildSpecialCache()
	t.buildPieces()
	if err := t.applyModelAttrs(md); err != nil {
		return nil, err
	}
	t.buildByteTokens()
	return t, nil
}

// loadMerges parses "left right" merge rules; a rule's rank is its index.
// Like llama.cpp the separator is the first space after the first byte, so
// a left side may itself start with a space, and the first of duplicate
// rules wins.
func (t *Tokenizer) loadMerges(md metadata) error {
	merges, ok, err := metaStrings(md, keyMerges)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("tokenizer: gpt2 vocabulary without %s", keyMerges)
	}
	if len(merges) > math.MaxInt32 {
		return fmt.Errorf("tokenizer: %s: %d merges is more than an int32 rank can index", keyMerges, len(merges))
	}
	t.mergeSide = make(map[string]uint32, len(merges))
	t.ranks = make(map[uint64]int32, len(merges))
	intern := func(s string) uint32 {
		id, ok := t.mergeSide[s]
		if !ok {
			id = uint32(len(t.mergeSide))
			t.mergeSide[s] = id
		}
		return id
	}
	for i, m := range merges {
		pos := -1
		if len(m) > 1 {
			if p := strings.IndexByte(m[1:], ' '); p >= 0 {
				pos = p + 1
			}
		}
		if pos < 0 || pos == len(m)-1 {
			return fmt.Errorf("tokenizer: %s[%d] = %q: want \"left right\"", keyMerges, i, m)
		}
		key := uint64(intern(m[:pos]))<<32 | uint64(intern(m[pos+1:]))
		if _, dup := t.ranks[key]; !dup {
			t.ranks[key] = int32(i)
		}
	}
	return nil
}

// configurePre selects the pre-tokenizer and the per-type flags llama.cpp
// sets for it.
func (t *Tokenizer) configurePre(pre string) error {
	name := pre
	if name == "" {
		name = "default" // llama.cpp warns and uses its default split
	}
	cfg, ok := preTypes[name]
	if !ok {
		return fmt.Errorf("tokenizer: unsupported pre-tokenizer %q (%s)", pre, keyPre)
	}
	split, err := newPreTokenizer(cfg.regexes)
	if err != nil {
		return fmt.Errorf("tokenizer: pre-tokenizer %q: %w", name, err)
	}
	t.split = split
	if cfg.keepSpaces {
		t.cleanSpaces = false
	}
	t.ignoreMerges = cfg.ignoreMerges
	if cfg.addBOS {
		t.addBOS = true
	}
	if cfg.noBOS {
		t.bos = NoToken
	}
	return nil
}

// loadTokens reads the token texts, scores and types, which must all
// describe the same number of tokens.
func (t *Tokenizer) loadTokens(md metadata) error {
	tokens, ok, err := metaStrings(md, keyTokens)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("tokenizer: no %s key: the file has no token list", keyTokens)
	}
	n := len(tokens)
	if n == 0 {
		return fmt.Errorf("tokenizer: %s is empty", keyTokens)
	}
	if n > math.MaxInt32 {
		return fmt.Errorf("tokenizer: %s: %d tokens do not fit int32 ids", keyTokens, n)
	}
	scores, haveScores, err := metaFloats(md, keyScores)
	if err != nil {
		return err
	}
	if haveScores && len(scores) != n {
		return fmt.Errorf("tokenizer: %s has %d entries but %s has %d", keyScores, len(scores), keyTokens, n)
	}
	types, haveTypes, err := metaInt32s(md, keyTokenType)
	if err != nil {
		return err
	}
	if haveTypes && len(types) != n {
		return fmt.Errorf("tokenizer: %s has %d entries but %s has %d", keyTokenType, len(types), keyTokens, n)
	}

	t.tokens = make([]string, n)
	t.scores = make([]float32, n)
	t.attrs = make([]tokenAttr, n)
	t.ids = make(map[string]int32, n)
	for i, text := range tokens {
		if text == "" {
			text = "[EMPTY_" + strconv.Itoa(i) + "]" // llama.cpp's stand-in
		}
		if prev, dup := t.ids[text]; dup {
			return fmt.Errorf("tokenizer: duplicate token %q in %s: ids %d and %d", text, keyTokens, prev, i)
		}
		t.ids[text] = int32(i)
		t.tokens[i] = text
		if haveScores {
			t.scores[i] = scores[i]
		}
		t.attrs[i] = attrNormal
		if haveTypes {
			t.attrs[i] = attrOfType(types[i])
		}
	}
	return nil
}

func attrOfType(typ int32) tokenAttr {
	switch typ {
	case typeNormal:
		return attrNormal
	case typeUnknown:
		return attrUnknown
	case typeControl:
		return attrControl
	case typeUserDefined:
		return attrUserDefined
	case typeUnused:
		return attrUnused
	case typeByte:
		return attrByte
	}
	return attrUndefined
}

// specialIDKeys lists the special-token keys in llama.cpp's order; later
// keys of the same role (the deprecated FIM names) override earlier ones.
var specialIDKeys = []struct {
	key  string
	role string
}{
	{"tokenizer.ggml.bos_token_id", "bos"},
	{"tokenizer.ggml.eos_token_id", "eos"},
	{"tokenizer.ggml.eot_token_id", "eot"},
	{"tokenizer.ggml.eom_token_id", "eom"},
	{"tokenizer.ggml.unknown_token_id", "unk"},
	{"tokenizer.ggml.seperator_token_id", "sep"}, // sic, as llama.cpp spells it
	{"tokenizer.ggml.padding_token_id", "pad"},
	{"tokenizer.ggml.mask_token_id", "mask"},
	{"tokenizer.ggml.fim_pre_token_id", "fim_pre"},
	{"tokenizer.ggml.fim_suf_token_id", "fim_suf"},
	{"tokenizer.ggml.fim_mid_token_id", "fim_mid"},
	{"tokenizer.ggml.fim_pad_token_id", "fim_pad"},
	{"tokenizer.ggml.fim_rep_token_id", "fim_rep"},
	{"tokenizer.ggml.fim_sep_token_id", "fim_sep"},
	{"tokenizer.ggml.prefix_token_id", "fim_pre"},
	{"tokenizer.ggml.suffix_token_id", "fim_suf"},
	{"tokenizer.ggml.middle_token_id", "fim_mid"},
}

func (t *Tokenizer) loadSpecialIDs(md metadata) error {
	t.fimPre, t.fimSuf, t.fimMid, t.fimPad, t.fimRep, t.fimSep = NoToken, NoToken, NoToken, NoToken, NoToken, NoToken
	mask := NoToken
	roles := map[string]*int32{"bos": &t.bos, "eos": &t.eos, "eot": &t.eot, "eom": &t.eom, "unk": &t.unk,
		"sep": &t.sep, "pad": &t.pad, "mask": &mask, "fim_pre": &t.fimPre, "fim_suf": &t.fimSuf,
		"fim_mid": &t.fimMid, "fim_pad": &t.fimPad, "fim_rep": &t.fimRep, "fim_sep": &t.fimSep}
	n := int64(len(t.tokens))
	for _, k := range specialIDKeys {
		id := roles[k.role]
		if *id >= 0 && int64(*id) >= n {
			*id = NoToken // a default outside this vocabulary
		}
		v, ok, err := metaInt(md, k.key)
		if err != nil {
			return err
		}
		// Out-of-range ids keep the default, as llama.cpp does (with a
		// warning); negative ones are "unset".
		if ok && v >= 0 && v < n {
			*id = int32(v)
		}
	}

	if v, ok, err := metaBool(md, keyAddBOS); err != nil {
		return err
	} else if ok {
		t.addBOS = v
	}
	if v, ok, err := metaBool(md, keyAddEOS); err != nil {
		return err
	} else if ok {
		t.addEOS = v
	}
	if t.addBOS && t.bos == NoToken {
		return fmt.Errorf("tokenizer: BOS is to be added (%s, or the default for this vocabulary), but the vocabulary has no BOS token", keyAddBOS)
	}
	if t.addEOS && t.eos == NoToken {
		return fmt.Errorf("tokenizer: EOS is to be added (%s), but the vocabulary has no EOS token", keyAddEOS)
	}
	return nil
}

// Texts by which llama.cpp recognises special tokens that the metadata
// does not name.
var (
	eotTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
		"<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"}
	eomTexts    = []string{"<|eom_id|>"}
	fimPreTexts = []string{"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"}
	fimSufTexts = []string{"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"}
	fimMidTexts = []string{"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"}
	fimPadTexts = []string{"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"}
	fimRepTexts = []string{"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"}
	fimSepTexts = []string{"<|file_sep|>"}
	eogTexts    = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
		"<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
		"<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~["}
	// alwaysRendered are gpt-oss markers llama.cpp turns into user-defined
	// tokens so that they are printed.
	alwaysRendered = []string{"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}
)

func inList(s string, list []string) bool {
	for _, x := range list {
		if s == x {
			return true
		}
	}
	return false
}

// detectSpecialByText fills unnamed EOT/EOM/FIM tokens from their text,
// marks them control, and builds the end-of-generation set, as llama.cpp
// does after reading the ids. llama.cpp walks a hash map here; walking in
// id order makes the choice among several candidates deterministic.
func (t *Tokenizer) detectSpecialByText() {
	claim := func(role *int32, texts []string) {
		if *role != NoToken {
			return
		}
		for id, text := range t.tokens {
			if inList(text, texts) {
				*role = int32(id)
				t.attrs[id] |= attrControl
				return
			}
		}
	}
	claim(&t.eot, eotTexts)
	claim(&t.eom, eomTexts)
	claim(&t.fimPre, fimPreTexts)
	claim(&t.fimSuf, fimSufTexts)
	claim(&t.fimMid, fimMidTexts)
	claim(&t.fimPad, fimPadTexts)
	claim(&t.fimRep, fimRepTexts)
	claim(&t.fimSep, fimSepTexts)

	t.eog = make(map[int32]bool)
	for _, id := range []int32{t.fimPad, t.fimRep, t.fimSep} {
		if id != NoToken {
			t.eog[id] = true
		}
	}
	for id, text := range t.tokens {
		if inList(text, eogTexts) {
			t.eog[int32(id)] = true
			t.attrs[id] |= attrControl
		}
	}
	for id, text := range t.tokens {
		if inList(text, alwaysRendered) {
			t.attrs[id] = attrUserDefined
		}
	}
	for _, id := range []int32{t.eos, t.eot, t.eom} {
		if id != NoToken {
			t.eog[id] = true
		}
	}

	// With both <|return|> and <|call|> (or <|calls|> and <|flush|>),
	// "<|end|>" separates messages rather than ending generation.
	var hasReturn, hasCall, hasFlush bool
	endID := NoToken
	for id := range t.eog {
		switch t.tokens[id] {
		case "<|return|>":
			hasReturn = true
		case "<|call|>", "<|calls|>":
			hasCall = true
		case "<|flush|>":
			hasFlush = true
		case "<|end|>":
			endID = id
		}
	}
	if endID != NoToken && ((hasReturn && hasCall) || (hasCall && hasFlush)) {
		delete(t.eog, endID)
		t.attrs[endID] = attrUserDefined
	}
	// Gemma 4: "</s>" is an ordinary token next to "<|tool_response>".
	sID, hasToolResponse := NoToken, false
	for id := range t.eog {
		switch t.tokens[id] {
		case "<|tool_response>":
			hasToolResponse = true
		case "</s>":
			sID = id
		}
	}
	if hasToolResponse && sID != NoToken {
		delete(t.eog, sID)
		t.attrs[sID] = attrNormal
	}
}

// buildSpecialCache lists the tokens split out of raw text before
// tokenization, longest first so that a longer token wins over a token
// that is its prefix. (llama.cpp's sort is unstable; ties are broken by id
// here, which only matters for equal-length overlapping texts.)
func (t *Tokenizer) buildSpecialCache() {
	for id, a := range t.attrs {
		if a&(attrControl|attrUserDefined|attrUnknown) != 0 {
			t.specials = append(t.specials, int32(id))
		}
	}
	sort.SliceStable(t.specials, func(i, j int) bool {
		return len(t.tokens[t.specials[i]]) > len(t.tokens[t.specials[j]])
	})
	for pos, id := range t.specials {
		b := t.tokens[id][0]
		t.specialsByFirst[b] = append(t.specialsByFirst[b], int32(pos))
	}
}

// applyModelAttrs sets the per-model strip attributes llama.cpp hard-codes
// by model name: they make special-token splitting eat adjacent spaces.
func (t *Tokenizer) applyModelAttrs(md metadata) error {
	name, _, err := metaString(md, keyGeneralName)
	if err != nil {
		return err
	}
	arch, _, err := metaString(md, "general.architecture")
	if err != nil {
		return err
	}
	name = strings.ToLower(name)
	set := func(text string, a tokenAttr, on bool) {
		id, ok := t.ids[text]
		if !ok {
			return // llama.cpp would refuse the model; nothing to mark here
		}
		if on {
			t.attrs[id] |= a
		} else {
			t.attrs[id] &^= a
		}
	}
	containsAny := func(s string, subs ...string) bool {
		for _, sub := range subs {
			if strings.Contains(s, sub) {
				return true
			}
		}
		return false
	}
	switch {
	case containsAny(t.pre, "jina-v2-de", "jina-v2-es", "jina-v2-code") || containsAny(arch, "nomic-bert-moe", "jina-bert-v3"):
		set("<mask>", attrLstrip, true)
	case containsAny(name, "phi-3", "phi3"):
		for _, id := range t.specials {
			t.attrs[id] |= attrRstrip
		}
		set("</s>", attrRstrip, true)
		for _, text := range []string{"<unk>", "<s>", "<|endoftext|>"} {
			set(text, attrRstrip, false)
		}
	case containsAny(name, "modern-bert"):
		set("[MASK]", attrLstrip, true)
	}
	return nil
}

// buildByteTokens finds the SPM byte-fallback tokens: "<0xNN>", or the
// byte itself as a one-byte token.
func (t *Tokenizer) buildByteTokens() {
	const hex = "0123456789ABCDEF"
	for b := 0; b < 256; b++ {
		t.byteTokens[b] = NoToken
		if id, ok := t.ids[string([]byte{'<', '0', 'x', hex[b>>4], hex[b&15], '>'})]; ok {
			t.byteTokens[b] = id
		} else if id, ok := t.ids[string([]byte{byte(b)})]; ok {
			t.byteTokens[b] = id
		}
	}
}
