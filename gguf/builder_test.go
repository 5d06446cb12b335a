package gguf

import (
	"encoding/binary"
	"testing"

	"github.com/infer-go/infer/quant"
)

// builder assembles GGUF bytes field by field, so that tests can make files
// the Writer refuses to make.
type builder struct{ b []byte }

func (b *builder) u8(v uint8) *builder { b.b = append(b.b, v); return b }
func (b *builder) u32(v uint32) *builder {
	b.b = binary.LittleEndian.AppendUint32(b.b, v)
	return b
}
func (b *builder) u64(v uint64) *builder {
	b.b = binary.LittleEndian.AppendUint64(b.b, v)
	return b
}
func (b *builder) str(s string) *builder  { b.u64(uint64(len(s))); b.b = append(b.b, s...); return b }
func (b *builder) raw(p ...byte) *builder { b.b = append(b.b, p...); return b }

// pos is the offset the next field will have.
func (b *builder) pos() int { return len(b.b) }

// header writes the magic, version 3 and the two counts.
func (b *builder) header(nTensors, nKV uint64) *builder {
	return b.raw('G', 'G', 'U', 'F').u32(3).u64(nTensors).u64(nKV)
}

// kvU32 writes a UINT32 key/value pair.
func (b *builder) kvU32(key string, v uint32) *builder {
	return b.str(key).u32(uint32(TypeUint32)).u32(v)
}

// tensor writes a tensor info.
func (b *builder) tensor(name string, typ quant.Type, offset uint64, dims ...uint64) *builder {
	b.str(name).u32(uint32(len(dims)))
	for _, d := range dims {
		b.u64(d)
	}
	return b.u32(uint32(typ)).u64(offset)
}

// padTo appends zeros up to a multiple of align.
func (b *builder) padTo(align int) *builder {
	for len(b.b)%align != 0 {
		b.b = append(b.b, 0)
	}
	return b
}

// zeros appends n zero bytes (tensor data).
func (b *builder) zeros(n int) *builder { b.b = append(b.b, make([]byte, n)...); return b }

// sampleWriter returns a Writer holding a little of everything: scalars of
// every type, arrays, a nested array and tensors of several types.
func sampleWriter(t testing.TB) *Writer {
	t.Helper()
	w := NewWriter()
	w.AddKV("general.architecture", ValueOf("llama"))
	w.AddKV("u8", ValueOf(uint8(200)))
	w.AddKV("i8", ValueOf(int8(-100)))
	w.AddKV("u16", ValueOf(uint16(60000)))
	w.AddKV("i16", ValueOf(int16(-30000)))
	w.AddKV("u32", ValueOf(uint32(4000000000)))
	w.AddKV("i32", ValueOf(int32(-2000000000)))
	w.AddKV("f32", ValueOf(float32(1.5)))
	w.AddKV("bool", ValueOf(true))
	w.AddKV("u64", ValueOf(uint64(1<<63+5)))
	w.AddKV("i64", ValueOf(int64(-1<<62)))
	w.AddKV("f64", ValueOf(-2.25))
	w.AddKV("empty", ValueOf(""))
	w.AddKV("tokens", ValueOf([]string{"a", "", "ß", "<0x0A>"}))
	w.AddKV("scores", ValueOf([]float32{0, -1.5, 3}))
	w.AddKV("types", ValueOf([]int32{1, 2, 3}))
	w.AddKV("flags", ValueOf([]bool{true, false}))
	w.AddKV("nested", ValueOf([]Value{ValueOf([]uint16{1, 2}), ValueOf([]string{})}))
	tensors := []struct {
		name string
		typ  quant.Type
		dims []uint64
	}{
		{"f32", quant.F32, []uint64{3, 2}},
		{"q4_0", quant.Q4_0, []uint64{64}},
		{"f16", quant.F16, []uint64{5, 1, 1, 1}},
	}
	for i, tt := range tensors {
		size, err := checkShape(tt.typ, tt.dims)
		if err != nil {
			t.Fatal(err)
		}
		data := make([]byte, size)
		for j := range data {
			data[j] = byte(i*31 + j)
		}
		if err := w.AddTensor(tt.name, tt.typ, tt.dims, data); err != nil {
			t.Fatal(err)
		}
	}
	return w
}
