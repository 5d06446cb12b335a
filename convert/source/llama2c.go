package source

// llama2.c (github.com/karpathy/llama2.c) checkpoints, in one of export.py's
// formats:
//   - legacy (version 0): seven int32 (dim, hidden_dim, n_layers, n_heads,
//     n_kv_heads, vocab_size, seq_len; a negative vocab_size means the
//     classifier is not shared with the embedding), then float32 weights in
//     run.c's order: embedding, every layer's attention norm, wq, wk, wv,
//     wo, ffn norm, w1, w2, w3, the final norm, the old RoPE tables
//     (seq_len*head_size floats, skipped) and the classifier if unshared;
//   - version 1: a 256-byte header (uint32 magic "ak42", int32 version, the
//     seven int32, a uint8 shared-classifier flag), then float32 norms
//     first (attention, ffn, final), the embedding, wq, wk, wv, wo, w1, w2,
//     w3 of every layer and the classifier if unshared;
//   - version 2: the same header plus an int32 group size, the norms as
//     float32, then each matrix (per layer) as int8 values followed by one
//     float32 scale per group, in runq.c's order: embedding, wq, wk, wv, wo,
//     w1, w2, w3, classifier if unshared. The values are dequantized.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// Llama2CMagic is "ak42" as export.py writes it (a little-endian uint32)
// at the start of versions 1 and 2.
const Llama2CMagic = 0x616b3432

const llama2cHeaderSize = 256

// Limits on a checkpoint's hyperparameters, far above real models, that
// keep the size arithmetic far from overflow.
const (
	maxL2CDim    = 1 << 16
	maxL2CHidden = 1 << 20
	maxL2CLayers = 1 << 10
	maxL2CVocab  = 1 << 24
	maxL2CSeq    = 1 << 24
)

// Llama2CConfig is a checkpoint's header.
type Llama2CConfig struct {
	Dim, HiddenDim, Layers, Heads, KVHeads, VocabSize, SeqLen int
	// Version is 0 for the legacy format, else export.py's version (1, 2).
	Version int
	// Shared is true when the classifier is the embedding.
	Shared bool
	// GroupSize is version 2's quantization group.
	GroupSize int
}

// HeadSize is the width of one attention head.
func (c *Llama2CConfig) HeadSize() int { return c.Dim / c.Heads }

// KVDim is the width of the keys (and values) of all key/value heads.
func (c *Llama2CConfig) KVDim() int { return c.KVHeads * c.HeadSize() }

// l2cSpan is where a tensor lies in the file: n elements at off, as
// float32, or (q8) as int8 at off followed by float32 scales at scales.
type l2cSpan struct {
	off, n, scales uint64
	q8             bool
}

// l2cLayout is every tensor of a checkpoint.
type l2cLayout struct {
	tok, finalNorm, cls                           l2cSpan
	attnNorm, ffnNorm, wq, wk, wv, wo, w1, w2, w3 []l2cSpan
	end                                           uint64
}

// parseLlama2CHeader reads the header (the first up to 256 bytes of the
// file in head) and checks the layout against the file's size.
func parseLlama2CHeader(head []byte, size int64) (*Llama2CConfig, *l2cLayout, error) {
	le := binary.LittleEndian
	c := &Llama2CConfig{}
	var p []byte
	var dataOff uint64
	switch {
	case len(head) >= 8 && le.Uint32(head) == Llama2CMagic:
		c.Version = int(int32(le.Uint32(head[4:])))
		if c.Version != 1 && c.Version != 2 {
			return nil, nil, fmt.Errorf("llama2.c checkpoint version %d: infer reads the legacy format and versions 1 and 2", c.Version)
		}
		if len(head) < llama2cHeaderSize || size < llama2cHeaderSize {
			return nil, nil, errors.New("llama2.c checkpoint: truncated header")
		}
		p = head[8:36]
		if head[36] > 1 {
			return nil, nil, fmt.Errorf("llama2.c checkpoint: shared-classifier flag %d", head[36])
		}
		c.Shared = head[36] == 1
		if c.Version == 2 {
			c.GroupSize = int(int32(le.Uint32(head[37:])))
		}
		dataOff = llama2cHeaderSize
	case len(head) >= 28:
		p = head[:28]
		dataOff = 28
	default:
		return nil, nil, errors.New("llama2.c checkpoint: truncated header")
	}
	v := make([]int, 7)
	for i := range v {
		v[i] = int(int32(le.Uint32(p[4*i:])))
	}
	c.Dim, c.HiddenDim, c.Layers, c.Heads, c.KVHeads, c.VocabSize, c.SeqLen = v[0], v[1], v[2], v[3], v[4], v[5], v[6]
	if c.Version == 0 {
		c.Shared = c.VocabSize > 0
		if c.VocabSize < 0 {
			c.VocabSize = -c.VocabSize
		}
	}
	if err := c.check(); err != nil {
		return nil, nil, err
	}
	l := c.layout(dataOff)
	if l.end != uint64(size) {
		return nil, nil, fmt.Errorf("llama2.c checkpoint: %d bytes, but dim %d, hidden_dim %d, %d layers, %d/%d heads, vocab %d, seq_len %d (version %d, shared classifier %v) take %d: truncated, or not this format",
			size, c.Dim, c.HiddenDim, c.Layers, c.Heads, c.KVHeads, c.VocabSize, c.SeqLen, c.Version, c.Shared, l.end)
	}
	return c, l, nil
}

