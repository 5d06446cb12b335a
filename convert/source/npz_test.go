package source

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/infer-go/infer/convert/internal/testsrc"
)

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
		{"f8 2-D", testsrc.NPYF64("(2, 3)", 1, 2, 3, 4, 5, 6), []int{2, 3}, []float64{1, 2, 3, 4, 5, 6}, ""},
		{"column", testsrc.NPYF64("(3, 1)", 1, 2, 3), []int{3, 1}, []float64{1, 2, 3}, ""},
		{"scalar", testsrc.NPYF64("()", 7), []int{}, []float64{7}, ""},
		{"version 2", v2, []int{2}, []float64{1, -2}, ""},
		{"fortran order", testsrc.NPY("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", testsrc.F64Bytes(1, 4, 2, 5, 3, 6)), []int{2, 3}, []float64{1, 2, 3, 4, 5, 6}, ""},
		{"big-endian i2", testsrc.NPY("{'descr': '>i2', 'fortran_order': False, 'shape': (2,), }", []byte{0xff, 0xfe, 0, 5}), []int{2}, []float64{-2, 5}, ""},
		{"f2", testsrc.NPY("{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }", []byte{0x00, 0x3c}), []int{1}, []float64{1}, ""},
		{"u1", testsrc.NPY("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", []byte{0, 255}), []int{2}, []float64{0, 255}, ""},
		{"bad magic", []byte("\x93NUMPX\x01\x00\x00\x00"), nil, nil, "bad magic"},
		{"empty", nil, nil, nil, "truncated"},
		{"version", []byte("\x93NUMPY\x09\x00\x00\x00"), nil, nil, "version"},
		{"truncated data", testsrc.NPYF64("(2, 3)", 1, 2, 3, 4, 5), nil, nil, "truncated"},
		{"trailing data", testsrc.NPYF64("(2,)", 1, 2, 3), nil, nil, "trailing"},
		{"truncated header", testsrc.NPYF64("(2,)", 1, 2)[:20], nil, nil, "truncated"},
		{"structured dtype", testsrc.NPY("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }", testsrc.F64Bytes(1)), nil, nil, "structured"},
		{"object dtype", testsrc.NPY("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", testsrc.F64Bytes(1)), nil, nil, "dtype"},
		{"complex dtype", testsrc.NPY("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", make([]byte, 16)), nil, nil, "dtype"},
		{"missing shape", testsrc.NPY("{'descr': '<f8', 'fortran_order': False, }", testsrc.F64Bytes(1)), nil, nil, "want descr"},
		{"unknown key", testsrc.NPY("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}", testsrc.F64Bytes(1)), nil, nil, "unexpected key"},
		{"negative dim", testsrc.NPYF64("(-1,)", 1), nil, nil, "shape"},
		{"huge shape", testsrc.NPYF64("(2000000000, 2000000000)", 1), nil, nil, "more than"},
		{"not a dict", testsrc.NPY("hello", nil), nil, nil, "not a dict"},
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
	good := testsrc.NPYF64("(1,)", 1)
	for _, tt := range []struct {
		name string
		data []byte
		want string
	}{
		{"not a zip", []byte("definitely not a zip archive"), "not a zip"},
		{"truncated zip", testsrc.Zip(t, testsrc.ZipEntry{Name: "a.npy", Data: good})[:30], "not a zip"},
		{"member not npy", testsrc.Zip(t, testsrc.ZipEntry{Name: "a.npy", Data: good}, testsrc.ZipEntry{Name: "notes.txt", Data: []byte("hi")}), "notes.txt"},
		{"bad member", testsrc.Zip(t, testsrc.ZipEntry{Name: "a.npy", Data: good[:len(good)-2]}), `array "a"`},
		{"empty", testsrc.Zip(t), "no arrays"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadNPZFrom(bytes.NewReader(tt.data), int64(len(tt.data)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func FuzzParseNPY(f *testing.F) {
	f.Add(testsrc.NPYF64("(2, 3)", 1, 2, 3, 4, 5, 6))
	f.Add(testsrc.NPY("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", testsrc.F64Bytes(1, 4, 2, 5, 3, 6)))
	f.Add(testsrc.NPY("{'descr': '>i2', 'fortran_order': False, 'shape': (2,), }", []byte{0xff, 0xfe, 0, 5}))
	f.Add(testsrc.NPYF64("(2000000000, 2000000000)", 1))
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
	f.Add(testsrc.Zip(f, testsrc.ZipEntry{Name: "w0.npy", Data: testsrc.NPYF64("(2, 1)", 1, 2)}, testsrc.ZipEntry{Name: "b0.npy", Data: testsrc.NPYF64("(1,)", 3)}))
	f.Add(testsrc.Zip(f, testsrc.ZipEntry{Name: "a.npy", Data: testsrc.NPYF64("(1,)", 1)[:20]}))
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
