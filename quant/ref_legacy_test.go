package quant_test

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/internal/testref"
	"github.com/infer-go/infer/quant"
)

// TestLegacyTypesMatchGGML checks the float and 32-element block types
// against ggml's own output in ../shared/ref/quant-ref.gguf: dequantizing
// ggml's q.T must give deq.T bit for bit, and quantizing `input` must give
// q.T byte for byte.
func TestLegacyTypesMatchGGML(t *testing.T) {
	f, err := gguf.Open(testref.Path(t, "ref", "quant-ref.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })

	input := legacyRefTensor(t, f, "input", quant.F32)
	if len(input.Dims) != 2 || input.Dims[0] != 256 {
		t.Fatalf("input: dims %v, want [256 16]", input.Dims)
	}
	x := legacyDecodeF32(input.Data)

	for _, typ := range []quant.Type{quant.F16, quant.BF16, quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.Q8_0, quant.IQ4_NL} {
		t.Run(typ.String(), func(t *testing.T) {
			name := strings.ToLower(typ.String()) // ggml_type_name: "q4_0", "iq4_nl", "bf16"
			q := legacyRefTensor(t, f, "q."+name, typ)
			want := legacyDecodeF32(legacyRefTensor(t, f, "deq."+name, quant.F32).Data)
			if len(want) != len(x) {
				t.Fatalf("deq.%s has %d values, input %d", name, len(want), len(x))
			}
			rowLen := int(input.Dims[0])

			got := make([]float32, len(x))
			if err := quant.Dequantize(typ, got, q.Data); err != nil {
				t.Fatal(err)
			}
			bad := 0
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					if bad < 5 {
						t.Errorf("dequantize: row %d col %d: got %g (%#08x), ggml %g (%#08x)",
							i/rowLen, i%rowLen, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
					}
					bad++
				}
			}
			if bad > 0 {
				t.Errorf("dequantize: %d of %d values differ from ggml", bad, len(got))
			}

			qb := make([]byte, len(q.Data))
			if err := quant.Quantize(typ, qb, x); err != nil {
				t.Fatal(err)
			}
			blk, bs := typ.TypeSize(), typ.BlockSize()
			bad = 0
			for i := range qb {
				if qb[i] != q.Data[i] {
					if bad < 5 {
						el := i / blk * bs
						t.Errorf("quantize: byte %d (block of row %d col %d): got %#02x, ggml %#02x",
							i, el/rowLen, el%rowLen, qb[i], q.Data[i])
					}
					bad++
				}
			}
			if bad > 0 {
				t.Errorf("quantize: %d of %d bytes differ from ggml", bad, len(qb))
			}
		})
	}
}

func legacyRefTensor(t *testing.T, f *gguf.File, name string, typ quant.Type) *gguf.TensorInfo {
	t.Helper()
	ti, ok := f.Tensor(name)
	if !ok {
		t.Fatalf("reference file has no tensor %q", name)
	}
	if ti.Type != typ {
		t.Fatalf("tensor %q has type %s, want %s", name, ti.Type, typ)
	}
	return ti
}

// legacyDecodeF32 reads little-endian float32s without the code under test.
func legacyDecodeF32(b []byte) []float32 {
	r := make([]float32, len(b)/4)
	for i := range r {
		r[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return r
}