func (c *Llama2CConfig) check() error {
	bad := func(what string, v, lo, hi int) error {
		if v < lo || v > hi {
			return fmt.Errorf("llama2.c checkpoint: %s %d out of range [%d, %d]", what, v, lo, hi)
		}
		return nil
	}
	for _, e := range []error{
		bad("dim", c.Dim, 1, maxL2CDim), bad("hidden_dim", c.HiddenDim, 1, maxL2CHidden),
		bad("n_layers", c.Layers, 1, maxL2CLayers), bad("n_heads", c.Heads, 1, c.Dim),
		bad("n_kv_heads", c.KVHeads, 1, c.Heads), bad("vocab_size", c.VocabSize, 1, maxL2CVocab),
		bad("seq_len", c.SeqLen, 1, maxL2CSeq),
	} {
		if e != nil {
			return e
		}
	}
	switch {
	case c.Dim%c.Heads != 0 || c.HeadSize()%2 != 0:
		return fmt.Errorf("llama2.c checkpoint: dim %d is not n_heads %d heads of an even size", c.Dim, c.Heads)
	case c.Heads%c.KVHeads != 0:
		return fmt.Errorf("llama2.c checkpoint: n_heads %d is not a multiple of n_kv_heads %d", c.Heads, c.KVHeads)
	case c.Version == 2 && (c.GroupSize <= 0 || c.Dim%c.GroupSize != 0 || c.KVDim()%c.GroupSize != 0):
		return fmt.Errorf("llama2.c checkpoint: group size %d does not divide dim %d", c.GroupSize, c.Dim)
	}
	return nil
}

// layout places every tensor from dataOff on in the version's order.
func (c *Llama2CConfig) layout(dataOff uint64) *l2cLayout {
	L := c.Layers
	D, H, V := uint64(c.Dim), uint64(c.HiddenDim), uint64(c.VocabSize)
	KV := uint64(c.KVDim())
	l := &l2cLayout{}
	cur := dataOff
	f32 := func(n uint64) l2cSpan { s := l2cSpan{off: cur, n: n}; cur += 4 * n; return s }
	q8 := func(n uint64) l2cSpan {
		s := l2cSpan{off: cur, n: n, scales: cur + n, q8: true}
		cur += n + 4*(n/uint64(c.GroupSize))
		return s
	}
	mat := f32
	if c.Version == 2 {
		mat = q8
	}
	layers := func(n uint64, alloc func(uint64) l2cSpan) []l2cSpan {
		s := make([]l2cSpan, L)
		for i := range s {
			s[i] = alloc(n)
		}
		return s
	}
	matrices := func() {
		l.wq = layers(D*D, mat)
		l.wk = layers(D*KV, mat)
		l.wv = layers(D*KV, mat)
		l.wo = layers(D*D, mat)
		l.w1 = layers(D*H, mat)
		l.w2 = layers(D*H, mat)
		l.w3 = layers(D*H, mat)
	}
	switch c.Version {
	case 0:
		l.tok = f32(V * D)
		l.attnNorm = layers(D, f32)
		l.wq = layers(D*D, f32)
		l.wk = layers(D*KV, f32)
		l.wv = layers(D*KV, f32)
		l.wo = layers(D*D, f32)
		l.ffnNorm = layers(D, f32)
		l.w1 = layers(D*H, f32)
		l.w2 = layers(D*H, f32)
		l.w3 = layers(D*H, f32)
		l.finalNorm = f32(D)
		f32(uint64(c.SeqLen) * uint64(c.HeadSize())) // freq_cis_real and _imag
	default:
		l.attnNorm = layers(D, f32)
		l.ffnNorm = layers(D, f32)
		l.finalNorm = f32(D)
		l.tok = mat(V * D)
		matrices()
	}
	if !c.Shared {
		l.cls = mat(V * D)
	}
	l.end = cur
	return l
}

