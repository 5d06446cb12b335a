package gguf

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/infer-go/infer/quant"
)

func writerBytes(t testing.TB, w *Writer) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := w.writeTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestParseMalformed feeds files broken in one way each and checks that the
// error names the problem and the offset of the offending field.
func TestParseMalformed(t *testing.T) {
	type malformed struct {
		data   []byte
		offset int // where the error must point
	}
	cases := []struct {
		name  string
		build func() malformed
		want  string
	}{
		{"empty", func() malformed { return malformed{nil, 0} }, "unexpected end of file reading magic"},
		{"short magic", func() malformed { return malformed{[]byte("GG"), 0} }, "unexpected end of file reading magic"},
		{"bad magic", func() malformed {
			return malformed{(&builder{}).raw('G', 'G', 'M', 'L').u32(3).u64(0).u64(0).b, 0}
		}, `bad magic "GGML"`},
		{"version 1", func() malformed {
			return malformed{(&builder{}).raw('G', 'G', 'U', 'F').u32(1).u64(0).u64(0).b, 4}
		}, "unsupported GGUF version 1"},
		{"version 0", func() malformed {
			return malformed{(&builder{}).raw('G', 'G', 'U', 'F').u32(0).u64(0).u64(0).b, 4}
		}, "unsupported GGUF version 0"},
		{"version 4", func() malformed {
			return malformed{(&builder{}).raw('G', 'G', 'U', 'F').u32(4).u64(0).u64(0).b, 4}
		}, "unsupported GGUF version 4"},
		{"big-endian", func() malformed {
			return malformed{(&builder{}).raw('G', 'G', 'U', 'F', 0, 0, 0, 3).raw(make([]byte, 16)...).b, 4}
		}, "big-endian"},
		{"truncated version", func() malformed {
			return malformed{(&builder{}).raw('G', 'G', 'U', 'F', 3, 0).b, 4}
		}, "unexpected end of file reading version"},
		{"truncated tensor count", func() malformed {
			return malformed{(&builder{}).raw('G', 'G', 'U', 'F').u32(3).raw(0, 0, 0).b, 8}
		}, "unexpected end of file reading tensor count: need 8 bytes, 3 left"},
		{"truncated kv count", func() malformed {
			return malformed{(&builder{}).raw('G', 'G', 'U', 'F').u32(3).u64(0).b, 16}
		}, "unexpected end of file reading kv count"},
		{"kv count too large", func() malformed {
			return malformed{(&builder{}).header(0, 1<<40).kvU32("a", 1).b, 16}
		}, "kv count 1099511627776 exceeds what the 17 bytes left in the file could hold"},
		{"kv count max uint64", func() malformed {
			return malformed{(&builder{}).header(0, ^uint64(0)).b, 16}
		}, "kv count 18446744073709551615 exceeds"},
		{"tensor count too large", func() malformed {
			return malformed{(&builder{}).header(1<<50, 0).b, 8}
		}, "tensor count 1125899906842624 exceeds"},
		{"tensor count too large after kvs", func() malformed {
			b := (&builder{}).header(2, 1)
			b.str("k").u32(uint32(TypeString)).str(strings.Repeat("x", 40))
			return malformed{b.tensor("t", quant.F32, 0, 1).b, 8}
		}, "tensor count 2 exceeds what the 33 bytes left after the key/value pairs"},
		{"truncated kv", func() malformed {
			b := (&builder{}).header(0, 2).kvU32("a", 1)
			at := b.pos()
			return malformed{b.str("bb").u32(uint32(TypeUint32)).raw(1, 0).b, at + 8 + 2 + 4}
		}, `kv 1 "bb": unexpected end of file reading UINT32: need 4 bytes, 2 left`},
		{"key length too large", func() malformed {
			b := (&builder{}).header(0, 1)
			at := b.pos()
			return malformed{b.u64(1 << 32).raw(make([]byte, 20)...).b, at}
		}, "key length 4294967296 exceeds the 20 bytes left in the file"},
		{"empty key", func() malformed {
			b := (&builder{}).header(0, 1)
			at := b.pos()
			return malformed{b.str("").u32(uint32(TypeUint8)).u8(1).b, at}
		}, "empty key"},
		{"duplicate key", func() malformed {
			b := (&builder{}).header(0, 2).kvU32("general.x", 1)
			at := b.pos()
			return malformed{b.kvU32("general.x", 2).b, at}
		}, `duplicate key "general.x" (kv 0 and 1)`},
		{"unknown value type", func() malformed {
			b := (&builder{}).header(0, 1).str("k")
			at := b.pos()
			return malformed{b.u32(13).u32(0).b, at}
		}, `kv 0 "k": unknown value type 13`},
		{"string length too large", func() malformed {
			b := (&builder{}).header(0, 1).str("k").u32(uint32(TypeString))
			at := b.pos()
			return malformed{b.u64(4294967295).raw(make([]byte, 50)...).b, at}
		}, "string length 4294967295 exceeds the 50 bytes left in the file"},
		{"truncated string", func() malformed {
			b := (&builder{}).header(0, 1).str("k").u32(uint32(TypeString))
			at := b.pos()
			return malformed{b.u64(10).raw('a', 'b').b, at}
		}, "string length 10 exceeds the 2 bytes left in the file"},
		{"bool byte", func() malformed {
			b := (&builder{}).header(0, 1).str("k").u32(uint32(TypeBool))
			at := b.pos()
			return malformed{b.u8(2).b, at}
		}, "bool byte 2 is neither 0 nor 1"},
		{"bool array byte", func() malformed {
			b := (&builder{}).header(0, 1).str("k").u32(uint32(TypeArray)).u32(uint32(TypeBool)).u64(3)
			at := b.pos()
			return malformed{b.u8(1).u8(0).u8(255).b, at + 2}
		}, "array element 2: bool byte 255 is neither 0 nor 1"},
		{"unknown array element type", func() malformed {
			b := (&builder{}).header(0, 1).str("k").u32(uint32(TypeArray))
			at := b.pos()
			return malformed{b.u32(77).u64(0).b, at}
		}, "unknown array element type 77"},
		{"array length too large", func() malformed {
			b := (&builder{}).header(0, 1).str("k").u32(uint32(TypeArray)).u32(uint32(TypeUint32))
			at := b.pos()
			return malformed{b.u64(1 << 61).u32(7).b, at}
		}, "array length 2305843009213693952 exceeds what the 4 bytes left in the file could hold (at least 4 bytes each)"},
		{"string array length too large", func() malformed {
			b := (&builder{}).header(0, 1).str("k").u32(uint32(TypeArray)).u32(uint32(TypeString))
			at := b.pos()
			return malformed{b.u64(3).str("a").str("b").b, at}
		}, "array length 3 exceeds"},
		{"string array element too long", func() malformed {
			b := (&builder{}).header(0, 1).str("k").u32(uint32(TypeArray)).u32(uint32(TypeString)).u64(3)
			b.str("a")
			at := b.pos()
			return malformed{b.u64(1 << 40).str("b").b, at}
		}, "array element 1: string length 1099511627776 exceeds the 9 bytes left in the file"},
		{"nested array too long", func() malformed {
			b := (&builder{}).header(0, 1).str("k").u32(uint32(TypeArray)).u32(uint32(TypeArray)).u64(2)
			b.u32(uint32(TypeUint8)).u64(1).u8(9)
			at := b.pos() + 4
			return malformed{b.u32(uint32(TypeUint8)).u64(5).u8(1).b, at}
		}, "array element 1: array length 5 exceeds"},
		{"arrays nested too deep", func() malformed {
			b := (&builder{}).header(0, 1).str("k").u32(uint32(TypeArray))
			for range maxArrayDepth - 1 {
				b.u32(uint32(TypeArray)).u64(1)
			}
			at := b.pos() + 12 // the ninth array
			return malformed{b.u32(uint32(TypeArray)).u64(1).u32(uint32(TypeUint8)).u64(0).b, at}
		}, "arrays nested more than 8 deep"},
		{"alignment zero", func() malformed {
			b := (&builder{}).header(0, 1)
			at := b.pos()
			return malformed{b.kvU32("general.alignment", 0).b, at}
		}, "general.alignment: alignment 0 is not a positive power of two"},
		{"alignment not a power of two", func() malformed {
			b := (&builder{}).header(0, 1)
			at := b.pos()
			return malformed{b.kvU32("general.alignment", 48).b, at}
		}, "alignment 48 is not a positive power of two"},
		{"alignment negative", func() malformed {
			b := (&builder{}).header(0, 1)
			at := b.pos()
			return malformed{b.str("general.alignment").u32(uint32(TypeInt32)).u32(0xFFFFFFE0).b, at}
		}, "alignment -32 is not a positive power of two"},
		{"alignment string", func() malformed {
			b := (&builder{}).header(0, 1)
			at := b.pos()
			return malformed{b.str("general.alignment").u32(uint32(TypeString)).str("32").b, at}
		}, "general.alignment: have STRING, want an integer"},
		{"too many dims", func() malformed {
			b := (&builder{}).header(1, 0).str("t")
			at := b.pos()
			return malformed{b.u32(5).u64(1).u64(1).u64(1).u64(1).u64(1).u32(0).u64(0).padTo(32).zeros(4).b, at}
		}, `tensor 0 "t": n_dims 5 exceeds the maximum of 4 dimensions`},
		{"zero dim", func() malformed {
			b := (&builder{}).header(1, 0).str("t").u32(2).u64(4)
			at := b.pos()
			return malformed{b.u64(0).u32(0).u64(0).b, at}
		}, `tensor 0 "t": dimension 1 is zero`},
		{"element count overflow", func() malformed {
			b := (&builder{}).header(1, 0).str("t").u32(3).u64(1 << 32).u64(1 << 30)
			at := b.pos()
			return malformed{b.u64(4).u32(0).u64(0).b, at}
		}, "number of elements overflows int64 at dimension 2"},
		{"huge dim", func() malformed {
			b := (&builder{}).header(1, 0).str("t").u32(1)
			at := b.pos()
			return malformed{b.u64(^uint64(0)).u32(0).u64(0).b, at}
		}, "number of elements overflows int64 at dimension 0"},
		{"byte size overflow", func() malformed {
			b := (&builder{}).header(1, 0).str("t").u32(2).u64(1 << 31).u64(1 << 31)
			at := b.pos()
			return malformed{b.u32(uint32(quant.F64)).u64(0).b, at}
		}, "byte size of shape [2147483648 2147483648] overflows"},
		{"unknown tensor type", func() malformed {
			b := (&builder{}).header(1, 0).str("t").u32(1).u64(32)
			at := b.pos()
			return malformed{b.u32(31).u64(0).padTo(32).zeros(128).b, at}
		}, "unknown ggml type id 31"},
		{"row not whole blocks", func() malformed {
			b := (&builder{}).header(1, 0).str("t").u32(2).u64(48).u64(2)
			at := b.pos()
			return malformed{b.u32(uint32(quant.Q4_0)).u64(0).padTo(32).zeros(64).b, at}
		}, "row length 48 is not a multiple of the Q4_0 block size 32"},
		{"unaligned offset", func() malformed {
			b := (&builder{}).header(2, 0).tensor("a", quant.F32, 0, 4).str("b").u32(1).u64(4).u32(0)
			at := b.pos()
			return malformed{b.u64(16).padTo(32).zeros(64).b, at}
		}, `tensor 1 "b": data offset 16 is not a multiple of the alignment 32`},
		{"data past end", func() malformed {
			b := (&builder{}).header(1, 0).str("t").u32(1).u64(8).u32(0)
			at := b.pos()
			return malformed{b.u64(0).padTo(32).zeros(31).b, at}
		}, "data (32 bytes at offset 0 in the data section) lies past the end of the"},
		{"offset overflows", func() malformed {
			b := (&builder{}).header(1, 0).str("t").u32(1).u64(8).u32(0)
			at := b.pos()
			return malformed{b.u64(^uint64(31)).padTo(32).zeros(32).b, at}
		}, "lies past the end"},
		{"data section missing", func() malformed {
			b := (&builder{}).header(1, 0).str("t").u32(1).u64(1).u32(0)
			at := b.pos()
			return malformed{b.u64(0).b, at}
		}, "lies past the end"},
		{"duplicate tensor name", func() malformed {
			b := (&builder{}).header(2, 0).tensor("w", quant.F32, 0, 8)
			at := b.pos()
			return malformed{b.tensor("w", quant.F32, 32, 8).padTo(32).zeros(64).b, at}
		}, `duplicate tensor name "w" (tensors 0 and 1)`},
		{"tensor name too long", func() malformed {
			b := (&builder{}).header(1, 0)
			at := b.pos()
			return malformed{b.u64(1 << 20).zeros(30).b, at}
		}, "tensor 0: tensor name length 1048576 exceeds the 30 bytes left"},
		{"truncated tensor info", func() malformed {
			b := (&builder{}).header(1, 0).str("t").u32(3).u64(8).u64(8)
			at := b.pos()
			return malformed{b.raw(1, 2).b, at}
		}, `tensor 0 "t": unexpected end of file reading tensor dimension`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.build()
			f, err := Parse(m.data)
			if err == nil {
				t.Fatalf("Parse succeeded (%d KVs, %d tensors), want an error containing %q", len(f.KV), len(f.Tensors), tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\ndoes not contain %q", err, tc.want)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is a %T, want *FormatError", err, err)
			}
			if fe.Offset != int64(m.offset) {
				t.Errorf("error %q: offset %d, want %d", err, fe.Offset, m.offset)
			}
			if !strings.HasPrefix(err.Error(), "gguf: offset ") {
				t.Errorf("error %q does not start with the offset", err)
			}
		})
	}
}

