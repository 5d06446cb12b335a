package chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Tool definitions and message fields are printed by templates with
// tojson, so the order of an object's keys must survive decoding: a Go map
// would lose it. JSON values are therefore decoded into
//
//	nil, bool, string, json.Number, []any and Object
//
// where Object keeps its keys in the order of the input, as Python's dict
// does after json.loads.

// Field is one key of a JSON object, in order.
type Field struct {
	Key   string
	Value any
}

// Object is a JSON object with its keys in order.
type Object []Field

// Get returns the value of key and whether it is present.
func (o Object) Get(key string) (any, bool) {
	for _, f := range o {
		if f.Key == key {
			return f.Value, true
		}
	}
	return nil, false
}

// Limits of DecodeJSON: far beyond any chat request, small enough that a
// hostile input cannot exhaust the stack or memory.
const (
	MaxJSONSize  = 64 << 20
	MaxJSONDepth = 256
)

// DecodeJSON decodes one JSON value, keeping the order of object keys
// (Object), numbers as json.Number. A repeated key keeps its first position
// and its last value, as Python's json.loads does. Anything after the value
// other than whitespace is an error.
func DecodeJSON(data []byte) (any, error) {
	if len(data) > MaxJSONSize {
		return nil, fmt.Errorf("json: %d bytes is more than the %d allowed", len(data), MaxJSONSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err == nil {
			return nil, errors.New("json: data after the value")
		}
		return nil, fmt.Errorf("json: after the value: %w", err)
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	t, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("json: %w", err)
	}
	d, ok := t.(json.Delim)
	if !ok {
		return t, nil // nil, bool, string or json.Number
	}
	if depth >= MaxJSONDepth {
		return nil, fmt.Errorf("json: nested deeper than %d", MaxJSONDepth)
	}
	switch d {
	case '[':
		list := []any{}
		for dec.More() {
			v, err := decodeValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		if _, err := dec.Token(); err != nil { // ']'
			return nil, fmt.Errorf("json: %w", err)
		}
		return list, nil
	case '{':
		obj := Object{}
		var index map[string]int // built once an object is large
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, fmt.Errorf("json: %w", err)
			}
			key, ok := kt.(string)
			if !ok {
				return nil, fmt.Errorf("json: object key %v is not a string", kt)
			}
			v, err := decodeValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			at := -1
			if index != nil {
				if i, ok := index[key]; ok {
					at = i
				}
			} else {
				for i, f := range obj {
					if f.Key == key {
						at = i
						break
					}
				}
			}
			if at >= 0 {
				obj[at].Value = v
				continue
			}
			obj = append(obj, Field{Key: key, Value: v})
			if index != nil {
				index[key] = len(obj) - 1
			} else if len(obj) == 32 {
				index = make(map[string]int, 64)
				for i, f := range obj {
					index[f.Key] = i
				}
			}
		}
		if _, err := dec.Token(); err != nil { // '}'
			return nil, fmt.Errorf("json: %w", err)
		}
		return obj, nil
	}
	return nil, fmt.Errorf("json: unexpected %v", d)
}

// AppendJSON appends the compact JSON encoding of v (a value of the kinds
// DecodeJSON returns, or Go's plain bool, numbers, string, []any and
// map[string]any, the last with sorted keys) to dst. HTML characters are
// not escaped.
func AppendJSON(dst []byte, v any) ([]byte, error) {
	return appendJSON(dst, v, 0)
}

func appendJSON(dst []byte, v any, depth int) ([]byte, error) {
	if depth > MaxJSONDepth {
		return nil, fmt.Errorf("json: nested deeper than %d", MaxJSONDepth)
	}
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case string:
		return appendJSONString(dst, x), nil
	case json.Number:
		if !json.Valid([]byte(x)) {
			return nil, fmt.Errorf("json: %q is not a number", string(x))
		}
		return append(dst, x...), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("json: %v has no JSON form", x)
		}
		return strconv.AppendFloat(dst, x, 'g', -1, 64), nil
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendJSON(dst, e, depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case Object:
		dst = append(dst, '{')
		for i, f := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, f.Key)
			dst = append(dst, ':')
			var err error
			if dst, err = appendJSON(dst, f.Value, depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		obj := make(Object, len(keys))
		for i, k := range keys {
			obj[i] = Field{k, x[k]}
		}
		return appendJSON(dst, obj, depth)
	}
	return nil, fmt.Errorf("json: cannot encode %T", v)
}

func appendJSONString(dst []byte, s string) []byte {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(dst, strings.TrimSuffix(b.String(), "\n")...)
}
