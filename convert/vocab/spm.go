package vocab

// SentencePiece's tokenizer.model, read without a protobuf library: the
// file is a serialized ModelProto (sentencepiece_model.proto), of which the
// converter needs the pieces (field 1: piece, score, type) and the
// normalizer's add_dummy_prefix (field 3, field 3). Protobuf's wire format
// is a sequence of (field number, wire type) keys followed by a varint, a
// fixed 32- or 64-bit value or a length-prefixed byte string; unknown
// fields are skipped.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"unicode/utf8"
)

// SentencePiece piece types (ModelProto.SentencePiece.Type).
const (
	spmNormal      = 1
	spmUnknown     = 2
	spmControl     = 3
	spmUserDefined = 4
	spmUnused      = 5
	spmByte        = 6
)

// maxSPMModel bounds tokenizer.model; real ones are well under 10 MB.
const maxSPMModel = 256 << 20

// SentencePiece is one piece of a SentencePiece model.
type SentencePiece struct {
	Piece string
	Score float32
	Type  int // spmNormal ... spmByte
}

// SentencePieceModel is what infer reads of a tokenizer.model.
type SentencePieceModel struct {
	Pieces []SentencePiece
	// AddDummyPrefix is the normalizer's add_dummy_prefix (default true):
	// whether a space is put before the text.
	AddDummyPrefix bool
	// ModelType is the trainer's model_type: 1 unigram, 2 BPE, 3 word,
	// 4 char (0 when the file does not say).
	ModelType int
}

// protoReader walks protobuf wire format.
type protoReader struct {
	b   []byte
	off int
}

func (r *protoReader) done() bool { return r.off >= len(r.b) }

func (r *protoReader) varint() (uint64, error) {
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		return 0, fmt.Errorf("bad varint at byte %d", r.off)
	}
	r.off += n
	return v, nil
}

// next reads a field key.
func (r *protoReader) next() (field int, wire int, err error) {
	k, err := r.varint()
	if err != nil {
		return 0, 0, err
	}
	field, wire = int(k>>3), int(k&7)
	if field == 0 || k>>3 > math.MaxInt32 {
		return 0, 0, fmt.Errorf("bad field number %d at byte %d", k>>3, r.off)
	}
	return field, wire, nil
}

// bytes reads a length-delimited value.
func (r *protoReader) bytes() ([]byte, error) {
	n, err := r.varint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(r.b)-r.off) {
		return nil, fmt.Errorf("field of %d bytes at byte %d runs past the end", n, r.off)
	}
	b := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return b, nil
}

func (r *protoReader) fixed32() (uint32, error) {
	if len(r.b)-r.off < 4 {
		return 0, fmt.Errorf("truncated fixed32 at byte %d", r.off)
	}
	v := binary.LittleEndian.Uint32(r.b[r.off:])
	r.off += 4
	return v, nil
}

// skip passes over a value of the given wire type.
func (r *protoReader) skip(wire int) error {
	switch wire {
	case 0:
		_, err := r.varint()
		return err
	case 1:
		if len(r.b)-r.off < 8 {
			return fmt.Errorf("truncated fixed64 at byte %d", r.off)
		}
		r.off += 8
		return nil
	case 2:
		_, err := r.bytes()
		return err
	case 5:
		_, err := r.fixed32()
		return err
	}
	return fmt.Errorf("unsupported wire type %d at byte %d", wire, r.off)
}

// ParseSentencePieceModel parses a serialized ModelProto.
func ParseSentencePieceModel(data []byte) (*SentencePieceModel, error) {
	m := &SentencePieceModel{AddDummyPrefix: true}
	r := &protoReader{b: data}
	for !r.done() {
		field, wire, err := r.next()
		if err != nil {
			return nil, fmt.Errorf("sentencepiece model: %w", err)
		}
		switch {
		case field == 1 && wire == 2:
			b, err := r.bytes()
			if err != nil {
				return nil, fmt.Errorf("sentencepiece model: piece %d: %w", len(m.Pieces), err)
			}
			p, err := parseSentencePiece(b)
			if err != nil {
				return nil, fmt.Errorf("sentencepiece model: piece %d: %w", len(m.Pieces), err)
			}
			m.Pieces = append(m.Pieces, p)
		case field == 2 && wire == 2:
			b, err := r.bytes()
			if err != nil {
				return nil, fmt.Errorf("sentencepiece model: trainer_spec: %w", err)
			}
			if m.ModelType, err = protoVarintField(b, 3); err != nil {
				return nil, fmt.Errorf("sentencepiece model: trainer_spec: %w", err)
			}
		case field == 3 && wire == 2:
			b, err := r.bytes()
			if err != nil {
				return nil, fmt.Errorf("sentencepiece model: normalizer_spec: %w", err)
			}
			v, err := protoVarintField(b, 3)
			if err != nil {
				return nil, fmt.Errorf("sentencepiece model: normalizer_spec: %w", err)
			}
			if v >= 0 {
				m.AddDummyPrefix = v != 0
			}
		default:
			if err := r.skip(wire); err != nil {
				return nil, fmt.Errorf("sentencepiece model: field %d: %w", field, err)
			}
		}
	}
	if len(m.Pieces) == 0 {
		return nil, errors.New("sentencepiece model: no pieces")
	}
	return m, nil
}

