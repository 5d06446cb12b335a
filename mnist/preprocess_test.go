package mnist

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"
	"testing"
)

func TestParsePGM(t *testing.T) {
	tests := []struct {
		name string
		in   string
		w, h int
		pix  []uint16 // expected 16-bit samples
		want string   // error substring
	}{
		{"plain", "P2\n# a comment\n3 2\n255\n0 128 255\n255 0 1\n", 3, 2, []uint16{0, 32896, 65535, 65535, 0, 257}, ""},
		{"plain maxval 15", "P2 2 1 15 15 0", 2, 1, []uint16{65535, 0}, ""},
		{"raw", "P5\n2 2\n255\n\x00\x80\xff\x01", 2, 2, []uint16{0, 32896, 65535, 257}, ""},
		{"raw 16-bit", "P5 2 1 65535 \x12\x34\xff\xff", 2, 1, []uint16{0x1234, 0xffff}, ""},
		{"comment after magic", "P5#c\n1 1 255\n\x07", 1, 1, []uint16{7 * 257}, ""},
		{"not pgm", "P6\n1 1 255\n\x00\x00\x00", 0, 0, nil, "not a PGM"},
		{"empty", "", 0, 0, nil, "not a PGM"},
		{"zero width", "P2 0 1 255\n", 0, 0, nil, "empty image"},
		{"maxval 0", "P2 1 1 0 0", 0, 0, nil, "maxval"},
		{"maxval too big", "P2 1 1 70000 0", 0, 0, nil, "maxval"},
		{"sample above maxval", "P2 1 1 10 11", 0, 0, nil, "above maxval"},
		{"truncated raw", "P5 3 3 255\n\x00\x00", 0, 0, nil, "truncated"},
		{"truncated plain", "P2 3 3 255\n1 2 3", 0, 0, nil, "truncated"},
		{"missing header", "P5 3", 0, 0, nil, "height"},
		{"junk in header", "P2 3 x 255", 0, 0, nil, "height"},
		{"huge claim", "P5 100000 100000 255\n\x00", 0, 0, nil, "too large"},
		{"huge number", "P5 99999999999999999999 1 255\n", 0, 0, nil, "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := ParsePGM([]byte(tt.in))
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %v, want one mentioning %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != tt.w || b.Dy() != tt.h {
				t.Fatalf("size %v, want %dx%d", b, tt.w, tt.h)
			}
			for i, want := range tt.pix {
				if got := img.Gray16At(i%tt.w, i/tt.w).Y; got != want {
					t.Errorf("sample %d: %d, want %d", i, got, want)
				}
			}
		})
	}
}

func FuzzParsePGM(f *testing.F) {
	f.Add([]byte("P2\n# c\n3 2\n255\n0 128 255\n255 0 1\n"))
	f.Add([]byte("P5\n2 2\n255\n\x00\x80\xff\x01"))
	f.Add([]byte("P5 2 1 65535 \x12\x34\xff\xff"))
	f.Add([]byte("P5 100000 100000 255\n\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := ParsePGM(b)
		if err != nil {
			return
		}
		if n := img.Bounds().Dx() * img.Bounds().Dy(); n > len(b) {
			t.Fatalf("%d pixels from %d bytes", n, len(b))
		}
		// Any decodable picture goes through the preprocessing without panicking.
		ToMNIST(img)
	})
}

// drawDigit paints a filled rectangle "stroke" (ink 255) into a w x h
// grey picture, dark on light when darkOnLight is set.
func drawDigit(w, h int, r image.Rectangle, darkOnLight bool) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	bg, ink := uint8(0), uint8(255)
	if darkOnLight {
		bg, ink = 255, 0
	}
	for y := range h {
		for x := range w {
			v := bg
			if image.Pt(x, y).In(r) {
				v = ink
			}
			img.SetGray(x, y, color.Gray{v})
		}
	}
	return img
}

// inkStats returns the bounding box and centre of mass of a 28x28 digit.
func inkStats(px []byte) (box image.Rectangle, cx, cy float64) {
	x0, y0, x1, y1 := Side, Side, -1, -1
	var m float64
	for y := range Side {
		for x := range Side {
			v := float64(px[y*Side+x])
			if v > 0 {
				x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
				cx += v * (float64(x) + 0.5)
				cy += v * (float64(y) + 0.5)
				m += v
			}
		}
	}
	return image.Rect(x0, y0, x1+1, y1+1), cx / m, cy / m
}

