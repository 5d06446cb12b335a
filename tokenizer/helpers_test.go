package tokenizer

import (
	"fmt"
	"testing"

	"github.com/infer-go/infer/gguf"
)

// kvs is GGUF metadata held in a map, for building small vocabularies in
// tests; load reads it exactly as it reads a *gguf.File.
type kvs map[string]any

func (m kvs) Value(key string) (gguf.Value, bool) {
	x, ok := m[key]
	if !ok {
		return gguf.Value{}, false
	}
	return gguf.ValueOf(x), true
}

// with returns a copy of m with the given key set (or removed, for nil).
func (m kvs) with(key string, x any) kvs {
	out := kvs{}
	for k, v := range m {
		out[k] = v
	}
	if x == nil {
		delete(out, key)
	} else {
		out[key] = x
	}
	return out
}

func mustLoad(t *testing.T, md metadata) *Tokenizer {
	t.Helper()
	tok, err := load(md)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return tok
}

// spmVocab is a small SentencePiece vocabulary: the three specials, the 256
// byte tokens, then the given pieces (scored in order of preference unless
// scores says otherwise), with optional extra types.
func spmVocab(pieces []string, scores map[string]float32, types map[string]int32) kvs {
	tokens := []string{"<unk>", "<s>", "</s>"}
	typ := []int32{typeUnknown, typeControl, typeControl}
	for b := 0; b < 256; b++ {
		tokens = append(tokens, fmt.Sprintf("<0x%02X>", b))
		typ = append(typ, typeByte)
	}
	sc := make([]float32, len(tokens))
	for i, p := range pieces {
		tokens = append(tokens, p)
		s, ok := scores[p]
		if !ok {
			s = -float32(i)
		}
		sc = append(sc, s)
		tt, ok := types[p]
		if !ok {
			tt = typeNormal
		}
		typ = append(typ, tt)
	}
	return kvs{
		keyModel:                          "llama",
		keyTokens:                         tokens,
		keyScores:                         sc,
		keyTokenType:                      typ,
		"tokenizer.ggml.bos_token_id":     uint32(1),
		"tokenizer.ggml.eos_token_id":     uint32(2),
		"tokenizer.ggml.unknown_token_id": uint32(0),
	}
}

// bpeVocab is a small byte-level BPE vocabulary: the 256 byte tokens in
// byte order (so id b is byte b), then the given tokens, with the given
// merges.
func bpeVocab(extra []string, merges []string) kvs {
	var tokens []string
	for b := 0; b < 256; b++ {
		tokens = append(tokens, byteToUTF8[b])
	}
	tokens = append(tokens, extra...)
	typ := make([]int32, len(tokens))
	for i := range typ {
		typ[i] = typeNormal
	}
	return kvs{
		keyModel:     "gpt2",
		keyPre:       "gpt-2",
		keyTokens:    tokens,
		keyTokenType: typ,
		keyMerges:    merges,
	}
}

// idOf looks up a token that must exist.
func idOf(t *testing.T, tok *Tokenizer, text string) int32 {
	t.Helper()
	id, ok := tok.TokenID(text)
	if !ok {
		t.Fatalf("no token %q", text)
	}
	return id
}
