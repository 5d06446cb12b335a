package vocab

// llama2.c's tokenizer.bin (uint32 max_token_length, then per token a
// float32 score, a uint32 length and the bytes; "▁" written as a space, BOS
// and EOS as "\n<s>\n" and "\n</s>\n"), converted as llama.cpp's
// convert-llama2c-to-ggml does into its SentencePiece vocabulary; and the
// vocabulary of a GGUF file, copied.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/infer-go/infer/gguf"
)

// ReadLlama2C reads the vocabulary for a llama2.c model of nVocab tokens:
// a tokenizer.bin, or a GGUF file whose vocabulary is copied (as
// convert-llama2c-to-ggml's --copy-vocab-from-model does), which must have
// nVocab tokens.
func ReadLlama2C(path string, nVocab int) ([]gguf.KV, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	var magic [4]byte
	_, _ = io.ReadFull(f, magic[:])
	f.Close()
	if string(magic[:]) == "GGUF" {
		kv, n, err := FromGGUF(path)
		if err != nil {
			return nil, err
		}
		if n != nVocab {
			return nil, fmt.Errorf("%s: %d tokens, the model has %d", path, n, nVocab)
		}
		return kv, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	tokens, scores, types, err := ParseLlama2CTokenizer(data, nVocab)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return []gguf.KV{
		{Key: "tokenizer.ggml.model", Value: gguf.ValueOf("llama")},
		{Key: "tokenizer.ggml.pre", Value: gguf.ValueOf("default")},
		{Key: "tokenizer.ggml.tokens", Value: gguf.ValueOf(tokens)},
		{Key: "tokenizer.ggml.scores", Value: gguf.ValueOf(scores)},
		{Key: "tokenizer.ggml.token_type", Value: gguf.ValueOf(types)},
		{Key: "tokenizer.ggml.bos_token_id", Value: gguf.ValueOf(uint32(1))},
		{Key: "tokenizer.ggml.eos_token_id", Value: gguf.ValueOf(uint32(2))},
		{Key: "tokenizer.ggml.unknown_token_id", Value: gguf.ValueOf(uint32(0))},
		{Key: "tokenizer.ggml.add_bos_token", Value: gguf.ValueOf(true)},
		{Key: "tokenizer.ggml.add_eos_token", Value: gguf.ValueOf(false)},
	}, nil
}

// ParseLlama2CTokenizer reads a llama2.c tokenizer.bin of exactly nVocab
// tokens into llama.cpp's SentencePiece vocabulary the way
// convert-llama2c-to-ggml does: ids 0, 1, 2 become <unk>, <s>, </s>, empty
// pieces control tokens, <0xXX> byte tokens, and spaces "▁".
func ParseLlama2CTokenizer(data []byte, nVocab int) (tokens []string, scores []float32, types []int32, err error) {
	if nVocab < 3 {
		return nil, nil, nil, fmt.Errorf("a vocabulary of %d tokens has no room for <unk>, <s> and </s>", nVocab)
	}
	if len(data) < 4 {
		return nil, nil, nil, errors.New("tokenizer.bin: truncated header")
	}
	le := binary.LittleEndian
	off := 4 // max_token_length, unused
	capacity := min(nVocab, (len(data)-off)/8)
	tokens, scores, types = make([]string, 0, capacity), make([]float32, 0, capacity), make([]int32, 0, capacity)
	for i := range nVocab {
		if len(data)-off < 8 {
			return nil, nil, nil, fmt.Errorf("tokenizer.bin: holds %d tokens, the model has %d (truncated, or another model's vocabulary)", i, nVocab)
		}
		score := math.Float32frombits(le.Uint32(data[off:]))
		n := uint64(le.Uint32(data[off+4:]))
		off += 8
		if n > uint64(len(data)-off) {
			return nil, nil, nil, fmt.Errorf("tokenizer.bin: token %d: %d bytes run past the end of the file", i, n)
		}
		text := string(data[off : off+int(n)])
		off += int(n)
		typ := TokenNormal
		switch {
		case i == 0:
			text, typ = "<unk>", TokenUnknown
		case i == 1:
			text, typ = "<s>", TokenControl
		case i == 2:
			text, typ = "</s>", TokenControl
		case text == "":
			typ = TokenControl
		case isByteToken(text):
			typ = TokenByte
		}
		tokens = append(tokens, strings.ReplaceAll(text, " ", "\u2581"))
		scores = append(scores, score)
		types = append(types, typ)
	}
	if off != len(data) {
		return nil, nil, nil, fmt.Errorf("tokenizer.bin: %d bytes after the model's %d tokens (another model's vocabulary?)", len(data)-off, nVocab)
	}
	return tokens, scores, types, nil
}

// FromGGUF copies the vocabulary of a GGUF file (a model, or one of
// llama.cpp's vocabulary-only files): its tokenizer.* keys, in order, and
// the number of tokens they hold.
func FromGGUF(path string) (kv []gguf.KV, nTokens int, err error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	tokens, err := f.Strings("tokenizer.ggml.tokens")
	if err != nil {
		return nil, 0, fmt.Errorf("%s: no vocabulary: %w", path, err)
	}
	for _, k := range f.KV {
		if strings.HasPrefix(k.Key, "tokenizer.") {
			kv = append(kv, k)
		}
	}
	return kv, len(tokens), nil
}
