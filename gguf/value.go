package gguf

import (
	"fmt"
	"strconv"
)

// ValueType is the type tag GGUF stores before every metadata value.
type ValueType uint32

const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

// maxArrayDepth bounds how deeply arrays may nest. llama.cpp itself reads no
// nested arrays at all; the limit keeps a hostile file from driving the
// recursive reader into the stack limit.
const maxArrayDepth = 8

var valueTypeNames = [...]string{
	TypeUint8:   "UINT8",
	TypeInt8:    "INT8",
	TypeUint16:  "UINT16",
	TypeInt16:   "INT16",
	TypeUint32:  "UINT32",
	TypeInt32:   "INT32",
	TypeFloat32: "FLOAT32",
	TypeBool:    "BOOL",
	TypeString:  "STRING",
	TypeArray:   "ARRAY",
	TypeUint64:  "UINT64",
	TypeInt64:   "INT64",
	TypeFloat64: "FLOAT64",
}

// String returns the type's name as the GGUF specification spells it
// ("UINT32"), or "ValueType(N)" for an id GGUF does not define.
func (t ValueType) String() string {
	if t.valid() {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("ValueType(%d)", uint32(t))
}

func (t ValueType) valid() bool { return t <= TypeFloat64 }

// encodedSize is the number of bytes a value of a fixed-size type takes in
// the file, or for strings and arrays the least they can take (an empty
// string is its 8-byte length; an empty array its element type and count).
func (t ValueType) encodedSize() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64, TypeString:
		return 8
	case TypeArray:
		return 12
	}
	return 0
}

func (t ValueType) isInteger() bool {
	switch t {
	case TypeUint8, TypeInt8, TypeUint16, TypeInt16, TypeUint32, TypeInt32, TypeUint64, TypeInt64:
		return true
	}
	return false
}

// Value is one metadata value. Data holds the Go value matching Type:
// uint8, int8, uint16, int16, uint32, int32, float32, bool, string, uint64,
// int64 or float64. For arrays (Type == TypeArray) Elem is the element type
// and Data a slice of it ([]uint32, []string, ...), or []Value, each itself an
// array, when Elem is TypeArray.
type Value struct {
	Type ValueType
	Elem ValueType
	Data any
}

// ValueOf builds a Value from one of the Go types Value.Data may hold. It
// panics on any other type, as a programming error (use a sized type:
// uint32(n), not n). Every element of a []Value must itself be an array.
func ValueOf(x any) Value {
	if v, ok := x.(Value); ok {
		return v
	}
	typ, elem, ok := typesOf(x)
	if !ok {
		panic(fmt.Sprintf("gguf.ValueOf: unsupported Go type %T", x))
	}
	if inner, ok := x.([]Value); ok {
		for i, v := range inner {
			if v.Type != TypeArray {
				panic(fmt.Sprintf("gguf.ValueOf: element %d of an array of arrays is a %s", i, v.TypeName()))
			}
		}
	}
	return Value{Type: typ, Elem: elem, Data: x}
}

// typesOf maps a Go type Value.Data may hold to its GGUF type (and element
// type, for slices).
func typesOf(x any) (typ, elem ValueType, ok bool) {
	switch x.(type) {
	case uint8:
		return TypeUint8, 0, true
	case int8:
		return TypeInt8, 0, true
	case uint16:
		return TypeUint16, 0, true
	case int16:
		return TypeInt16, 0, true
	case uint32:
		return TypeUint32, 0, true
	case int32:
		return TypeInt32, 0, true
	case float32:
		return TypeFloat32, 0, true
	case bool:
		return TypeBool, 0, true
	case string:
		return TypeString, 0, true
	case uint64:
		return TypeUint64, 0, true
	case int64:
		return TypeInt64, 0, true
	case float64:
		return TypeFloat64, 0, true
	case []uint8:
		return TypeArray, TypeUint8, true
	case []int8:
		return TypeArray, TypeInt8, true
	case []uint16:
		return TypeArray, TypeUint16, true
	case []int16:
		return TypeArray, TypeInt16, true
	case []uint32:
		return TypeArray, TypeUint32, true
	case []int32:
		return TypeArray, TypeInt32, true
	case []float32:
		return TypeArray, TypeFloat32, true
	case []bool:
		return TypeArray, TypeBool, true
	case []string:
		return TypeArray, TypeString, true
	case []uint64:
		return TypeArray, TypeUint64, true
	case []int64:
		return TypeArray, TypeInt64, true
	case []float64:
		return TypeArray, TypeFloat64, true
	case []Value:
		return TypeArray, TypeArray, true
	}
	return 0, 0, false
}

