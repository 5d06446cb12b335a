package convert

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// npyBytes builds a .npy (version 1.0) with the given header dict.
func npyBytes(dict string, data []byte) []byte {
	h := dict
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	b := []byte("\x93NUMPY\x01\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(len(h)))
	return append(append(b, h...), data...)
}

func f64Bytes(v ...float64) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	}
	return b
}

func npyF64(shape string, v ...float64) []byte {
	return npyBytes(fmt.Sprintf("{'descr': '<f8', 'fortran_order': False, 'shape': %s, }", shape), f64Bytes(v...))
}

type zipEntry struct {
	name string
	data []byte
}

func zipBytes(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParseNPY(t *testing.T) {
	v2 := []byte("\x93NUMPY\x02\x00")
	h2 := "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n"
	v2 = binary.LittleEndian.AppendUint32(v2, uint32(len(h2)))
	v2 = append(append(v2, h2...), 0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0)
	tests := []struct {
		name  string
		in    []byte
		shape []int
		want  []float64
		err   string
	}{
		{"f8 2-D", npyF64("(2, 3)", 1, 2, 3, 4, 5, 6), []int{2, 3}, []float64{1, 2, 3, 4, 5, 6}, ""},
		{"column", npyF64("(3, 1)", 1, 2, 3), []int{3, 1}, []float64{1, 2, 3}, ""},
		{"scalar", npyF64("()", 7), []int{}, []float64{7}, ""},
		{"version 2", v2, []int{2}, []float64{1, -2}, ""},
		{"fortran order", npyBytes("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", f64Bytes(1, 4, 2, 5, 3, 6)), []int{2, 3}, []float64{1, 2, 3, 4, 5, 6}, ""},
		{"big-endian i2", npyBytes("{'descr': '>i2', 'fortran_order': False, 'shape': (2,), }", []byte{0xff, 0xfe, 0, 5}), []int{2}, []float64{-2, 5}, ""},
		{"f2", npyBytes("{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }", []byte{0x00, 0x3c}), []int{1}, []float64{1}, ""},
		{"u1", npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", []byte{0, 255}), []int{2}, []float64{0, 255}, ""},
		{"bad magic", []byte("\x93NUMPX\x01\x00\x00\x00"), nil, nil, "bad magic"},
		{"empty", nil, nil, nil, "truncated"},
		{"version", []byte("\x93NUMPY\x09\x00\x00\x00"), nil, nil, "version"},
		{"truncated data", npyF64("(2, 3)", 1, 2, 3, 4, 5), nil, nil, "truncated"},
		{"trailing data", npyF64("(2,)", 1, 2, 3), nil, nil, "trailing"},
		{"truncated header", npyF64("(2,)", 1, 2)[:20], nil, nil, "truncated"},
		{"structured dtype", npyBytes("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }", f64Bytes(1)), nil, nil, "structured"},
		{"object dtype", npyBytes("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", f64Bytes(1)), nil, nil, "dtype"},
		{"complex dtype", npyBytes("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", make([]byte, 16)), nil, nil, "dtype"},
		{"missing shape", npyBytes("{'descr': '<f8', 'fortran_order': False, }", f64Bytes(1)), nil, nil, "want descr"},
		{"unknown key", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}", f64Bytes(1)), nil, nil, "unexpected key"},
		{"negative dim", npyF64("(-1,)", 1), nil, nil, "shape"},
		{"huge shape", npyF64("(2000000000, 2000000000)", 1), nil, nil, "more than"},
		{"not a dict", npyBytes("hello", nil), nil, nil, "not a dict"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseNPY(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one mentioning %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(a.Shape) != fmt.Sprint(tt.shape) {
				t.Fatalf("shape %v, want %v", a.Shape, tt.shape)
			}
			got, err := a.Float64s()
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("values %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReadNPZErrors(t *testing.T) {
	good := npyF64("(1,)", 1)
	for _, tt := range []struct {
		name string
		data []byte
		want string
	}{
		{"not a zip", []byte("definitely not a zip archive"), "not a zip"},
		{"truncated zip", zipBytes(t, zipEntry{"a.npy", good})[:30], "not a zip"},
		{"member not npy", zipBytes(t, zipEntry{"a.npy", good}, zipEntry{"notes.txt", []byte("hi")}), "notes.txt"},
		{"bad member", zipBytes(t, zipEntry{"a.npy", good[:len(good)-2]}), `array "a"`},
		{"empty", zipBytes(t), "no arrays"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadNPZFrom(bytes.NewReader(tt.data), int64(len(tt.data)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// nielsenNPZ writes a small network in Nielsen's layout, with edits.
func nielsenNPZ(t *testing.T, entries ...zipEntry) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "net.npz")
	if err := os.WriteFile(p, zipBytes(t, entries...), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMLPFromNPZ(t *testing.T) {
	w0 := zipEntry{"w0.npy", npyF64("(2, 3)", 1, 2, 3, 4, 5, 6)}
	b0 := zipEntry{"b0.npy", npyF64("(2, 1)", 0.5, -0.5)}
	w1 := zipEntry{"w1.npy", npyF64("(1, 2)", 1, -1)}
	b1 := zipEntry{"b1.npy", npyF64("(1,)", 0)}
	m, err := MLPFromNPZ(nielsenNPZ(t, w0, b0, w1, b1), MLPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(m.Sizes) != "[3 2 1]" || fmt.Sprint(m.Activations) != "[sigmoid sigmoid]" || m.InputHeight != 1 || m.InputWidth != 3 {
		t.Fatalf("sizes %v, activations %v, input %dx%d", m.Sizes, m.Activations, m.InputHeight, m.InputWidth)
	}
	if fmt.Sprint(m.Weights[0]) != "[1 2 3 4 5 6]" || fmt.Sprint(m.Biases[0]) != "[0.5 -0.5]" {
		t.Fatalf("layer 0: %v %v", m.Weights[0], m.Biases[0])
	}
	m, err = MLPFromNPZ(nielsenNPZ(t, w0, b0, w1, b1), MLPOptions{Hidden: []string{"relu"}, Softmax: true})
	if err != nil || fmt.Sprint(m.Activations) != "[relu softmax]" {
		t.Fatalf("--activation relu --softmax: %v %v", m, err)
	}
	for _, tt := range []struct {
		name    string
		entries []zipEntry
		opts    MLPOptions
		want    string
	}{
		{"missing bias", []zipEntry{w0, b0, w1}, MLPOptions{}, "no bias b1"},
		{"no w0", []zipEntry{b0}, MLPOptions{}, "no array w0"},
		{"chain mismatch", []zipEntry{w0, b0, {"w1.npy", npyF64("(1, 3)", 1, 2, 3)}, b1}, MLPOptions{}, "layer 0 has 2 outputs"},
		{"bias shape", []zipEntry{w0, {"b0.npy", npyF64("(3, 1)", 1, 2, 3)}, w1, b1}, MLPOptions{}, "b0 has shape [3 1]"},
		{"weight not 2-D", []zipEntry{{"w0.npy", npyF64("(6,)", 1, 2, 3, 4, 5, 6)}, b0}, MLPOptions{}, "w0 has shape [6]"},
		{"stray array", []zipEntry{w0, b0, w1, b1, {"w3.npy", npyF64("(1,)", 1)}}, MLPOptions{}, `"w3"`},
		{"softmax hidden", []zipEntry{w0, b0, w1, b1}, MLPOptions{Hidden: []string{"softmax"}}, "output layer"},
		{"bad activation", []zipEntry{w0, b0, w1, b1}, MLPOptions{Hidden: []string{"gelu"}}, "gelu"},
		{"too many activations", []zipEntry{w0, b0, w1, b1}, MLPOptions{Hidden: []string{"relu", "relu"}}, "2 hidden activations for 1"},
		{"input shape", []zipEntry{w0, b0, w1, b1}, MLPOptions{InputHeight: 2, InputWidth: 2}, "input shape 2x2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := MLPFromNPZ(nielsenNPZ(t, tt.entries...), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func FuzzParseNPY(f *testing.F) {
	f.Add(npyF64("(2, 3)", 1, 2, 3, 4, 5, 6))
	f.Add(npyBytes("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", f64Bytes(1, 4, 2, 5, 3, 6)))
	f.Add(npyBytes("{'descr': '>i2', 'fortran_order': False, 'shape': (2,), }", []byte{0xff, 0xfe, 0, 5}))
	f.Add(npyF64("(2000000000, 2000000000)", 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseNPY(b)
		if err != nil {
			return
		}
		v, err := a.Float64s()
		if err != nil {
			t.Fatalf("parsed array of dtype %q does not convert: %v", a.DType, err)
		}
		if len(v) != a.NumElements() {
			t.Fatalf("shape %v but %d values", a.Shape, len(v))
		}
	})
}

func FuzzReadNPZ(f *testing.F) {
	f.Add(zipBytes(f, zipEntry{"w0.npy", npyF64("(2, 1)", 1, 2)}, zipEntry{"b0.npy", npyF64("(1,)", 3)}))
	f.Add(zipBytes(f, zipEntry{"a.npy", npyF64("(1,)", 1)[:20]}))
	f.Fuzz(func(t *testing.T, b []byte) {
		z, err := ReadNPZFrom(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		for _, n := range z.Names {
			if _, err := z.Arrays[n].Float32s(); err != nil {
				t.Fatalf("array %q: %v", n, err)
			}
		}
	})
}
