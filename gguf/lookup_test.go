package gguf

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func lookupFile(t *testing.T) *File {
	t.Helper()
	w := NewWriter()
	for _, kv := range []KV{
		{"str", ValueOf("llama")},
		{"yes", ValueOf(true)},
		{"u8", ValueOf(uint8(7))},
		{"i32", ValueOf(int32(4096))},
		{"neg", ValueOf(int32(-1))},
		{"u64", ValueOf(uint64(1 << 40))},
		{"u64max", ValueOf(uint64(1<<64 - 1))},
		{"i64", ValueOf(int64(-5))},
		{"f32", ValueOf(float32(1e-5))},
		{"f64", ValueOf(0.25)},
		{"tokens", ValueOf([]string{"<s>", "a"})},
		{"scores", ValueOf([]float32{-1, 0.5})},
		{"scores64", ValueOf([]float64{2, -3})},
		{"types", ValueOf([]int32{1, 6})},
		{"types8", ValueOf([]uint8{1, 255})},
		{"types64", ValueOf([]int64{1, 1 << 40})},
		{"nested", ValueOf([]Value{ValueOf([]int32{1})})},
	} {
		w.AddKV(kv.Key, kv.Value)
	}
	f, err := Parse(writerBytes(t, w))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestLookups(t *testing.T) {
	f := lookupFile(t)
	call := func(get string, key string) (any, error) {
		switch get {
		case "String":
			return f.String(key)
		case "Bool":
			return f.Bool(key)
		case "Uint32":
			return f.Uint32(key)
		case "Uint64":
			return f.Uint64(key)
		case "Int64":
			return f.Int64(key)
		case "Float32":
			return f.Float32(key)
		case "Strings":
			return f.Strings(key)
		case "Float32s":
			return f.Float32s(key)
		case "Int32s":
			return f.Int32s(key)
		}
		panic(get)
	}
	cases := []struct {
		get, key string
		want     any
		err      string
	}{
		{"String", "str", "llama", ""},
		{"String", "u8", nil, `gguf: key "u8": have UINT8, want STRING`},
		{"Bool", "yes", true, ""},
		{"Bool", "u8", nil, "have UINT8, want BOOL"},
		{"Uint32", "u8", uint32(7), ""},
		{"Uint32", "i32", uint32(4096), ""},
		{"Uint32", "neg", nil, `gguf: key "neg": INT32 value -1 does not fit UINT32`},
		{"Uint32", "u64", nil, "UINT64 value 1099511627776 does not fit UINT32"},
		{"Uint32", "str", nil, `gguf: key "str": have STRING, want UINT32`},
		{"Uint32", "f32", nil, "have FLOAT32, want UINT32"},
		{"Uint64", "u64max", uint64(1<<64 - 1), ""},
		{"Uint64", "neg", nil, "does not fit UINT64"},
		{"Int64", "i64", int64(-5), ""},
		{"Int64", "u8", int64(7), ""},
		{"Int64", "u64max", nil, "does not fit INT64"},
		{"Float32", "f32", float32(1e-5), ""},
		{"Float32", "f64", float32(0.25), ""},
		{"Float32", "i32", nil, "have INT32, want FLOAT32"},
		{"Strings", "tokens", []string{"<s>", "a"}, ""},
		{"Strings", "types", nil, `gguf: key "types": have ARRAY[INT32], want ARRAY[STRING]`},
		{"Strings", "str", nil, "have STRING, want ARRAY[STRING]"},
		{"Float32s", "scores", []float32{-1, 0.5}, ""},
		{"Float32s", "scores64", []float32{2, -3}, ""},
		{"Float32s", "tokens", nil, "have ARRAY[STRING], want ARRAY[FLOAT32]"},
		{"Int32s", "types", []int32{1, 6}, ""},
		{"Int32s", "types8", []int32{1, 255}, ""},
		{"Int32s", "types64", nil, "ARRAY[INT64] element 1 (1099511627776) does not fit INT32"},
		{"Int32s", "scores", nil, "have ARRAY[FLOAT32], want ARRAY[INT32]"},
		{"Int32s", "nested", nil, "have ARRAY[ARRAY], want ARRAY[INT32]"},
	}
	for _, tc := range cases {
		got, err := call(tc.get, tc.key)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s(%q) = %v, %v; want error %q", tc.get, tc.key, got, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s(%q) = %#v, %v; want %#v", tc.get, tc.key, got, err, tc.want)
		}
	}
	for _, get := range []string{"String", "Bool", "Uint32", "Uint64", "Int64", "Float32", "Strings", "Float32s", "Int32s"} {
		_, err := call(get, "missing.key")
		if !errors.Is(err, ErrKeyNotFound) || !strings.Contains(err.Error(), `"missing.key"`) {
			t.Errorf("%s(missing.key): %v, want ErrKeyNotFound naming the key", get, err)
		}
	}
	if !f.Has("str") || f.Has("missing.key") {
		t.Error("Has disagrees with the file's keys")
	}
	if v, ok := f.Value("i32"); !ok || v.Type != TypeInt32 || v.Data != int32(4096) {
		t.Errorf("Value(i32) = %#v, %v", v, ok)
	}
	if _, ok := f.Tensor("nothing"); ok {
		t.Error("Tensor found a tensor the file lacks")
	}
}
