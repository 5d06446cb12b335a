package convert

// llama2.c (github.com/karpathy/llama2.c) checkpoints and vocabularies.
//
// A checkpoint is one of export.py's formats:
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
//
// llama2.c's model.py applies rotary embeddings to adjacent pairs (2i,
// 2i+1) of each head, as run.c does and as llama.cpp's llama graph does, so
// wq and wk are written as they are (llama.cpp's
// convert-llama2c-to-ggml does not permute them either). Unlike that tool,
// infer rotates the whole head (run.c does; the tool caps rope dimensions
// at 64) and takes the context length from seq_len (the tool writes 128).
//
// A vocabulary is llama2.c's tokenizer.bin (uint32 max_token_length, then
// per token a float32 score, a uint32 length and the bytes; "▁" written as
// a space, BOS and EOS as "\n<s>\n" and "\n</s>\n"), converted as
// convert-llama2c-to-ggml does into llama.cpp's SentencePiece vocabulary;
// or a GGUF file whose vocabulary is copied.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/quant"
)

// llama2cMagic is "ak42" as export.py writes it (a little-endian uint32).
const llama2cMagic = 0x616b3432

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

func (c *Llama2CConfig) headSize() int { return c.Dim / c.Heads }
func (c *Llama2CConfig) kvDim() int    { return c.KVHeads * c.headSize() }

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
	case len(head) >= 8 && le.Uint32(head) == llama2cMagic:
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
	case c.Dim%c.Heads != 0 || c.headSize()%2 != 0:
		return fmt.Errorf("llama2.c checkpoint: dim %d is not n_heads %d heads of an even size", c.Dim, c.Heads)
	case c.Heads%c.KVHeads != 0:
		return fmt.Errorf("llama2.c checkpoint: n_heads %d is not a multiple of n_kv_heads %d", c.Heads, c.KVHeads)
	case c.Version == 2 && (c.GroupSize <= 0 || c.Dim%c.GroupSize != 0 || c.kvDim()%c.GroupSize != 0):
		return fmt.Errorf("llama2.c checkpoint: group size %d does not divide dim %d", c.GroupSize, c.Dim)
	}
	return nil
}