// protoVarintField returns the last value of varint field n in message b,
// or -1 if it is absent.
func protoVarintField(b []byte, n int) (int, error) {
	r := &protoReader{b: b}
	v := -1
	for !r.done() {
		field, wire, err := r.next()
		if err != nil {
			return 0, err
		}
		if field == n && wire == 0 {
			x, err := r.varint()
			if err != nil {
				return 0, err
			}
			v = int(min(x, math.MaxInt32))
			continue
		}
		if err := r.skip(wire); err != nil {
			return 0, err
		}
	}
	return v, nil
}

func parseSentencePiece(b []byte) (SentencePiece, error) {
	p := SentencePiece{Type: spmNormal}
	r := &protoReader{b: b}
	for !r.done() {
		field, wire, err := r.next()
		if err != nil {
			return p, err
		}
		switch {
		case field == 1 && wire == 2:
			s, err := r.bytes()
			if err != nil {
				return p, err
			}
			if !utf8.Valid(s) {
				return p, fmt.Errorf("piece %q is not UTF-8", s)
			}
			p.Piece = string(s)
		case field == 2 && wire == 5:
			v, err := r.fixed32()
			if err != nil {
				return p, err
			}
			p.Score = math.Float32frombits(v)
		case field == 3 && wire == 0:
			v, err := r.varint()
			if err != nil {
				return p, err
			}
			if v < spmNormal || v > spmByte {
				return p, fmt.Errorf("piece %q: type %d", p.Piece, v)
			}
			p.Type = int(v)
		default:
			if err := r.skip(wire); err != nil {
				return p, err
			}
		}
	}
	return p, nil
}

// spmModelVocab is _create_vocab_sentencepiece: the pieces of
// tokenizer.model, then added_tokens.json and tokenizer_config.json's
// added_tokens_decoder over them, in nVocab slots ([PADn] where nothing
// fills one). With phi3 set the added tokens are laid over as
// Phi3MiniModel.set_vocab does (see HFOptions.Phi3AddedTokens).
func spmModelVocab(f *hfTokenizerFiles, nVocab int, phi3 bool, warn warner) (*hfVocab, error) {
	path := filepath.Join(f.dir, "tokenizer.model")
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxSPMModel {
		return nil, fmt.Errorf("%s: %d bytes is larger than a SentencePiece model should be", path, st.Size())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	spm, err := ParseSentencePieceModel(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if nVocab <= 0 {
		nVocab = len(spm.Pieces)
	}
	v := &hfVocab{model: "llama", pre: "default",
		tokens: make([]string, nVocab), scores: make([]float32, nVocab), types: make([]int32, nVocab)}
	for i := range nVocab {
		v.tokens[i], v.scores[i], v.types[i] = fmt.Sprintf("[PAD%d]", i), -10000, TokenUnused
	}
	for i, p := range spm.Pieces {
		if i >= nVocab {
			warn.warnf("tokenizer.model has %d pieces; ignoring those past the model's %d tokens", len(spm.Pieces), nVocab)
			break
		}
		typ := TokenNormal // user-defined pieces too, as llama.cpp's converter writes them
		switch p.Type {
		case spmUnknown:
			typ = TokenUnknown
		case spmControl:
			typ = TokenControl
		case spmUnused:
			typ = TokenUnused
		case spmByte:
			typ = TokenByte
		}
		v.tokens[i], v.scores[i], v.types[i] = p.Piece, p.Score, typ
	}
	added, err := f.addedTokensJSON()
	if err != nil {
		return nil, err
	}
	for content, id := range added {
		if id < 0 || id >= nVocab {
			warn.warnf("added_tokens.json: ignoring token %q: id %d is outside the %d tokens", content, id, nVocab)
			continue
		}
		v.tokens[id], v.scores[id], v.types[id] = content, -1000, TokenUserDefined
	}
	dec, err := f.addedTokensDecoder()
	if err != nil {
		return nil, err
	}
	if phi3 {
		phi3Added(v, dec, f, nVocab, warn)
		dec = nil
	}
	for id, t := range dec {
		if id >= nVocab {
			warn.warnf("tokenizer_config.json: ignoring added token %q: id %d is outside the %d tokens", t.Content, id, nVocab)
			continue
		}
		tok := t.Content
		if t.Special || looksSpecial(tok) {
			v.types[id] = TokenControl
		} else {
			tok = replaceMetaspace(tok)
			v.types[id] = TokenUserDefined
		}
		v.tokens[id], v.scores[id] = tok, -1000
	}
	if !spm.AddDummyPrefix {
		no := false
		v.addSpacePrefix = &no
	}
	return v, nil
}

func replaceMetaspace(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r == '\u2581' {
			r = ' '
		}
		out = append(out, r)
	}
	return string(out)
}

// phi3Added lays tokenizer_config.json's added_tokens_decoder (dec), then
// tokenizer.json's added_tokens, over v as Phi3MiniModel.set_vocab does:
// text as it is, score -1000, user-defined unless marked special.
func phi3Added(v *hfVocab, dec map[int]hfAddedToken, f *hfTokenizerFiles, nVocab int, warn warner) {
	set := func(where string, t hfAddedToken) {
		if t.ID < 0 || t.ID >= nVocab {
			warn.warnf("%s: ignoring added token %q: id %d is outside the %d tokens", where, t.Content, t.ID, nVocab)
			return
		}
		typ := TokenUserDefined
		if t.Special {
			typ = TokenControl
		}
		v.tokens[t.ID], v.scores[t.ID], v.types[t.ID] = t.Content, -1000, typ
	}
	ids := make([]int, 0, len(dec))
	for id := range dec {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, id := range ids {
		set("tokenizer_config.json", dec[id])
	}
	if f.json != nil {
		for _, t := range f.json.AddedTokens {
			set("tokenizer.json", t)
		}
	}
}
