package tokenizer

import (
	"sort"

	"github.com/infer-go/infer/gguf"
)

// NoToken is the id accessors return for a special token the vocabulary
// does not have (llama.cpp's LLAMA_TOKEN_NULL).
const NoToken int32 = -1

// vocabKind is the tokenization algorithm.
type vocabKind int

const (
	kindSPM vocabKind = iota // tokenizer.ggml.model "llama"
	kindBPE                  // tokenizer.ggml.model "gpt2"
)

// tokenAttr mirrors llama.cpp's llama_token_attr bits.
type tokenAttr uint16

const (
	attrUndefined   tokenAttr = 0
	attrUnknown     tokenAttr = 1 << 0
	attrUnused      tokenAttr = 1 << 1
	attrNormal      tokenAttr = 1 << 2
	attrControl     tokenAttr = 1 << 3
	attrUserDefined tokenAttr = 1 << 4
	attrByte        tokenAttr = 1 << 5
	attrLstrip      tokenAttr = 1 << 7
	attrRstrip      tokenAttr = 1 << 8
)

// Token types as GGUF's tokenizer.ggml.token_type stores them.
const (
	typeNormal      = 1
	typeUnknown     = 2
	typeControl     = 3
	typeUserDefined = 4
	typeUnused      = 5
	typeByte        = 6
)

// Tokenizer encodes text to token ids and decodes ids to text, following
// llama.cpp's tokenizer for the vocabulary it was loaded from.
type Tokenizer struct {
	kind  vocabKind
	model string // tokenizer.ggml.model
	pre   string // tokenizer.ggml.pre, "" when absent

	tokens []string
	scores []float32
	attrs  []tokenAttr
	ids    map[string]int32

	// pieces[id] is llama.cpp's token_to_piece(id, special=true): the bytes
	// a token stands for, with control tokens rendered as their text.
	pieces [][]byte

	// specials are the control, user-defined and unknown tokens, longest
	// text first: the order llama.cpp splits them out of raw text in.
	specials []int32
	// specialsByFirst[b] holds the positions in specials of the tokens
	// whose text starts with byte b, in increasing order.
	specialsByFirst [256][]int32

	bos, eos, eot, eom, unk, sep, pad int32
	// fill-in-the-middle tokens: only their end-of-generation role is used.
	fimPre, fimSuf, fimMid, fimPad, fimRep, fimSep int32
	eog                                            map[int32]bool

	addBOS, addEOS bool
	addSpacePrefix bool // SPM: prefix raw text with a space
	cleanSpaces    bool // detokenizer removes spaces before punctuation
	ignoreMerges   bool // BPE: a word that is a token is taken whole

	// byteTokens[b] is the SPM byte-fallback token for byte b, or NoToken.
	byteTokens [256]int32

	// BPE merge ranks: mergeSide interns every string that appears on a
	// side of a merge; ranks maps a pair of interned sides to its rank.
	mergeSide map[string]uint32
	ranks     map[uint64]int32
	split     *preTokenizer
}

// FromGGUF builds the tokenizer described by f's tokenizer.ggml.* metadata.
func FromGGUF(f *gguf.File) (*Tokenizer, error) {
	return load(f)
}

// VocabSize is the number of tokens in the vocabulary.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// Model is the tokenizer.ggml.model value: "llama" or "gpt2".
func (t *Tokenizer) Model() string { return t.model }

// Pre is the tokenizer.ggml.pre value, or "" when the file has none.
func (t *Tokenizer) Pre() string { return t.pre }

// BOS is the beginning-of-sequence token, or NoToken.
func (t *Tokenizer) BOS() int32 { return t.bos }

// EOS is the end-of-sequence token, or NoToken.
func (t *Tokenizer) EOS() int32 { return t.eos }

// EOT is the end-of-turn token, or NoToken.
func (t *Tokenizer) EOT() int32 { return t.eot }

// EOM is the end-of-message token, or NoToken.
func (t *Tokenizer) EOM() int32 { return t.eom }

// UNK is the unknown token, or NoToken.
func (t *Tokenizer) UNK() int32 { return t.unk }

// SEP is the separator token, or NoToken.
func (t *Tokenizer) SEP() int32 { return t.sep }

// PAD is the padding token, or NoToken.
func (t *Tokenizer) PAD() int32 { return t.pad }

// AddBOS reports whether Encode with addSpecial prepends BOS.
func (t *Tokenizer) AddBOS() bool { return t.addBOS }

// AddEOS reports whether Encode with addSpecial appends EOS.
func (t *Tokenizer) AddEOS() bool { return t.addEOS }

// IsEOG reports whether id ends generation: EOS, EOT, EOM and the other
// end-of-generation tokens llama.cpp recognises by their text.
func (t *Tokenizer) IsEOG(id int32) bool { return t.eog[id] }

// EOGTokens returns the end-of-generation tokens in increasing order.
func (t *Tokenizer) EOGTokens() []int32 {
	out := make([]int32, 0, len(t.eog))
	for id := range t.eog {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// TokenText is a token's text as the vocabulary stores it ("▁the", "Ġthe",
// "<0x0A>", "<s>"), or "" for an id outside the vocabulary.
func (t *Tokenizer) TokenText(id int32) string {
	if !t.valid(id) {
		return ""
	}
	return t.tokens[id]
}

// TokenID looks a token up by its exact vocabulary text.
func (t *Tokenizer) TokenID(text string) (int32, bool) {
	id, ok := t.ids[text]
	return id, ok
}

// Score is a token's score (SPM merge priority), 0 outside the vocabulary.
func (t *Tokenizer) Score(id int32) float32 {
	if !t.valid(id) {
		return 0
	}
	return t.scores[id]
}

// IsControl reports whether id is a control token (BOS, EOS, chat markers):
// one that decodes to nothing unless special tokens are rendered.
func (t *Tokenizer) IsControl(id int32) bool {
	return t.valid(id) && t.attrs[id]&attrControl != 0
}

func (t *Tokenizer) valid(id int32) bool { return id >= 0 && int(id) < len(t.tokens) }
