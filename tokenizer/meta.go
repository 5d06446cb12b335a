package tokenizer

import (
	"fmt"
	"math"

	"github.com/infer-go/infer/gguf"
)

// metadata is the one thing the loader needs from a GGUF file: its
// key/value pairs. *gguf.File provides it.
type metadata interface {
	Value(key string) (gguf.Value, bool)
}

// Metadata keys, as llama.cpp's LLM_KV names them.
const (
	keyModel          = "tokenizer.ggml.model"
	keyPre            = "tokenizer.ggml.pre"
	keyTokens         = "tokenizer.ggml.tokens"
	keyScores         = "tokenizer.ggml.scores"
	keyTokenType      = "tokenizer.ggml.token_type"
	keyMerges         = "tokenizer.ggml.merges"
	keyAddBOS         = "tokenizer.ggml.add_bos_token"
	keyAddEOS         = "tokenizer.ggml.add_eos_token"
	keyAddSpacePrefix = "tokenizer.ggml.add_space_prefix"
	keyGeneralName    = "general.name"
)

func typeError(key string, v gguf.Value, want string) error {
	return fmt.Errorf("tokenizer: key %q: have %s, want %s", key, v.TypeName(), want)
}

// metaString returns a string value; ok is false when the key is absent.
func metaString(md metadata, key string) (s string, ok bool, err error) {
	v, ok := md.Value(key)
	if !ok {
		return "", false, nil
	}
	s, isString := v.Data.(string)
	if v.Type != gguf.TypeString || !isString {
		return "", true, typeError(key, v, "STRING")
	}
	return s, true, nil
}

func metaBool(md metadata, key string) (b bool, ok bool, err error) {
	v, ok := md.Value(key)
	if !ok {
		return false, false, nil
	}
	b, isBool := v.Data.(bool)
	if v.Type != gguf.TypeBool || !isBool {
		return false, true, typeError(key, v, "BOOL")
	}
	return b, true, nil
}

// metaInt returns an integer scalar of any GGUF integer type as int64.
// Values above math.MaxInt64 (only possible for UINT64) are clamped, which
// no caller can mistake for a valid token id.
func metaInt(md metadata, key string) (n int64, ok bool, err error) {
	v, ok := md.Value(key)
	if !ok {
		return 0, false, nil
	}
	switch x := v.Data.(type) {
	case uint8:
		return int64(x), true, nil
	case int8:
		return int64(x), true, nil
	case uint16:
		return int64(x), true, nil
	case int16:
		return int64(x), true, nil
	case uint32:
		return int64(x), true, nil
	case int32:
		return int64(x), true, nil
	case uint64:
		if x > math.MaxInt64 {
			return math.MaxInt64, true, nil
		}
		return int64(x), true, nil
	case int64:
		return x, true, nil
	}
	return 0, true, typeError(key, v, "an integer")
}

func metaStrings(md metadata, key string) (ss []string, ok bool, err error) {
	v, ok := md.Value(key)
	if !ok {
		return nil, false, nil
	}
	ss, isStrings := v.Data.([]string)
	if v.Type != gguf.TypeArray || !isStrings {
		return nil, true, typeError(key, v, "ARRAY[STRING]")
	}
	return ss, true, nil
}

// metaFloats reads the scores array, which llama.cpp accepts as FLOAT32 or
// INT32 elements.
func metaFloats(md metadata, key string) (fs []float32, ok bool, err error) {
	v, ok := md.Value(key)
	if !ok {
		return nil, false, nil
	}
	switch x := v.Data.(type) {
	case []float32:
		return x, true, nil
	case []int32:
		fs = make([]float32, len(x))
		for i, n := range x {
			fs[i] = float32(n)
		}
		return fs, true, nil
	}
	return nil, true, typeError(key, v, "ARRAY[FLOAT32] or ARRAY[INT32]")
}

// metaInt32s reads an integer array (token types) of any integer element
// type whose values fit in an int32.
func metaInt32s(md metadata, key string) (out []int32, ok bool, err error) {
	v, ok := md.Value(key)
	if !ok {
		return nil, false, nil
	}
	switch x := v.Data.(type) {
	case []int32:
		return x, true, nil
	case []uint8:
		out, err = toInt32s(key, x)
	case []int8:
		out, err = toInt32s(key, x)
	case []uint16:
		out, err = toInt32s(key, x)
	case []int16:
		out, err = toInt32s(key, x)
	case []uint32:
		out, err = toInt32s(key, x)
	case []int64:
		out, err = toInt32s(key, x)
	case []uint64:
		out, err = toInt32s(key, x)
	default:
		return nil, true, typeError(key, v, "ARRAY[integer]")
	}
	return out, true, err
}

func toInt32s[T uint8 | int8 | uint16 | int16 | uint32 | int64 | uint64](key string, xs []T) ([]int32, error) {
	out := make([]int32, len(xs))
	for i, x := range xs {
		if int64(x) < math.MinInt32 || int64(x) > math.MaxInt32 || (x > 0 && uint64(x) > math.MaxInt32) {
			return nil, fmt.Errorf("tokenizer: key %q: element %d = %d does not fit in INT32", key, i, x)
		}
		out[i] = int32(x)
	}
	return out, nil
}
