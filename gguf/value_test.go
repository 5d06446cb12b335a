package gguf

import (
	"strings"
	"testing"
)

func TestValueTypeNames(t *testing.T) {
	cases := []struct {
		v    Value
		want string
	}{
		{ValueOf(uint32(1)), "UINT32"},
		{ValueOf(float64(1)), "FLOAT64"},
		{ValueOf([]string{}), "ARRAY[STRING]"},
		{ValueOf([]Value{}), "ARRAY[ARRAY]"},
		{Value{Type: 42}, "ValueType(42)"},
	}
	for _, tc := range cases {
		if got := tc.v.TypeName(); got != tc.want {
			t.Errorf("TypeName of %#v = %q, want %q", tc.v, got, tc.want)
		}
	}
	for typ := TypeUint8; typ <= TypeFloat64; typ++ {
		if s := typ.String(); s == "" || strings.HasPrefix(s, "ValueType(") {
			t.Errorf("ValueType %d has no name", typ)
		}
	}
}

func TestValueString(t *testing.T) {
	long := make([]int32, 32000)
	for i := range long {
		long[i] = int32(i)
	}
	cases := []struct {
		v    Value
		want string
	}{
		{ValueOf(uint8(7)), "7"},
		{ValueOf(int64(-3)), "-3"},
		{ValueOf(float32(0.1)), "0.1"},
		{ValueOf(1e-300), "1e-300"},
		{ValueOf(true), "true"},
		{ValueOf("a \"b\"\n"), `"a \"b\"\n"`},
		{ValueOf([]string{"x", "y"}), `["x", "y"]`},
		{ValueOf([]string{}), `[]`},
		{ValueOf(long), "[0, 1, 2, 3, 4, 5, ... (32000 items)]"},
		{ValueOf([]Value{ValueOf([]bool{true}), ValueOf([]float32{1.5})}), "[[true], [1.5]]"},
	}
	for _, tc := range cases {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("String() = %s, want %s", got, tc.want)
		}
	}
}

func TestValueOfPanics(t *testing.T) {
	for _, x := range []any{1, []int{1}, map[string]int{}, nil, []Value{ValueOf(uint8(1))}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("ValueOf(%#v) did not panic", x)
				}
			}()
			ValueOf(x)
		}()
	}
}
