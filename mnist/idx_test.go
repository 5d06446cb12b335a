package mnist

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// idxBytes builds an IDX file: magic 0x0000TTNN, big-endian dims, data.
func idxBytes(typ byte, dims []uint32, data []byte) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, data...)
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestReadIDX(t *testing.T) {
	images := idxBytes(IDXUint8, []uint32{2, 2, 3}, []byte{0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255})
	floats := idxBytes(IDXFloat32, []uint32{2}, []byte{0x3f, 0x80, 0, 0, 0xc0, 0, 0, 0})
	tests := []struct {
		name string
		in   []byte
		dims []int
		want string // error substring; "" for success
	}{
		{"images", images, []int{2, 2, 3}, ""},
		{"gzipped", gzipBytes(images), []int{2, 2, 3}, ""},
		{"float32", floats, []int{2}, ""},
		{"empty", nil, nil, "magic"},
		{"wrong magic", append([]byte{0x1f, 0x00}, images[2:]...), nil, "bad magic"},
		{"unknown type", idxBytes(0x07, []uint32{1}, []byte{1}), nil, "unknown element type"},
		{"no dims", []byte{0, 0, 8, 0}, nil, "zero dimensions"},
		{"truncated header", images[:9], nil, "truncated"},
		{"truncated data", images[:len(images)-1], nil, "truncated"},
		{"truncated gzip data", gzipBytes(images[:len(images)-3]), nil, "truncated"},
		{"trailing data", append(append([]byte{}, images...), 7), nil, "trailing"},
		// A header claiming 4 billion images must fail on the 12 bytes
		// present without allocating for the claim.
		{"lying header", idxBytes(IDXUint8, []uint32{0xffffffff, 28, 28}, make([]byte, 12)), nil, "more than"},
		{"lying header within cap", idxBytes(IDXUint8, []uint32{2000000, 28, 28}, make([]byte, 12)), nil, "truncated"},
		{"bad gzip", []byte{0x1f, 0x8b, 1, 2, 3}, nil, "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := ReadIDX(bytes.NewReader(tt.in))
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %v, want one mentioning %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !equalInts(x.Dims, tt.dims) {
				t.Fatalf("dims %v, want %v", x.Dims, tt.dims)
			}
			// ParseIDX agrees on uncompressed input.
			if tt.in[0] == 0 {
				y, err := ParseIDX(tt.in)
				if err != nil || !bytes.Equal(x.Data, y.Data) {
					t.Fatalf("ParseIDX: %v", err)
				}
			}
		})
	}
	x, _ := ReadIDX(bytes.NewReader(floats))
	if got := x.Float64s(); len(got) != 2 || got[0] != 1 || got[1] != -2 {
		t.Errorf("float32 elements %v, want [1 -2]", got)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestIDXTruncatedIsUnexpectedEOF(t *testing.T) {
	_, err := ReadIDX(bytes.NewReader([]byte{0, 0, 8}))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("3-byte file: %v, want io.ErrUnexpectedEOF", err)
	}
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	px := make([]byte, 3*4*4)
	images := writeFile(t, dir, "images.gz", gzipBytes(idxBytes(IDXUint8, []uint32{3, 4, 4}, px)))
	labels := writeFile(t, dir, "labels", idxBytes(IDXUint8, []uint32{3}, []byte{1, 2, 9}))
	twoLabels := writeFile(t, dir, "two-labels", idxBytes(IDXUint8, []uint32{2}, []byte{1, 2}))
	badLabel := writeFile(t, dir, "bad-label", idxBytes(IDXUint8, []uint32{3}, []byte{1, 12, 3}))
	truncated := writeFile(t, dir, "truncated", idxBytes(IDXUint8, []uint32{3, 4, 4}, px[:40]))
	notIDX := writeFile(t, dir, "readme.txt", []byte("hello, this is not an IDX file"))

	ds, err := Load(images, labels)
	if err != nil {
		t.Fatal(err)
	}
	if ds.N != 3 || ds.Rows != 4 || ds.Cols != 4 || len(ds.Labels) != 3 || len(ds.Image(2)) != 16 {
		t.Fatalf("dataset %d images of %dx%d, %d labels", ds.N, ds.Rows, ds.Cols, len(ds.Labels))
	}
	for _, tt := range []struct {
		name           string
		images, labels string
		want           string
	}{
		{"count mismatch", images, twoLabels, "holds 3 images but"},
		{"labels as images", labels, labels, "not MNIST images"},
		{"images as labels", images, images, "not MNIST labels"},
		{"label out of range", images, badLabel, "label 12 of example 1"},
		{"truncated images", truncated, labels, "truncated"},
		{"not an IDX file", notIDX, labels, "bad magic"},
		{"missing file", filepath.Join(dir, "nope"), labels, "nope"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.images, tt.labels)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// TestLoadMNIST reads the real data set.
func TestLoadMNIST(t *testing.T) {
	train, test := loadMNIST(t)
	if train.N != 60000 || test.N != 10000 || train.Rows != 28 || train.Cols != 28 {
		t.Fatalf("train %d, test %d images of %dx%d", train.N, test.N, train.Rows, train.Cols)
	}
	// The first test digits are 7, 2, 1, 0, 4.
	if got := test.Labels[:5]; !bytes.Equal(got, []byte{7, 2, 1, 0, 4}) {
		t.Errorf("first test labels %v", got)
	}
	var counts [10]int
	for _, l := range train.Labels {
		counts[l]++
	}
	if counts[1] != 6742 || counts[5] != 5421 {
		t.Errorf("training label counts %v", counts)
	}
}

func TestTestFiles(t *testing.T) {
	im, lb := TestFiles("/d/train-images-idx3-ubyte.gz")
	if im != "/d/t10k-images-idx3-ubyte.gz" || lb != "/d/t10k-labels-idx1-ubyte.gz" {
		t.Errorf("TestFiles: %s %s", im, lb)
	}
	im, _ = TestFiles("train-images-idx3-ubyte")
	if im != "t10k-images-idx3-ubyte" {
		t.Errorf("TestFiles without .gz: %s", im)
	}
}

func FuzzReadIDX(f *testing.F) {
	f.Add(idxBytes(IDXUint8, []uint32{2, 2, 3}, make([]byte, 12)))
	f.Add(idxBytes(IDXUint8, []uint32{3}, []byte{1, 2, 3}))
	f.Add(idxBytes(IDXFloat64, []uint32{1, 1}, make([]byte, 8)))
	f.Add(gzipBytes(idxBytes(IDXInt16, []uint32{2}, []byte{1, 2, 3, 4})))
	f.Add(idxBytes(IDXUint8, []uint32{0xffffffff, 0xffffffff}, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := ReadIDX(bytes.NewReader(b))
		if err != nil {
			return
		}
		n := idxElemSize(x.Type)
		for _, d := range x.Dims {
			n *= d
		}
		if n != len(x.Data) {
			t.Fatalf("dims %v of type %#x but %d bytes of data", x.Dims, x.Type, len(x.Data))
		}
		x.Float64s()
		if im, err := ImagesFromIDX(x); err == nil && len(im.Pixels) != im.N*im.Rows*im.Cols {
			t.Fatalf("images %dx%dx%d with %d pixels", im.N, im.Rows, im.Cols, len(im.Pixels))
		}
		LabelsFromIDX(x)
	})
}
