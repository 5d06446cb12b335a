package mnist

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // digit pictures may come in any common format
	_ "image/jpeg"
	_ "image/png"
	"io"
	"math"
	"os"
	"sort"
	"strings"
)

// MNIST's geometry: NIST's binary digits were scaled, keeping their aspect
// ratio, to fit a 20x20 box (anti-aliased, hence the grey levels), then
// placed in a 28x28 field so that their centre of mass is at its centre.
const (
	Side    = 28
	boxSide = 20
)

// maxPicturePixels bounds the size a picture's header may announce (64
// megapixels): decoders allocate the whole image up front, so a tiny file
// claiming a huge one must be refused before decoding.
const maxPicturePixels = 1 << 26

// DecodeImage decodes a picture: PNG, JPEG, GIF, or PGM (P2 or P5).
func DecodeImage(r io.Reader) (image.Image, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxPGMBytes))
	if err != nil {
		return nil, err
	}
	if len(data) >= 2 && data[0] == 'P' && (data[1] == '2' || data[1] == '5') {
		return ParsePGM(data)
	}
	notImage := func(err error) error {
		if errors.Is(err, image.ErrFormat) {
			return errors.New("not an image: PNG, JPEG, GIF or PGM (P2, P5) expected")
		}
		return fmt.Errorf("damaged image: %w", err)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, notImage(err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxPicturePixels/cfg.Height {
		return nil, fmt.Errorf("picture of %dx%d pixels: too large (at most %d pixels)", cfg.Width, cfg.Height, maxPicturePixels)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, notImage(err)
	}
	return img, nil
}

// ReadImageFile decodes the picture in a file.
func ReadImageFile(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := DecodeImage(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// Digit is a picture turned into an MNIST-style input.
type Digit struct {
	Pixels   [Side * Side]byte // 0 background .. 255 ink, row-major
	Inverted bool              // the picture was dark ink on a light background
	Box      image.Rectangle   // the ink's bounding box in the picture
}

// inkThreshold is the ink level (0..1, after removing the background level)
// a pixel needs to count towards the bounding box, so faint noise and JPEG
// ringing do not stretch it.
const inkThreshold = 0.15

// ToMNIST turns a picture of one digit, of any size, into a 28x28 MNIST
// input the way MNIST was made: grey levels, ink bright on a dark background
// (a picture whose border is mostly light is inverted), the background level
// removed and the contrast stretched, the ink's bounding box scaled into
// 20x20 keeping its aspect ratio (area-averaged, which anti-aliases), and
// that placed in 28x28 with its centre of mass at the centre.
// Transparent pixels count as white paper.
func ToMNIST(img image.Image) (*Digit, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w == 0 || h == 0 {
		return nil, errors.New("empty image")
	}
	grey := make([]float64, w*h)
	for y := range h {
		for x := range w {
			r, g, bl, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			// Premultiplied colour over white paper.
			paper := float64(0xffff - a)
			lum := 0.299*(float64(r)+paper) + 0.587*(float64(g)+paper) + 0.114*(float64(bl)+paper)
			grey[y*w+x] = lum / 0xffff
		}
	}
	border := borderValues(grey, w, h)
	d := &Digit{}
	if mean(border) > 0.5 {
		d.Inverted = true
		for i, v := range grey {
			grey[i] = 1 - v
		}
		for i, v := range border {
			border[i] = 1 - v
		}
	}
	// Background: the border's median level; full ink: the brightest pixel.
	sort.Float64s(border)
	bg := border[len(border)/2]
	top := 0.0
	for _, v := range grey {
		top = max(top, v)
	}
	if top-bg < 0.1 {
		return nil, errors.New("no digit found: the picture has no contrast")
	}
	for i, v := range grey {
		grey[i] = min(1, max(0, (v-bg)/(top-bg)))
	}
	x0, y0, x1, y1 := w, h, -1, -1
	for y := range h {
		for x := range w {
			if grey[y*w+x] > inkThreshold {
				x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
			}
		}
	}
	if x1 < 0 {
		return nil, errors.New("no digit found: no ink in the picture")
	}
	d.Box = image.Rect(b.Min.X+x0, b.Min.Y+y0, b.Min.X+x1+1, b.Min.Y+y1+1)
	bw, bh := x1-x0+1, y1-y0+1
	scale := float64(boxSide) / float64(max(bw, bh))
	ow := max(1, min(boxSide, int(math.Round(float64(bw)*scale))))
	oh := max(1, min(boxSide, int(math.Round(float64(bh)*scale))))

	// Area-average the box into ow x oh: rows first, then columns.
	rows := make([]float64, ow*bh)
	col := make([]float64, 0, max(bw, bh))
	tmp := make([]float64, max(ow, oh))
	for y := range bh {
		resampleArea(rows[y*ow:(y+1)*ow], grey[(y0+y)*w+x0:(y0+y)*w+x0+bw])
	}
	small := make([]float64, ow*oh)
	for x := range ow {
		col = col[:0]
		for y := range bh {
			col = append(col, rows[y*ow+x])
		}
		resampleArea(tmp[:oh], col)
		for y := range oh {
			small[y*ow+x] = tmp[y]
		}
	}

	// Centre of mass (pixel centres at i+0.5) moved to the field's centre.
	var mx, my, m float64
	for y := range oh {
		for x := range ow {
			v := small[y*ow+x]
			mx += v * (float64(x) + 0.5)
			my += v * (float64(y) + 0.5)
			m += v
		}
	}
	if m == 0 {
		return nil, errors.New("no digit found: no ink in the picture")
	}
	dx := int(math.Round(Side/2 - mx/m))
	dy := int(math.Round(Side/2 - my/m))
	for y := range oh {
		for x := range ow {
			tx, ty := x+dx, y+dy
			if tx < 0 || ty < 0 || tx >= Side || ty >= Side {
				continue
			}
			d.Pixels[ty*Side+tx] = uint8(math.Round(255 * small[y*ow+x]))
		}
	}
	return d, nil
}

// resampleArea resizes src into dst by area averaging: dst[i] is the mean of
// src over the interval [i, i+1) * len(src)/len(dst), fractional pixels
// weighted by how much of them the interval covers.
func resampleArea(dst, src []float64) {
	n, m := float64(len(src)), float64(len(dst))
	step := n / m
	for i := range dst {
		lo, hi := float64(i)*step, float64(i+1)*step
		var s float64
		for k := int(lo); k < len(src) && float64(k) < hi; k++ {
			overlap := min(hi, float64(k+1)) - max(lo, float64(k))
			if overlap > 0 {
				s += overlap * src[k]
			}
		}
		dst[i] = s / step
	}
}

func borderValues(v []float64, w, h int) []float64 {
	var out []float64
	for x := range w {
		out = append(out, v[x])
		if h > 1 {
			out = append(out, v[(h-1)*w+x])
		}
	}
	for y := 1; y < h-1; y++ {
		out = append(out, v[y*w])
		if w > 1 {
			out = append(out, v[y*w+w-1])
		}
	}
	return out
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// asciiRamp runs from background to full ink.
const asciiRamp = " .:-=+*#%@"

// ASCII draws a grey image (0 background .. 255 ink) as text, two characters
// per pixel so that the drawing keeps roughly the image's proportions.
func ASCII(px []byte, rows, cols int) string {
	var sb strings.Builder
	sb.WriteString("+" + strings.Repeat("-", 2*cols) + "+\n")
	for y := range rows {
		sb.WriteByte('|')
		for x := range cols {
			c := asciiRamp[int(px[y*cols+x])*len(asciiRamp)/256]
			sb.WriteByte(c)
			sb.WriteByte(c)
		}
		sb.WriteString("|\n")
	}
	sb.WriteString("+" + strings.Repeat("-", 2*cols) + "+\n")
	return sb.String()
}
