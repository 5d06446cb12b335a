package quant_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/infer-go/infer/quant"
)

// TestTraitsLayouts recomputes every type's block size and bytes per block
// from the fields of ggml's block structs (ggml-common.h).
func TestTraitsLayouts(t *testing.T) {
	const qkK, f16 = 256, 2
	tests := []struct {
		typ       quant.Type
		blockSize int
		typeSize  int
	}{
		{quant.F32, 1, 4},
		{quant.F16, 1, 2},
		{quant.BF16, 1, 2},
		{quant.F64, 1, 8},
		{quant.I8, 1, 1},
		{quant.I16, 1, 2},
		{quant.I32, 1, 4},
		{quant.I64, 1, 8},
		{quant.Q4_0, 32, f16 + 32/2},                         // d, qs
		{quant.Q4_1, 32, 2*f16 + 32/2},                       // d, m, qs
		{quant.Q5_0, 32, f16 + 4 + 32/2},                     // d, qh, qs
		{quant.Q5_1, 32, 2*f16 + 4 + 32/2},                   // d, m, qh, qs
		{quant.Q8_0, 32, f16 + 32},                           // d, qs
		{quant.Q8_1, 32, 2*f16 + 32},                         // d, s, qs
		{quant.IQ4_NL, 32, f16 + 32/2},                       // d, qs
		{quant.MXFP4, 32, 1 + 32/2},                          // e, qs
		{quant.Q2_K, qkK, qkK/16 + qkK/4 + 2*f16},            // scales, qs, d, dmin
		{quant.Q3_K, qkK, qkK/8 + qkK/4 + 12 + f16},          // hmask, qs, scales, d
		{quant.Q4_K, qkK, 2*f16 + 12 + qkK/2},                // d, dmin, scales, qs
		{quant.Q5_K, qkK, 2*f16 + 12 + qkK/8 + qkK/2},        // d, dmin, scales, qh, qs
		{quant.Q6_K, qkK, qkK/2 + qkK/4 + qkK/16 + f16},      // ql, qh, scales, d
		{quant.Q8_K, qkK, 4 + qkK + qkK/16*2},                // d (f32), qs, bsums
		{quant.IQ2_XXS, qkK, f16 + qkK/8*2},                  // d, qs (uint16)
		{quant.IQ2_XS, qkK, f16 + qkK/8*2 + qkK/32},          // d, qs, scales
		{quant.IQ2_S, qkK, f16 + qkK/4 + qkK/32 + qkK/32},    // d, qs, qh, scales
		{quant.IQ3_XXS, qkK, f16 + 3*qkK/8},                  // d, qs
		{quant.IQ3_S, qkK, f16 + qkK/4 + qkK/32 + qkK/8 + 4}, // d, qs, qh, signs, scales
		{quant.IQ1_S, qkK, f16 + qkK/8 + qkK/32*2},           // d, qs, qh (uint16)
		{quant.IQ1_M, qkK, qkK/8 + qkK/16 + qkK/32},          // qs, qh, scales
		{quant.IQ4_XS, qkK, f16 + 2 + qkK/64 + qkK/2},        // d, scales_h, scales_l, qs
		{quant.TQ1_0, qkK, (qkK-4*qkK/64)/5 + qkK/64 + f16},  // qs, qh, d
		{quant.TQ2_0, qkK, qkK/4 + f16},                      // qs, d
	}
	seen := map[quant.Type]bool{}
	for _, tc := range tests {
		seen[tc.typ] = true
		if !tc.typ.Known() {
			t.Errorf("%v: not Known", tc.typ)
			continue
		}
		if got := tc.typ.BlockSize(); got != tc.blockSize {
			t.Errorf("%v: BlockSize %d, want %d", tc.typ, got, tc.blockSize)
		}
		if got := tc.typ.TypeSize(); got != tc.typeSize {
			t.Errorf("%v: TypeSize %d, want %d", tc.typ, got, tc.typeSize)
		}
	}
	// Every known id is covered above, and unknown ids report nothing.
	for id := range quant.Type(64) {
		if id.Known() && !seen[id] {
			t.Errorf("%v (id %d) is Known but not checked here", id, uint32(id))
		}
		if !id.Known() && (id.Traits() != nil || id.BlockSize() != 0 || id.TypeSize() != 0) {
			t.Errorf("unknown id %d has traits", uint32(id))
		}
	}
}