func TestToMNISTGeometry(t *testing.T) {
	tests := []struct {
		name        string
		w, h        int
		stroke      image.Rectangle
		darkOnLight bool
		boxW, boxH  int // expected ink box in the 28x28 result
	}{
		{"tall bar, light on dark", 100, 100, image.Rect(40, 10, 60, 90), false, 5, 20},
		{"tall bar, dark on light", 100, 100, image.Rect(40, 10, 60, 90), true, 5, 20},
		{"wide bar off-centre", 300, 120, image.Rect(5, 5, 205, 55), true, 20, 5},
		{"tiny picture scaled up", 10, 10, image.Rect(2, 2, 6, 8), false, 13, 20},
		{"square", 64, 48, image.Rect(10, 10, 30, 30), false, 20, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ToMNIST(drawDigit(tt.w, tt.h, tt.stroke, tt.darkOnLight))
			if err != nil {
				t.Fatal(err)
			}
			if d.Inverted != tt.darkOnLight {
				t.Errorf("inverted %v, want %v", d.Inverted, tt.darkOnLight)
			}
			if d.Box != tt.stroke {
				t.Errorf("ink box %v, want %v", d.Box, tt.stroke)
			}
			box, cx, cy := inkStats(d.Pixels[:])
			if box.Dx() != tt.boxW || box.Dy() != tt.boxH {
				t.Errorf("ink box in 28x28 %v (%dx%d), want %dx%d", box, box.Dx(), box.Dy(), tt.boxW, tt.boxH)
			}
			if math.Abs(cx-14) > 0.5 || math.Abs(cy-14) > 0.5 {
				t.Errorf("centre of mass (%.2f, %.2f), want (14, 14)", cx, cy)
			}
			if t.Failed() {
				t.Log("\n" + ASCII(d.Pixels[:], Side, Side))
			}
		})
	}
}

// TestToMNISTCentreOfMass: an L shape's centre of mass is not its box's
// centre; MNIST centres the mass.
func TestToMNISTCentreOfMass(t *testing.T) {
	img := drawDigit(40, 40, image.Rect(5, 5, 10, 35), false)
	for y := 30; y < 35; y++ {
		for x := 5; x < 35; x++ {
			img.SetGray(x, y, color.Gray{255})
		}
	}
	d, err := ToMNIST(img)
	if err != nil {
		t.Fatal(err)
	}
	box, cx, cy := inkStats(d.Pixels[:])
	if math.Abs(cx-14) > 0.5 || math.Abs(cy-14) > 0.5 {
		t.Errorf("centre of mass (%.2f, %.2f), want (14, 14)", cx, cy)
	}
	if box.Min.X+box.Max.X == 28 && box.Min.Y+box.Max.Y == 28 {
		t.Errorf("ink box %v is centred: the mass should be, not the box", box)
	}
}

func TestToMNISTErrors(t *testing.T) {
	blank := image.NewGray(image.Rect(0, 0, 20, 20))
	if _, err := ToMNIST(blank); err == nil || !strings.Contains(err.Error(), "no digit") {
		t.Errorf("blank picture: %v", err)
	}
	if _, err := ToMNIST(image.NewGray(image.Rect(0, 0, 0, 0))); err == nil {
		t.Error("empty picture: no error")
	}
}

func TestDecodeImage(t *testing.T) {
	var buf bytes.Buffer
	png.Encode(&buf, drawDigit(30, 30, image.Rect(10, 5, 20, 25), true))
	img, err := DecodeImage(&buf)
	if err != nil || img.Bounds().Dx() != 30 {
		t.Fatalf("PNG: %v", err)
	}
	img, err = DecodeImage(strings.NewReader("P2 2 2 1 0 1 1 0"))
	if err != nil || img.Bounds().Dx() != 2 {
		t.Fatalf("PGM: %v", err)
	}
	// A PNG header claiming 100000 x 100000 pixels is refused before decoding.
	var huge bytes.Buffer
	png.Encode(&huge, image.NewGray(image.Rect(0, 0, 1, 1)))
	b := huge.Bytes()
	binary.BigEndian.PutUint32(b[16:], 100000)
	binary.BigEndian.PutUint32(b[20:], 100000)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	if _, err := DecodeImage(bytes.NewReader(b)); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("PNG claiming 100000x100000: %v", err)
	}
	for _, junk := range []string{"", "hello, I am not an image", "\x89PNG\r\n\x1a\ntruncated"} {
		if _, err := DecodeImage(strings.NewReader(junk)); err == nil {
			t.Errorf("%q: no error", junk)
		} else if junk != "" && !strings.Contains(err.Error(), "image") {
			t.Errorf("%q: unclear error %v", junk, err)
		}
	}
}

func TestASCII(t *testing.T) {
	s := ASCII([]byte{0, 255, 128, 30}, 2, 2)
	want := "+----+\n|  @@|\n|++..|\n+----+\n"
	if s != want {
		t.Errorf("ASCII:\n%s\nwant\n%s", s, want)
	}
}