// TestParseAcceptsEdgeCases checks files that look odd but are valid.
func TestParseAcceptsEdgeCases(t *testing.T) {
	cases := []struct {
		name  string
		data  []byte
		check func(t *testing.T, f *File)
	}{
		{"no tensors, no padding", (&builder{}).header(0, 1).kvU32("a", 1).b, func(t *testing.T, f *File) {
			if f.DataOffset != f.Size {
				t.Errorf("DataOffset %d, want the end of the header %d", f.DataOffset, f.Size)
			}
		}},
		{"version 2", (&builder{}).raw('G', 'G', 'U', 'F').u32(2).u64(0).u64(0).b, func(t *testing.T, f *File) {
			if f.Version != 2 {
				t.Errorf("Version %d, want 2", f.Version)
			}
		}},
		{"unsupported but known type", (&builder{}).header(1, 0).tensor("t", quant.IQ2_XXS, 0, 256).padTo(32).zeros(66).b,
			func(t *testing.T, f *File) {
				ti := f.Tensors[0]
				if ti.Type != quant.IQ2_XXS || ti.Size != 66 || len(ti.Data) != 66 || cap(ti.Data) != 66 {
					t.Errorf("tensor %+v, want IQ2_XXS of 66 bytes", ti)
				}
			}},
		{"zero-dimensional tensor", (&builder{}).header(1, 0).tensor("s", quant.F32, 0).padTo(32).zeros(4).b,
			func(t *testing.T, f *File) {
				if ti := f.Tensors[0]; ti.Size != 4 || ti.NumElements() != 1 {
					t.Errorf("scalar tensor %+v, want 1 element of 4 bytes", ti)
				}
			}},
		{"alignment as uint64", (&builder{}).header(1, 1).str("general.alignment").u32(uint32(TypeUint64)).u64(64).
			tensor("t", quant.F32, 0, 2).padTo(64).zeros(8).b,
			func(t *testing.T, f *File) {
				if f.Alignment != 64 || f.DataOffset%64 != 0 {
					t.Errorf("alignment %d, data at %d; want 64", f.Alignment, f.DataOffset)
				}
			}},
		{"arrays nested 8 deep", func() []byte {
			b := (&builder{}).header(0, 1).str("k").u32(uint32(TypeArray))
			for range maxArrayDepth - 1 {
				b.u32(uint32(TypeArray)).u64(1)
			}
			return b.u32(uint32(TypeUint8)).u64(1).u8(7).b
		}(), func(t *testing.T, f *File) {
			v, _ := f.Value("k")
			for range maxArrayDepth - 1 {
				v = v.Data.([]Value)[0]
			}
			if got := v.Data.([]uint8); len(got) != 1 || got[0] != 7 {
				t.Errorf("innermost array %v, want [7]", got)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, f)
		})
	}
}