func TestTraitsNamesParse(t *testing.T) {
	for id := range quant.Type(64) {
		if !id.Known() {
			if want := "type(" + strconv.Itoa(int(id)) + ")"; id.String() != want {
				t.Errorf("String of unknown id %d = %q, want %q", uint32(id), id.String(), want)
			}
			continue
		}
		tr := id.Traits()
		if tr.Name != id.String() {
			t.Errorf("id %d: Traits().Name %q, String %q", uint32(id), tr.Name, id.String())
		}
		for _, name := range []string{id.String(), strings.ToLower(id.String())} {
			got, err := quant.ParseType(name)
			if err != nil || got != id {
				t.Errorf("ParseType(%q) = %v, %v; want %v", name, got, err, id)
			}
		}
	}
	for _, bad := range []string{"", "q4", "Q4_0 ", "IQ9"} {
		if _, err := quant.ParseType(bad); err == nil {
			t.Errorf("ParseType(%q) succeeded", bad)
		}
	}
}

func TestRowSize(t *testing.T) {
	tests := []struct {
		typ     quant.Type
		n       int
		want    int
		wantErr string
	}{
		{quant.F32, 7, 28, ""},
		{quant.F16, 3, 6, ""},
		{quant.Q4_0, 0, 0, ""},
		{quant.Q4_0, 64, 36, ""},
		{quant.Q8_1, 4096, 4096 / 32 * 36, ""},
		{quant.IQ4_NL, 32, 18, ""},
		{quant.Q4_K, 256, 144, ""},
		{quant.Q4_0, 33, 0, "not a multiple"},
		{quant.Q6_K, 128, 0, "not a multiple"},
		{quant.Q4_0, -32, 0, "not a multiple"},
		{quant.Type(4), 32, 0, "unknown"}, // retired Q4_2
		{quant.Type(1000), 32, 0, "unknown"},
	}
	for _, tc := range tests {
		got, err := tc.typ.RowSize(tc.n)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v.RowSize(%d) = %d, %v; want error containing %q", tc.typ, tc.n, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%v.RowSize(%d) = %d, %v; want %d", tc.typ, tc.n, got, err, tc.want)
		}
	}
}

// TestDequantizeQuantizeErrors checks the size and support checks of the
// generic entry points; none of these may call the conversion function.
func TestDequantizeQuantizeErrors(t *testing.T) {
	tests := []struct {
		name    string
		typ     quant.Type
		n       int // elements
		bytes   int
		wantErr string
	}{
		{"ok", quant.Q4_0, 64, 36, ""},
		{"ok empty", quant.Q8_0, 0, 0, ""},
		{"partial block", quant.Q4_0, 48, 36, "not a multiple"},
		{"too few bytes", quant.Q4_0, 64, 35, "need 36 bytes, have 35"},
		{"too many bytes", quant.Q5_1, 32, 25, "need 24 bytes, have 25"},
		{"F16 short", quant.F16, 4, 7, "need 8 bytes"},
		{"unknown id", quant.Type(5), 32, 18, "unknown"},
		{"unsupported", quant.IQ2_XXS, 256, 66, "not supported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check := func(op string, err error) {
				t.Helper()
				switch {
				case tc.wantErr == "" && err != nil:
					t.Errorf("%s: %v", op, err)
				case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
					t.Errorf("%s: error %v, want one containing %q", op, err, tc.wantErr)
				}
			}
			check("Dequantize", quant.Dequantize(tc.typ, make([]float32, tc.n), make([]byte, tc.bytes)))
			check("Quantize", quant.Quantize(tc.typ, make([]byte, tc.bytes), make([]float32, tc.n)))
		})
	}
}
