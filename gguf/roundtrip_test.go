package gguf

import (
	"bytes"
	"io"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/infer-go/infer/quant"
)

// TestRoundTripValues writes every value type, arrays of each, nested and
// empty arrays, and reads them back unchanged.
func TestRoundTripValues(t *testing.T) {
	values := []Value{
		ValueOf(uint8(0xAB)), ValueOf(int8(-128)), ValueOf(uint16(0xFFFF)), ValueOf(int16(-32768)),
		ValueOf(uint32(0xDEADBEEF)), ValueOf(int32(-1)), ValueOf(float32(-0.0625)), ValueOf(true), ValueOf(false),
		ValueOf("héllo\x00world"), ValueOf(""), ValueOf(uint64(1<<64 - 1)), ValueOf(int64(-1 << 63)),
		ValueOf(3.141592653589793),
		ValueOf([]uint8{0, 1, 255}), ValueOf([]int8{-1, 0, 127}), ValueOf([]uint16{1, 65535}),
		ValueOf([]int16{-2, 2}), ValueOf([]uint32{7}), ValueOf([]int32{-7, 7}), ValueOf([]float32{1e-30, 2.5}),
		ValueOf([]bool{true, false, true}), ValueOf([]string{"", "x", "日本"}), ValueOf([]uint64{1 << 40}),
		ValueOf([]int64{-5}), ValueOf([]float64{-1e300, 0}),
		ValueOf([]uint8{}), ValueOf([]string{}), ValueOf([]float64{}), ValueOf([]Value{}),
		ValueOf([]Value{ValueOf([]int32{1, 2}), ValueOf([]string{"a"}), ValueOf([]bool{})}),
		ValueOf([]Value{ValueOf([]Value{ValueOf([]Value{ValueOf([]uint64{9})})})}),
	}
	w := NewWriter()
	for i, v := range values {
		w.AddKV(string(rune('a'+i%26))+string(rune('0'+i/26)), v)
	}
	f, err := Parse(writerBytes(t, w))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.KV) != len(values) {
		t.Fatalf("read %d KVs, wrote %d", len(f.KV), len(values))
	}
	for i, kv := range f.KV {
		if !reflect.DeepEqual(kv.Value, values[i]) {
			t.Errorf("%s: read %#v (%s), wrote %#v (%s)", kv.Key, kv.Value, kv.Value.TypeName(), values[i], values[i].TypeName())
		}
	}
}

// TestRoundTripFile writes a file with tensors of several types to disk,
// opens it, and checks every KV and tensor and the layout rules.
func TestRoundTripFile(t *testing.T) {
	for _, align := range []uint32{0, 1, 64, 4096} {
		w := NewWriter()
		w.AddKV("general.name", ValueOf("round trip"))
		if align != 0 {
			w.AddKV("general.alignment", ValueOf(align))
		}
		type tensor struct {
			name string
			typ  quant.Type
			dims []uint64
			data []byte
		}
		var tensors []tensor
		for i, tt := range []struct {
			typ  quant.Type
			dims []uint64
		}{
			{quant.F32, []uint64{7}}, {quant.F16, []uint64{3, 5}}, {quant.BF16, []uint64{2, 2, 2}},
			{quant.Q4_0, []uint64{32, 3}}, {quant.Q8_0, []uint64{64, 1, 2}}, {quant.Q4_K, []uint64{256, 2}},
			{quant.Q6_K, []uint64{512}}, {quant.IQ2_XXS, []uint64{256, 1, 1, 3}}, {quant.I8, []uint64{1}},
		} {
			size, err := checkShape(tt.typ, tt.dims)
			if err != nil {
				t.Fatal(err)
			}
			data := make([]byte, size)
			for j := range data {
				data[j] = byte(j*7 + i)
			}
			tensors = append(tensors, tensor{"t." + tt.typ.String(), tt.typ, tt.dims, data})
		}
		for i, tt := range tensors {
			if i%2 == 0 {
				if err := w.AddTensor(tt.name, tt.typ, tt.dims, tt.data); err != nil {
					t.Fatal(err)
				}
				continue
			}
			data := tt.data
			err := w.AddTensorFunc(tt.name, tt.typ, tt.dims, func(out io.Writer) error {
				// In two pieces, as a streaming converter would.
				if _, err := out.Write(data[:len(data)/2]); err != nil {
					return err
				}
				_, err := out.Write(data[len(data)/2:])
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		path := filepath.Join(t.TempDir(), "rt.gguf")
		if err := w.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		f, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		want := uint64(align)
		if align == 0 {
			want = 32
		}
		if f.Version != 3 || f.Alignment != want || f.DataOffset%want != 0 {
			t.Errorf("align %d: version %d, alignment %d, data offset %d", align, f.Version, f.Alignment, f.DataOffset)
		}
		if name, err := f.String("general.name"); err != nil || name != "round trip" {
			t.Errorf("general.name = %q, %v", name, err)
		}
		if len(f.Tensors) != len(tensors) {
			t.Fatalf("read %d tensors, wrote %d", len(f.Tensors), len(tensors))
		}
		next := uint64(0)
		for i, tt := range tensors {
			got := f.Tensors[i]
			if got.Name != tt.name || got.Type != tt.typ || !reflect.DeepEqual(got.Dims, tt.dims) || !bytes.Equal(got.Data, tt.data) {
				t.Errorf("align %d: tensor %d: read %s %s %v (%d bytes), wrote %s %s %v (%d bytes)", align, i,
					got.Name, got.Type, got.Dims, len(got.Data), tt.name, tt.typ, tt.dims, len(tt.data))
			}
			if got.Offset != next {
				t.Errorf("align %d: tensor %s at offset %d, want %d (packed, each padded to the alignment)", align, tt.name, got.Offset, next)
			}
			next += (got.Size + want - 1) / want * want
		}
		if f.DataOffset+next != f.Size {
			t.Errorf("align %d: file is %d bytes, want %d (data padded to the alignment)", align, f.Size, f.DataOffset+next)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