// layout places every tensor from dataOff on in the version's order.
func (c *Llama2CConfig) layout(dataOff uint64) *l2cLayout {
	L := c.Layers
	D, H, V := uint64(c.Dim), uint64(c.HiddenDim), uint64(c.VocabSize)
	KV := uint64(c.kvDim())
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
		f32(uint64(c.SeqLen) * uint64(c.headSize())) // freq_cis_real and _imag
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

// isLlama2C reports whether the file f of size bytes is a llama2.c
// checkpoint: its header parses and accounts for the file's exact size.
func isLlama2C(f io.ReaderAt, size int64) bool {
	head := make([]byte, llama2cHeaderSize)
	n, _ := f.ReadAt(head, 0)
	_, _, err := parseLlama2CHeader(head[:n], size)
	return err == nil
}

// ReadLlama2CConfig reads the header of the checkpoint at path.
func ReadLlama2CConfig(path string) (*Llama2CConfig, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	head := make([]byte, llama2cHeaderSize)
	n, err := f.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return nil, err
	}
	c, _, err := parseLlama2CHeader(head[:n], st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ConvertLlama2C converts the llama2.c checkpoint at checkpoint, with the
// vocabulary in tokenizer (a tokenizer.bin, or a GGUF file to copy the
// vocabulary from; empty: tokenizer.bin beside the checkpoint), to a llama
// GGUF at out. The output appears atomically, and not at all on error.
func ConvertLlama2C(checkpoint, tokenizer, out string, opts LMOptions) (*QuantizeResult, error) {
	if tokenizer == "" {
		tokenizer = filepath.Join(filepath.Dir(checkpoint), "tokenizer.bin")
		if _, err := os.Stat(tokenizer); err != nil {
			return nil, fmt.Errorf("%s: a llama2.c checkpoint needs its vocabulary: no tokenizer.bin beside it (name one with --tokenizer)", checkpoint)
		}
	}
	if err := checkNotInside(out, []string{checkpoint, tokenizer}); err != nil {
		return nil, err
	}
	if st, err := os.Stat(checkpoint); err != nil {
		return nil, err
	} else if st.Mode().IsRegular() && st.Size() < 28 {
		return nil, fmt.Errorf("%s: %d bytes: too short for a llama2.c checkpoint", checkpoint, st.Size())
	}
	data, unmap, err := mapSafetensors(checkpoint)
	if err != nil {
		return nil, err
	}
	defer unmap()
	c, l, err := parseLlama2CHeader(data[:min(len(data), llama2cHeaderSize)], int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", checkpoint, err)
	}
	vocabKV, err := llama2cVocab(tokenizer, c.VocabSize)
	if err != nil {
		return nil, err
	}

	m := &lmModel{arch: "llama", name: strings.TrimSuffix(filepath.Base(checkpoint), filepath.Ext(checkpoint))}
	kv := func(key string, v any) { m.kv = append(m.kv, gguf.KV{Key: "llama." + key, Value: gguf.ValueOf(v)}) }
	kv("block_count", uint32(c.Layers))
	kv("context_length", uint32(c.SeqLen))
	kv("embedding_length", uint32(c.Dim))
	kv("feed_forward_length", uint32(c.HiddenDim))
	kv("attention.head_count", uint32(c.Heads))
	kv("attention.head_count_kv", uint32(c.KVHeads))
	kv("rope.freq_base", float32(10000))
	kv("attention.layer_norm_rms_epsilon", float32(1e-5))
	kv("vocab_size", uint32(c.VocabSize))
	kv("rope.dimension_count", uint32(c.headSize()))
	m.kv = append(m.kv, vocabKV...)

	D, H, V, KV := uint64(c.Dim), uint64(c.HiddenDim), uint64(c.VocabSize), uint64(c.kvDim())
	tensor := func(name string, s l2cSpan, dims ...uint64) lmTensor {
		if !s.q8 {
			return viewTensor(name, dims, quant.F32, data[s.off:s.off+4*s.n])
		}
		gs := uint64(c.GroupSize)
		q := data[s.off : s.off+s.n]
		scales := data[s.scales : s.scales+4*(s.n/gs)]
		return lmTensor{name: name, dims: dims, typ: quant.F32, load: func() ([]byte, error) {
			out := make([]byte, 4*s.n)
			for i := range s.n {
				scale := math.Float32frombits(binary.LittleEndian.Uint32(scales[4*(i/gs):]))
				binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(float32(int8(q[i]))*scale))
			}
			return out, nil
		}}
	}
	m.tensors = append(m.tensors,
		tensor("token_embd.weight", l.tok, D, V),
		tensor("output_norm.weight", l.finalNorm, D))
	if !c.Shared {
		m.tensors = append(m.tensors, tensor("output.weight", l.cls, D, V))
	}
	for i := range c.Layers {
		name := func(s string) string { return fmt.Sprintf("blk.%d.%s", i, s) }
		m.tensors = append(m.tensors,
			tensor(name("attn_norm.weight"), l.attnNorm[i], D),
			tensor(name("attn_q.weight"), l.wq[i], D, D),
			tensor(name("attn_k.weight"), l.wk[i], D, KV),
			tensor(name("attn_v.weight"), l.wv[i], D, KV),
			tensor(name("attn_output.weight"), l.wo[i], D, D),
			tensor(name("ffn_norm.weight"), l.ffnNorm[i], D),
			tensor(name("ffn_gate.weight"), l.w1[i], D, H),
			tensor(name("ffn_down.weight"), l.w2[i], H, D),
			tensor(name("ffn_up.weight"), l.w3[i], D, H))
	}
	return m.write(out, opts)
}

// llama2cVocab reads the vocabulary for a model of nVocab tokens.
func llama2cVocab(path string, nVocab int) ([]gguf.KV, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	var magic [4]byte
	_, _ = io.ReadFull(f, magic[:])
	f.Close()
	if string(magic[:]) == "GGUF" {
		return ggufVocab(path, nVocab)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	tokens, scores, types, err := ParseLlama2CTokenizer(data, nVocab)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return []gguf.KV{
		{Key: "tokenizer.ggml.model", Value: gguf.ValueOf("llama")},
		{Key: "tokenizer.ggml.pre", Value: gguf.ValueOf("default")},
		{Key: "tokenizer.ggml.tokens", Value: gguf.ValueOf(tokens)},
		{Key: "tokenizer.ggml.scores", Value: gguf.ValueOf(scores)},
		{Key: "tokenizer.ggml.token_type", Value: gguf.ValueOf(types)},
		{Key: "tokenizer.ggml.bos_token_id", Value: gguf.ValueOf(uint32(1))},
		{Key: "tokenizer.ggml.eos_token_id", Value: gguf.ValueOf(uint32(2))},
		{Key: "tokenizer.ggml.unknown_token_id", Value: gguf.ValueOf(uint32(0))},
		{Key: "tokenizer.ggml.add_bos_token", Value: gguf.ValueOf(true)},
		{Key: "tokenizer.ggml.add_eos_token", Value: gguf.ValueOf(false)},
	}, nil
}

// ParseLlama2CTokenizer reads a llama2.c tokenizer.bin of exactly nVocab
// tokens into llama.cpp's SentencePiece vocabulary the way
// convert-llama2c-to-ggml does: ids 0, 1, 2 become <unk>, <s>, </s>, empty
// pieces control tokens, <0xXX> byte tokens, and spaces "▁".
func ParseLlama2CTokenizer(data []byte, nVocab int) (tokens []string, scores []float32, types []int32, err error) {
	if nVocab < 3 {
		return nil, nil, nil, fmt.Errorf("a vocabulary of %d tokens has no room for <unk>, <s> and </s>", nVocab)
	}
	if len(data) < 4 {
		return nil, nil, nil, errors.New("tokenizer.bin: truncated header")
	}
	le := binary.LittleEndian
	off := 4 // max_token_length, unused
	capacity := min(nVocab, (len(data)-off)/8)
	tokens, scores, types = make([]string, 0, capacity), make([]float32, 0, capacity), make([]int32, 0, capacity)
	for i := range nVocab {
		if len(data)-off < 8 {
			return nil, nil, nil, fmt.Errorf("tokenizer.bin: holds %d tokens, the model has %d (truncated, or another model's vocabulary)", i, nVocab)
		}
		score := math.Float32frombits(le.Uint32(data[off:]))
		n := uint64(le.Uint32(data[off+4:]))
		off += 8
		if n > uint64(len(data)-off) {
			return nil, nil, nil, fmt.Errorf("tokenizer.bin: token %d: %d bytes run past the end of the file", i, n)
		}
		text := string(data[off : off+int(n)])
		off += int(n)
		typ := tokenNormal
		switch {
		case i == 0:
			text, typ = "<unk>", tokenUnknown
		case i == 1:
			text, typ = "<s>", tokenControl
		case i == 2:
			text, typ = "</s>", tokenControl
		case text == "":
			typ = tokenControl
		case isByteToken(text):
			typ = tokenByte
		}
		tokens = append(tokens, strings.ReplaceAll(text, " ", "\u2581"))
		scores = append(scores, score)
		types = append(types, typ)
	}
	if off != len(data) {
		return nil, nil, nil, fmt.Errorf("tokenizer.bin: %d bytes after the model's %d tokens (another model's vocabulary?)", len(data)-off, nVocab)
	}
	return tokens, scores, types, nil
}

// ggufVocab copies the tokenizer.* keys of a GGUF file whose vocabulary
// has nVocab tokens, as convert-llama2c-to-ggml's --copy-vocab-from-model.
func ggufVocab(path string, nVocab int) ([]gguf.KV, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tokens, err := f.Strings("tokenizer.ggml.tokens")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(tokens) != nVocab {
		return nil, fmt.Errorf("%s: %d tokens, the model has %d", path, len(tokens), nVocab)
	}
	var kv []gguf.KV
	for _, k := range f.KV {
		if strings.HasPrefix(k.Key, "tokenizer.") {
			kv = append(kv, k)
		}
	}
	return kv, nil
}