// TypeName describes the value's type: "UINT32", or for arrays the element
// type in brackets, "ARRAY[STRING]".
func (v Value) TypeName() string {
	if v.Type == TypeArray {
		return "ARRAY[" + v.Elem.String() + "]"
	}
	return v.Type.String()
}

// Len is the number of elements of an array value, 0 for other values.
func (v Value) Len() int {
	if v.Type != TypeArray {
		return 0
	}
	switch d := v.Data.(type) {
	case []uint8:
		return len(d)
	case []int8:
		return len(d)
	case []uint16:
		return len(d)
	case []int16:
		return len(d)
	case []uint32:
		return len(d)
	case []int32:
		return len(d)
	case []float32:
		return len(d)
	case []bool:
		return len(d)
	case []string:
		return len(d)
	case []uint64:
		return len(d)
	case []int64:
		return len(d)
	case []float64:
		return len(d)
	case []Value:
		return len(d)
	}
	return 0
}

// check reports whether Data holds the Go type that Type and Elem call for,
// so that the writer can trust it; depth counts enclosing arrays.
func (v Value) check(depth int) error {
	if !v.Type.valid() {
		return fmt.Errorf("unknown value type %d", uint32(v.Type))
	}
	if v.Type == TypeArray {
		if depth >= maxArrayDepth {
			return fmt.Errorf("arrays nested more than %d deep", maxArrayDepth)
		}
		if !v.Elem.valid() {
			return fmt.Errorf("unknown array element type %d", uint32(v.Elem))
		}
	}
	typ, elem, ok := typesOf(v.Data)
	if !ok || typ != v.Type || (typ == TypeArray && elem != v.Elem) {
		return fmt.Errorf("value of type %s holds Go type %T", v.TypeName(), v.Data)
	}
	if inner, ok := v.Data.([]Value); ok {
		for i, e := range inner {
			if e.Type != TypeArray {
				return fmt.Errorf("element %d of an array of arrays is a %s", i, e.TypeName())
			}
			if err := e.check(depth + 1); err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
		}
	}
	return nil
}

// shownElements is how many leading elements String prints of an array.
const shownElements = 6

// String formats the value compactly for people: numbers as Go prints them,
// strings quoted, arrays as their first few elements followed by
// "... (N items)" when longer.
func (v Value) String() string {
	if v.Type != TypeArray {
		return formatScalar(v.Data)
	}
	n := v.Len()
	shown := min(n, shownElements)
	b := []byte{'['}
	for i := range shown {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, formatElement(v.Data, i)...)
	}
	if shown < n {
		b = fmt.Appendf(b, ", ... (%d items)", n)
	}
	return string(append(b, ']'))
}

func formatScalar(x any) string {
	switch x := x.(type) {
	case string:
		return strconv.Quote(x)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case Value:
		return x.String()
	}
	return fmt.Sprint(x)
}

func formatElement(data any, i int) string {
	switch d := data.(type) {
	case []uint8:
		return formatScalar(d[i])
	case []int8:
		return formatScalar(d[i])
	case []uint16:
		return formatScalar(d[i])
	case []int16:
		return formatScalar(d[i])
	case []uint32:
		return formatScalar(d[i])
	case []int32:
		return formatScalar(d[i])
	case []float32:
		return formatScalar(d[i])
	case []bool:
		return formatScalar(d[i])
	case []string:
		return formatScalar(d[i])
	case []uint64:
		return formatScalar(d[i])
	case []int64:
		return formatScalar(d[i])
	case []float64:
		return formatScalar(d[i])
	case []Value:
		return d[i].String()
	}
	return "?"
}