// IsLlama2C reports whether the file f of size bytes is a llama2.c
// checkpoint: its header parses and accounts for the file's exact size.
func IsLlama2C(f io.ReaderAt, size int64) bool {
	head := make([]byte, llama2cHeaderSize)
	n, _ := f.ReadAt(head, 0)
	_, _, err := parseLlama2CHeader(head[:n], size)
	return err == nil
}

// ReadLlama2CConfig reads the header of the checkpoint at path.
func ReadLlama2CConfig(path string) (*Llama2CConfig, error) {
	f, size, err := openSized(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head := make([]byte, llama2cHeaderSize)
	n, err := f.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return nil, err
	}
	c, _, err := parseLlama2CHeader(head[:n], size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Llama2C is an opened checkpoint: its header and its weights, which are
// views of the file's read-only mapping until Close.
type Llama2C struct {
	Config *Llama2CConfig
	// The weights by run.c's names, one per layer where there is a slice;
	// Classifier is the zero Llama2CTensor when Config.Shared.
	TokenEmbedding, FinalNorm, Classifier         Llama2CTensor
	AttnNorm, FFNNorm, WQ, WK, WV, WO, W1, W2, W3 []Llama2CTensor

	unmap func() error
}

// Llama2CTensor is one tensor of a checkpoint: float32 values, or
// (version 2) int8 values with one float32 scale per group.
type Llama2CTensor struct {
	N         uint64 // elements
	values    []byte // N float32s, or N int8s
	scales    []byte // N/groupSize float32s for int8 values, else nil
	groupSize uint64
}

// Float32Bytes returns the tensor's values as little-endian float32: a view
// of the file for float32 tensors, dequantized (each int8 value times its
// group's scale) for version 2's.
func (t Llama2CTensor) Float32Bytes() []byte {
	if t.scales == nil {
		return t.values
	}
	le := binary.LittleEndian
	out := make([]byte, 4*t.N)
	for i := range t.N {
		scale := math.Float32frombits(le.Uint32(t.scales[4*(i/t.groupSize):]))
		le.PutUint32(out[4*i:], math.Float32bits(float32(int8(t.values[i]))*scale))
	}
	return out
}

// OpenLlama2C maps the checkpoint at path read-only and reads its header;
// the file's size must be exactly what the header's shapes take.
func OpenLlama2C(path string) (*Llama2C, error) {
	if st, err := os.Stat(path); err != nil {
		return nil, err
	} else if st.Mode().IsRegular() && st.Size() < 28 {
		return nil, fmt.Errorf("%s: %d bytes: too short for a llama2.c checkpoint", path, st.Size())
	}
	data, unmap, err := mapSafetensors(path)
	if err != nil {
		return nil, err
	}
	c, l, err := parseLlama2CHeader(data[:min(len(data), llama2cHeaderSize)], int64(len(data)))
	if err != nil {
		_ = unmap()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	tensor := func(s l2cSpan) Llama2CTensor {
		if !s.q8 {
			return Llama2CTensor{N: s.n, values: data[s.off : s.off+4*s.n]}
		}
		gs := uint64(c.GroupSize)
		return Llama2CTensor{N: s.n, values: data[s.off : s.off+s.n], scales: data[s.scales : s.scales+4*(s.n/gs)], groupSize: gs}
	}
	layers := func(spans []l2cSpan) []Llama2CTensor {
		out := make([]Llama2CTensor, len(spans))
		for i, s := range spans {
			out[i] = tensor(s)
		}
		return out
	}
	m := &Llama2C{Config: c, unmap: unmap,
		TokenEmbedding: tensor(l.tok), FinalNorm: tensor(l.finalNorm),
		AttnNorm: layers(l.attnNorm), FFNNorm: layers(l.ffnNorm),
		WQ: layers(l.wq), WK: layers(l.wk), WV: layers(l.wv), WO: layers(l.wo),
		W1: layers(l.w1), W2: layers(l.w2), W3: layers(l.w3)}
	if !c.Shared {
		m.Classifier = tensor(l.cls)
	}
	return m, nil
}

// Close releases the file's mapping; the tensors' bytes must not be used
// after.
func (m *Llama2C) Close() error {
	if m.unmap == nil {
		return nil
	}
	err := m.unmap()
	m.unmap = nil
	return err
}
