package gguf

import (
	"errors"
	"fmt"
	"math"
)

// ErrKeyNotFound is wrapped by every lookup of a key the file lacks.
var ErrKeyNotFound = errors.New("key not found")

// Value returns the value stored under key.
func (f *File) Value(key string) (Value, bool) {
	i, ok := f.kvIndex[key]
	if !ok {
		return Value{}, false
	}
	return f.KV[i].Value, true
}

// Has reports whether the file has key.
func (f *File) Has(key string) bool {
	_, ok := f.kvIndex[key]
	return ok
}

func (f *File) lookup(key string) (Value, error) {
	v, ok := f.Value(key)
	if !ok {
		return Value{}, fmt.Errorf("gguf: key %q: %w", key, ErrKeyNotFound)
	}
	return v, nil
}

func mismatch(key string, v Value, want string) error {
	return fmt.Errorf("gguf: key %q: have %s, want %s", key, v.TypeName(), want)
}

func outOfRange(key string, v Value, want string) error {
	return fmt.Errorf("gguf: key %q: %s value %s does not fit %s", key, v.TypeName(), v, want)
}

// String returns a STRING value.
func (f *File) String(key string) (string, error) {
	v, err := f.lookup(key)
	if err != nil {
		return "", err
	}
	s, ok := v.Data.(string)
	if !ok || v.Type != TypeString {
		return "", mismatch(key, v, "STRING")
	}
	return s, nil
}

// Bool returns a BOOL value.
func (f *File) Bool(key string) (bool, error) {
	v, err := f.lookup(key)
	if err != nil {
		return false, err
	}
	b, ok := v.Data.(bool)
	if !ok || v.Type != TypeBool {
		return false, mismatch(key, v, "BOOL")
	}
	return b, nil
}

// Uint32 returns an integer value of any integer type, if it fits a uint32:
// writers disagree on the types of counts (UINT32, INT32, UINT64).
func (f *File) Uint32(key string) (uint32, error) {
	v, err := f.lookup(key)
	if err != nil {
		return 0, err
	}
	if !v.Type.isInteger() {
		return 0, mismatch(key, v, "UINT32")
	}
	u, ok := uintValue(v)
	if !ok || u > math.MaxUint32 {
		return 0, outOfRange(key, v, "UINT32")
	}
	return uint32(u), nil
}

// Uint64 returns a non-negative value of any integer type.
func (f *File) Uint64(key string) (uint64, error) {
	v, err := f.lookup(key)
	if err != nil {
		return 0, err
	}
	if !v.Type.isInteger() {
		return 0, mismatch(key, v, "UINT64")
	}
	u, ok := uintValue(v)
	if !ok {
		return 0, outOfRange(key, v, "UINT64")
	}
	return u, nil
}

// Int64 returns a value of any integer type that fits an int64.
func (f *File) Int64(key string) (int64, error) {
	v, err := f.lookup(key)
	if err != nil {
		return 0, err
	}
	if !v.Type.isInteger() {
		return 0, mismatch(key, v, "INT64")
	}
	i, ok := intValue(v.Data)
	if !ok {
		return 0, outOfRange(key, v, "INT64")
	}
	return i, nil
}

// Float32 returns a FLOAT32 value, or a FLOAT64 one converted.
func (f *File) Float32(key string) (float32, error) {
	v, err := f.lookup(key)
	if err != nil {
		return 0, err
	}
	switch x := v.Data.(type) {
	case float32:
		return x, nil
	case float64:
		return float32(x), nil
	}
	return 0, mismatch(key, v, "FLOAT32")
}

// Strings returns an ARRAY[STRING] value. The slice is the File's own: do
// not modify it.
func (f *File) Strings(key string) ([]string, error) {
	v, err := f.lookup(key)
	if err != nil {
		return nil, err
	}
	s, ok := v.Data.([]string)
	if !ok {
		return nil, mismatch(key, v, "ARRAY[STRING]")
	}
	return s, nil
}

// Float32s returns an ARRAY[FLOAT32] value (the File's own slice: do not
// modify it), or an ARRAY[FLOAT64] converted.
func (f *File) Float32s(key string) ([]float32, error) {
	v, err := f.lookup(key)
	if err != nil {
		return nil, err
	}
	switch x := v.Data.(type) {
	case []float32:
		return x, nil
	case []float64:
		out := make([]float32, len(x))
		for i, e := range x {
			out[i] = float32(e)
		}
		return out, nil
	}
	return nil, mismatch(key, v, "ARRAY[FLOAT32]")
}

// Int32s returns an array of any integer element type whose elements all
// fit an int32 (token types are INT32, but some writers use other widths).
// An ARRAY[INT32] is returned as the File's own slice: do not modify it.
func (f *File) Int32s(key string) ([]int32, error) {
	v, err := f.lookup(key)
	if err != nil {
		return nil, err
	}
	if s, ok := v.Data.([]int32); ok {
		return s, nil
	}
	if v.Type != TypeArray || !v.Elem.isInteger() {
		return nil, mismatch(key, v, "ARRAY[INT32]")
	}
	out := make([]int32, v.Len())
	for i := range out {
		e, ok := intValue(element(v.Data, i))
		if !ok || e < math.MinInt32 || e > math.MaxInt32 {
			return nil, fmt.Errorf("gguf: key %q: %s element %d (%v) does not fit INT32", key, v.TypeName(), i, element(v.Data, i))
		}
		out[i] = int32(e)
	}
	return out, nil
}

// uintValue converts an integer value to uint64, reporting false for a
// negative one or a value that is not an integer.
func uintValue(v Value) (uint64, bool) {
	if u, ok := v.Data.(uint64); ok {
		return u, true
	}
	i, ok := intValue(v.Data)
	if !ok || i < 0 {
		return 0, false
	}
	return uint64(i), true
}

// intValue converts any Go integer Value.Data may hold to int64, reporting
// false for a uint64 above MaxInt64 or a non-integer.
func intValue(x any) (int64, bool) {
	switch x := x.(type) {
	case uint8:
		return int64(x), true
	case int8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case int16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint64:
		if x > math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	}
	return 0, false
}

// element returns element i of an integer slice as an interface value.
func element(data any, i int) any {
	switch d := data.(type) {
	case []uint8:
		return d[i]
	case []int8:
		return d[i]
	case []uint16:
		return d[i]
	case []int16:
		return d[i]
	case []uint32:
		return d[i]
	case []int32:
		return d[i]
	case []uint64:
		return d[i]
	case []int64:
		return d[i]
	}
	return nil
}
