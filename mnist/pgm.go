package mnist

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
)

// maxPGMPixels bounds the pixels a PGM header may announce (a 16k x 16k
// image): digit pictures are far smaller, and the bound keeps a lying header
// from allocating gigabytes.
const maxPGMPixels = 1 << 28

// maxPGMBytes bounds what DecodePGM reads from a stream.
const maxPGMBytes = 1 << 30

// DecodePGM decodes a portable graymap: plain (P2, ASCII numbers) or raw
// (P5, one byte per sample when maxval < 256, two big-endian bytes
// otherwise), maxval 1..65535, with # comments in the header. Samples are
// scaled to 16 bits.
func DecodePGM(r io.Reader) (*image.Gray16, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxPGMBytes))
	if err != nil {
		return nil, err
	}
	return ParsePGM(data)
}

// ParsePGM decodes a PGM image held in memory (see DecodePGM).
func ParsePGM(data []byte) (*image.Gray16, error) {
	p := &pnmScanner{data: data}
	if len(data) < 2 || data[0] != 'P' || (data[1] != '2' && data[1] != '5') {
		return nil, errors.New("pgm: not a PGM file (magic number P2 or P5)")
	}
	raw := data[1] == '5'
	p.pos = 2
	var v [3]int
	for i, name := range []string{"width", "height", "maxval"} {
		n, err := p.number()
		if err != nil {
			return nil, fmt.Errorf("pgm: header %s: %w", name, err)
		}
		v[i] = n
	}
	w, h, maxval := v[0], v[1], v[2]
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("pgm: empty image %dx%d", w, h)
	}
	if maxval <= 0 || maxval > 65535 {
		return nil, fmt.Errorf("pgm: maxval %d out of range 1..65535", maxval)
	}
	if w > maxPGMPixels || h > maxPGMPixels/w {
		return nil, fmt.Errorf("pgm: image %dx%d too large", w, h)
	}
	n := w * h
	if raw {
		// Exactly one whitespace byte separates the header from the samples.
		if p.pos >= len(data) || !isSpace(data[p.pos]) {
			return nil, errors.New("pgm: no whitespace after the header")
		}
		p.pos++
		bps := 1
		if maxval > 255 {
			bps = 2
		}
		if rest := len(data) - p.pos; rest < n*bps {
			return nil, fmt.Errorf("pgm: truncated: %dx%d image needs %d bytes of samples, file has %d", w, h, n*bps, rest)
		}
	} else if len(data)-p.pos < 2*n-1 {
		// Every plain sample takes at least a digit and a separator.
		return nil, fmt.Errorf("pgm: truncated: %dx%d image needs %d samples, file has %d bytes left", w, h, n, len(data)-p.pos)
	}
	img := image.NewGray16(image.Rect(0, 0, w, h))
	for i := range n {
		var s int
		if raw {
			if maxval > 255 {
				s = int(data[p.pos])<<8 | int(data[p.pos+1])
				p.pos += 2
			} else {
				s = int(data[p.pos])
				p.pos++
			}
		} else {
			var err error
			if s, err = p.number(); err != nil {
				return nil, fmt.Errorf("pgm: sample %d of %d: %w", i, n, err)
			}
		}
		if s > maxval {
			return nil, fmt.Errorf("pgm: sample %d is %d, above maxval %d", i, s, maxval)
		}
		img.Pix[2*i], img.Pix[2*i+1] = split16(uint16((s*65535 + maxval/2) / maxval))
	}
	return img, nil
}

func split16(v uint16) (byte, byte) { return byte(v >> 8), byte(v) }

// pnmScanner reads the whitespace-separated decimal numbers of a PNM header
// (and of plain-format samples), skipping # comments.
type pnmScanner struct {
	data []byte
	pos  int
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func (p *pnmScanner) number() (int, error) {
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if isSpace(c) {
			p.pos++
		} else if c == '#' {
			if i := bytes.IndexAny(p.data[p.pos:], "\r\n"); i >= 0 {
				p.pos += i
			} else {
				p.pos = len(p.data)
			}
		} else {
			break
		}
	}
	start, n := p.pos, 0
	for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
		if n > 1<<30 {
			return 0, errors.New("number too large")
		}
		n = n*10 + int(p.data[p.pos]-'0')
		p.pos++
	}
	if p.pos == start {
		if p.pos == len(p.data) {
			return 0, io.ErrUnexpectedEOF
		}
		return 0, fmt.Errorf("unexpected byte %q where a number should be", p.data[p.pos])
	}
	return n, nil
}