// TestParseTruncatedEveryByte cuts a small valid file at every length: each
// prefix must fail cleanly, pointing inside the prefix.
func TestParseTruncatedEveryByte(t *testing.T) {
	data := writerBytes(t, sampleWriter(t))
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	// The padding after the last tensor is not needed to read it.
	last := f.Tensors[len(f.Tensors)-1]
	end := int(f.DataOffset + last.Offset + last.Size)
	if end == len(data) {
		t.Fatalf("the sample's last tensor ends on the alignment: the test would not cover a file without its final padding")
	}
	if _, err := Parse(data[:end]); err != nil {
		t.Errorf("file without its final padding: %v", err)
	}
	for n := range end {
		_, err := Parse(data[:n:n])
		if err == nil {
			t.Fatalf("prefix of %d of %d bytes parsed without error", n, len(data))
		}
		fe, ok := errors.AsType[*FormatError](err)
		if !ok {
			t.Fatalf("prefix %d: error %v is a %T, want *FormatError", n, err, err)
		}
		if fe.Offset < 0 || fe.Offset > int64(n) {
			t.Fatalf("prefix %d: error %q points outside the data", n, err)
		}
		if !strings.Contains(err.Error(), "end of file") && !strings.Contains(err.Error(), "exceeds") &&
			!strings.Contains(err.Error(), "past the end") {
			t.Fatalf("prefix %d: error %q does not say the file is short", n, err)
		}
	}
}
