package convert

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infer-go/infer/convert/internal/testsrc"
	"github.com/infer-go/infer/convert/source"
	"github.com/infer-go/infer/convert/vocab"
	"github.com/infer-go/infer/quant"
	"github.com/infer-go/infer/quantize"
)

// l2cModel is a random llama2.c model: weights as model.py holds them,
// [out][in] row-major, one slice per layer.
type l2cModel struct {
	dim, hidden, layers, heads, kv, vocab, seq int
	shared                                     bool

	tok, finalNorm, cls                          []float32
	attNorm, ffnNorm, wq, wk, wv, wo, w1, w2, w3 [][]float32
}

func newL2CModel(seed uint64, dim, hidden, layers, heads, kv, vocab, seq int, shared bool) *l2cModel {
	m := &l2cModel{dim: dim, hidden: hidden, layers: layers, heads: heads, kv: kv, vocab: vocab, seq: seq, shared: shared}
	r := rand.New(rand.NewPCG(seed, 1))
	vec := func(n int, scale float64, offset float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = offset + float32(scale*(2*r.Float64()-1))
		}
		return v
	}
	per := func(n int, scale float64, offset float32) [][]float32 {
		out := make([][]float32, layers)
		for l := range out {
			out[l] = vec(n, scale, offset)
		}
		return out
	}
	kvDim := dim / heads * kv
	s := 1.5 / math.Sqrt(float64(dim))
	m.tok = vec(vocab*dim, 1, 0)
	m.attNorm, m.ffnNorm = per(dim, 0.2, 1), per(dim, 0.2, 1)
	m.wq, m.wk, m.wv, m.wo = per(dim*dim, s, 0), per(kvDim*dim, s, 0), per(kvDim*dim, s, 0), per(dim*dim, s, 0)
	m.w1, m.w2, m.w3 = per(hidden*dim, s, 0), per(dim*hidden, 1.5/math.Sqrt(float64(hidden)), 0), per(hidden*dim, s, 0)
	m.finalNorm = vec(dim, 0.2, 1)
	if shared {
		m.cls = m.tok
	} else {
		m.cls = vec(vocab*dim, s, 0)
	}
	return m
}

func (m *l2cModel) header(version, groupSize int) []byte {
	return testsrc.Llama2CHeader(version, [7]int{m.dim, m.hidden, m.layers, m.heads, m.kv, m.vocab, m.seq}, m.shared, groupSize)
}

// writeLegacy writes export.py's legacy_export format.
func (m *l2cModel) writeLegacy(t *testing.T, path string) {
	b := m.header(0, 0)
	b = append(b, encodeF32s(m.tok)...)
	for _, group := range [][][]float32{m.attNorm, m.wq, m.wk, m.wv, m.wo, m.ffnNorm, m.w1, m.w2, m.w3} {
		for _, w := range group {
			b = append(b, encodeF32s(w)...)
		}
	}
	b = append(b, encodeF32s(m.finalNorm)...)
	hs := m.dim / m.heads
	b = append(b, make([]byte, 4*m.seq*hs)...) // freqs_cos, freqs_sin
	if !m.shared {
		b = append(b, encodeF32s(m.cls)...)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeV1 writes export.py's version1_export format.
func (m *l2cModel) writeV1(t *testing.T, path string) {
	b := m.header(1, 0)
	for _, w := range slices.Concat(m.attNorm, m.ffnNorm, [][]float32{m.finalNorm, m.tok}, m.wq, m.wk, m.wv, m.wo, m.w1, m.w2, m.w3) {
		b = append(b, encodeF32s(w)...)
	}
	if !m.shared {
		b = append(b, encodeF32s(m.cls)...)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeV2 writes the Q8_0 version 2 format runq.c reads (each matrix's
// int8 values, then its scales), quantizing as export.py's quantize_q80
// does, and replaces the model's matrices with their dequantized values.
func (m *l2cModel) writeV2(t *testing.T, path string, gs int) {
	b := m.header(2, gs)
	for _, w := range slices.Concat(m.attNorm, m.ffnNorm, [][]float32{m.finalNorm}) {
		b = append(b, encodeF32s(w)...)
	}
	q80 := func(w []float32) {
		q := make([]byte, len(w))
		scales := make([]float32, len(w)/gs)
		for g := range scales {
			var wmax float32
			for _, x := range w[g*gs : (g+1)*gs] {
				wmax = max(wmax, float32(math.Abs(float64(x))))
			}
			scales[g] = wmax / 127
			for i := g * gs; i < (g+1)*gs; i++ {
				v := int8(math.RoundToEven(float64(w[i] / scales[g])))
				q[i] = byte(v)
				w[i] = float32(v) * scales[g]
			}
		}
		b = append(b, q...)
		b = append(b, encodeF32s(scales)...)
	}
	mats := slices.Concat([][]float32{m.tok}, m.wq, m.wk, m.wv, m.wo, m.w1, m.w2, m.w3)
	if !m.shared {
		mats = append(mats, m.cls)
	}
	for _, w := range mats {
		q80(w)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// logits is run.c's forward pass in float64, one token at a time with a KV
// cache: RMSNorm, RoPE on adjacent pairs, grouped-query attention, SwiGLU.
func (m *l2cModel) logits(tokens []int32) []float32 {
	D, hs := m.dim, m.dim/m.heads
	kvDim, kvMul := hs*m.kv, m.heads/m.kv
	matVec := func(w []float32, x []float64) []float64 {
		out := make([]float64, len(w)/len(x))
		for o := range out {
			for i, xi := range x {
				out[o] += float64(w[o*len(x)+i]) * xi
			}
		}
		return out
	}
	rms := func(x []float64, w []float32) []float64 {
		var ss float64
		for _, v := range x {
			ss += v * v
		}
		s := 1 / math.Sqrt(ss/float64(len(x))+1e-5)
		out := make([]float64, len(x))
		for i := range x {
			out[i] = float64(w[i]) * s * x[i]
		}
		return out
	}
	kc, vc := make([][][]float64, m.layers), make([][][]float64, m.layers)
	var out []float32
	for pos, tok := range tokens {
		x := make([]float64, D)
		for i := range x {
			x[i] = float64(m.tok[int(tok)*D+i])
		}
		for l := range m.layers {
			xb := rms(x, m.attNorm[l])
			q, k, v := matVec(m.wq[l], xb), matVec(m.wk[l], xb), matVec(m.wv[l], xb)
			for i := 0; i < D; i += 2 {
				freq := 1 / math.Pow(10000, float64(i%hs)/float64(hs))
				c, s := math.Cos(float64(pos)*freq), math.Sin(float64(pos)*freq)
				q[i], q[i+1] = q[i]*c-q[i+1]*s, q[i]*s+q[i+1]*c
				if i < kvDim {
					k[i], k[i+1] = k[i]*c-k[i+1]*s, k[i]*s+k[i+1]*c
				}
			}
			kc[l], vc[l] = append(kc[l], k), append(vc[l], v)
			att := make([]float64, D)
			for h := range m.heads {
				g := h / kvMul
				sc := make([]float64, pos+1)
				mx := math.Inf(-1)
				for t := range sc {
					for i := range hs {
						sc[t] += q[h*hs+i] * kc[l][t][g*hs+i]
					}
					sc[t] /= math.Sqrt(float64(hs))
					mx = max(mx, sc[t])
				}
				var sum float64
				for t := range sc {
					sc[t] = math.Exp(sc[t] - mx)
					sum += sc[t]
				}
				for t := range sc {
					for i := range hs {
						att[h*hs+i] += sc[t] / sum * vc[l][t][g*hs+i]
					}
				}
			}
			o := matVec(m.wo[l], att)
			for i := range x {
				x[i] += o[i]
			}
			xb = rms(x, m.ffnNorm[l])
			h1, h3 := matVec(m.w1[l], xb), matVec(m.w3[l], xb)
			for i := range h1 {
				h1[i] = h1[i] / (1 + math.Exp(-h1[i])) * h3[i]
			}
			d := matVec(m.w2[l], h1)
			for i := range x {
				x[i] += d[i]
			}
		}
		for _, v := range matVec(m.cls, rms(x, m.finalNorm)) {
			out = append(out, float32(v))
		}
	}
	return out
}

// expectedTensors is the model written straight to GGUF: llama.cpp's names,
// the weights as they are.
func (m *l2cModel) expectedTensors() map[string][]byte {
	want := map[string][]byte{"token_embd.weight": encodeF32s(m.tok), "output_norm.weight": encodeF32s(m.finalNorm)}
	if !m.shared {
		want["output.weight"] = encodeF32s(m.cls)
	}
	for l := range m.layers {
		for name, w := range map[string][]float32{"attn_norm": m.attNorm[l], "attn_q": m.wq[l], "attn_k": m.wk[l], "attn_v": m.wv[l],
			"attn_output": m.wo[l], "ffn_norm": m.ffnNorm[l], "ffn_gate": m.w1[l], "ffn_down": m.w2[l], "ffn_up": m.w3[l]} {
			want[fmt.Sprintf("blk.%d.%s.weight", l, name)] = encodeF32s(w)
		}
	}
	return want
}

// l2cPieces is a llama2.c vocabulary as tokenizer.py exports it, and the
// GGUF tokens, types and scores it should become.
func l2cPieces(nVocab int) (pieces []string, scores []float32, tokens []string, types []int32) {
	pieces = []string{"<unk>", "\n<s>\n", "\n</s>\n"}
	tokens = []string{"<unk>", "<s>", "</s>"}
	types = []int32{vocab.TokenUnknown, vocab.TokenControl, vocab.TokenControl}
	for b := range 256 {
		s := fmt.Sprintf("<0x%02X>", b)
		pieces, tokens, types = append(pieces, s), append(tokens, s), append(types, vocab.TokenByte)
	}
	extra := []string{" the", "ab", "", " a b", "é"}
	for i := 0; len(pieces) < nVocab; i++ {
		p := extra[i%len(extra)]
		if i >= len(extra) {
			p = fmt.Sprintf(" w%d", i)
		}
		typ := vocab.TokenNormal
		if p == "" {
			typ = vocab.TokenControl
		}
		pieces, tokens, types = append(pieces, p), append(tokens, strings.ReplaceAll(p, " ", "▁")), append(types, typ)
	}
	scores = make([]float32, nVocab)
	for i := 259; i < nVocab; i++ {
		scores[i] = -float32(i - 259)
	}
	return pieces, scores, tokens, types
}

func writeL2CTokenizer(t *testing.T, path string, pieces []string, scores []float32) {
	t.Helper()
	if err := os.WriteFile(path, testsrc.Llama2CTokenizer(pieces, scores), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLlama2CFormats converts random models in each of export.py's
// formats: the tensors must be the weights as they are (dequantized for
// version 2), the vocabulary llama.cpp's, and the logits those of run.c's
// forward pass.
func TestLlama2CFormats(t *testing.T) {
	for _, tc := range []struct {
		name    string
		model   *l2cModel
		version int
	}{
		// dim 128: the legacy header starts 0x80 0x00, a pickle's opening.
		{"legacy unshared", newL2CModel(1, 128, 96, 2, 4, 4, 270, 32, false), 0},
		{"legacy shared gqa", newL2CModel(2, 64, 96, 2, 4, 2, 263, 16, true), 0},
		{"v1 shared gqa", newL2CModel(3, 64, 96, 2, 4, 2, 263, 16, true), 1},
		{"v1 unshared", newL2CModel(4, 32, 48, 1, 2, 1, 265, 8, false), 1},
		{"v2 shared gqa", newL2CModel(5, 64, 96, 2, 4, 2, 263, 16, true), 2},
		{"v2 unshared", newL2CModel(6, 64, 96, 1, 4, 4, 264, 16, false), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			m := tc.model
			bin := filepath.Join(dir, "model.bin")
			switch tc.version {
			case 0:
				m.writeLegacy(t, bin)
			case 1:
				m.writeV1(t, bin)
			case 2:
				m.writeV2(t, bin, 32)
			}
			pieces, scores, tokens, types := l2cPieces(m.vocab)
			writeL2CTokenizer(t, filepath.Join(dir, "tokenizer.bin"), pieces, scores)
			if kind, err := source.Detect(bin); err != nil || kind != source.KindLlama2C {
				t.Fatalf("detected as %v, %v", kind, err)
			}
			out := filepath.Join(dir, "out.gguf")
			res, err := ConvertLlama2C(bin, "", out, LMOptions{Options: quantize.Options{Threads: 2}})
			if err != nil {
				t.Fatal(err)
			}
			f := openGGUF(t, out)
			want := m.expectedTensors()
			if len(f.Tensors) != len(want) || len(res.Tensors) != len(want) {
				t.Errorf("%d tensors, want %d", len(f.Tensors), len(want))
			}
			for name, data := range want {
				ti, ok := f.Tensor(name)
				if !ok || ti.Type != quant.F32 || !bytes.Equal(ti.Data, data) {
					t.Errorf("tensor %s: present %v, differs from the weights", name, ok)
				}
			}
			gotToks, _ := f.Strings("tokenizer.ggml.tokens")
			gotTypes, _ := f.Int32s("tokenizer.ggml.token_type")
			gotScores, _ := f.Float32s("tokenizer.ggml.scores")
			if !slices.Equal(gotToks, tokens) || !slices.Equal(gotTypes, types) || !slices.Equal(gotScores, scores) {
				t.Errorf("vocabulary differs: tokens %q ... types %v ...", gotToks[255:], gotTypes[255:])
			}
			for k, v := range map[string]uint32{"llama.context_length": uint32(m.seq), "llama.rope.dimension_count": uint32(m.dim / m.heads),
				"llama.attention.head_count_kv": uint32(m.kv), "tokenizer.ggml.bos_token_id": 1, "tokenizer.ggml.eos_token_id": 2} {
				if got, err := f.Uint32(k); err != nil || got != v {
					t.Errorf("%s = %d, %v; want %d", k, got, err, v)
				}
			}
			tokensIn := []int32{1, 259, 300 % int32(m.vocab), 65, 7, 260, 2}
			got, wantLogits := logitsOf(t, out, tokensIn), m.logits(tokensIn)
			if e := relDiff(got, wantLogits); e > 2e-5 {
				t.Errorf("logits differ from run.c's forward pass: max rel error %g", e)
			}
		})
	}
}

// TestLlama2CVocabularyFromGGUF copies the vocabulary from a GGUF file, as
// convert-llama2c-to-ggml's --copy-vocab-from-model does.
func TestLlama2CVocabularyFromGGUF(t *testing.T) {
	dir := t.TempDir()
	m := newL2CModel(9, 32, 48, 1, 2, 2, 262, 8, true)
	bin := filepath.Join(dir, "stories.bin")
	m.writeLegacy(t, bin)
	pieces, scores, _, _ := l2cPieces(m.vocab)
	tok := filepath.Join(dir, "tok.bin")
	writeL2CTokenizer(t, tok, pieces, scores)
	first := filepath.Join(dir, "first.gguf")
	if _, err := ConvertLlama2C(bin, tok, first, LMOptions{}); err != nil {
		t.Fatal(err)
	}
	second := filepath.Join(dir, "second.gguf")
	if _, err := ConvertLlama2C(bin, first, second, LMOptions{Name: "copied"}); err != nil {
		t.Fatal(err)
	}
	a, b := openGGUF(t, first), openGGUF(t, second)
	sameKV(t, b, a, keysWithPrefix(a, "tokenizer.")...)
	if name, _ := a.String("general.name"); name != "stories" {
		t.Errorf("general.name %q, want the file's name", name)
	}
	// A GGUF vocabulary of another size is refused.
	other := newL2CModel(9, 32, 48, 1, 2, 2, 300, 8, true)
	otherBin := filepath.Join(dir, "other.bin")
	other.writeLegacy(t, otherBin)
	if _, err := ConvertLlama2C(otherBin, first, filepath.Join(dir, "x.gguf"), LMOptions{}); err == nil || !strings.Contains(err.Error(), "262 tokens, the model has 300") {
		t.Errorf("error %v", err)
	}
}

func TestLlama2CErrors(t *testing.T) {
	m := newL2CModel(3, 32, 48, 1, 2, 1, 262, 8, false)
	pieces, scores, _, _ := l2cPieces(m.vocab)
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string) (bin, tok string)
		want  string
	}{
		{"truncated checkpoint", func(t *testing.T, dir string) (string, string) {
			bin := filepath.Join(dir, "model.bin")
			m.writeLegacy(t, bin)
			st, _ := os.Stat(bin)
			if err := os.Truncate(bin, st.Size()-4); err != nil {
				t.Fatal(err)
			}
			writeL2CTokenizer(t, filepath.Join(dir, "tokenizer.bin"), pieces, scores)
			return bin, ""
		}, "truncated, or not this format"},
		{"truncated v2", func(t *testing.T, dir string) (string, string) {
			bin := filepath.Join(dir, "model.bin")
			m.writeV2(t, bin, 16)
			st, _ := os.Stat(bin)
			if err := os.Truncate(bin, st.Size()-1); err != nil {
				t.Fatal(err)
			}
			writeL2CTokenizer(t, filepath.Join(dir, "tokenizer.bin"), pieces, scores)
			return bin, ""
		}, "truncated, or not this format"},
		{"tiny file", func(t *testing.T, dir string) (string, string) {
			bin := filepath.Join(dir, "model.bin")
			if err := os.WriteFile(bin, []byte{1, 2, 3}, 0o644); err != nil {
				t.Fatal(err)
			}
			return bin, bin
		}, "too short"},
		{"unknown version", func(t *testing.T, dir string) (string, string) {
			bin := filepath.Join(dir, "model.bin")
			h := m.header(3, 0)
			if err := os.WriteFile(bin, h, 0o644); err != nil {
				t.Fatal(err)
			}
			writeL2CTokenizer(t, filepath.Join(dir, "tokenizer.bin"), pieces, scores)
			return bin, ""
		}, "version 3"},
		{"bad group size", func(t *testing.T, dir string) (string, string) {
			bin := filepath.Join(dir, "model.bin")
			m.writeV2(t, bin, 16)
			b, _ := os.ReadFile(bin)
			binary.LittleEndian.PutUint32(b[37:], 0)
			if err := os.WriteFile(bin, b, 0o644); err != nil {
				t.Fatal(err)
			}
			writeL2CTokenizer(t, filepath.Join(dir, "tokenizer.bin"), pieces, scores)
			return bin, ""
		}, "group size 0"},
		{"no tokenizer", func(t *testing.T, dir string) (string, string) {
			bin := filepath.Join(dir, "model.bin")
			m.writeLegacy(t, bin)
			return bin, ""
		}, "name one with --tokenizer"},
		{"truncated tokenizer", func(t *testing.T, dir string) (string, string) {
			bin := filepath.Join(dir, "model.bin")
			m.writeLegacy(t, bin)
			writeL2CTokenizer(t, filepath.Join(dir, "tokenizer.bin"), pieces[:100], scores[:100])
			return bin, ""
		}, "holds 100 tokens, the model has 262"},
		{"tokenizer too long", func(t *testing.T, dir string) (string, string) {
			bin := filepath.Join(dir, "model.bin")
			m.writeLegacy(t, bin)
			writeL2CTokenizer(t, filepath.Join(dir, "tokenizer.bin"), append(pieces, "x"), append(scores, 0))
			return bin, ""
		}, "bytes after the model's 262 tokens"},
		{"token past the end", func(t *testing.T, dir string) (string, string) {
			bin := filepath.Join(dir, "model.bin")
			m.writeLegacy(t, bin)
			tok := filepath.Join(dir, "tokenizer.bin")
			writeL2CTokenizer(t, tok, pieces, scores)
			b, _ := os.ReadFile(tok)
			binary.LittleEndian.PutUint32(b[len(b)-4:], 1000) // the last token is empty: its length ends the file
			if err := os.WriteFile(tok, b, 0o644); err != nil {
				t.Fatal(err)
			}
			return bin, ""
		}, "run past the end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bin, tok := tc.setup(t, dir)
			outDir := t.TempDir()
			_, err := ConvertLlama2C(bin, tok, filepath.Join(outDir, "out.gguf"), LMOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if entries, _ := os.ReadDir(outDir); len(entries) != 0 {
				t.Errorf("a failed conversion left %s", entries[0].Name())
			}
			if kind, _ := source.Detect(bin); kind == source.KindLlama2C {
				if _, err := source.ReadLlama2CConfig(bin); err != nil {
					t.Errorf("detected as llama2.c, but the header does not read: %v", err)
				}
			}
		})
	}
}

func TestDetectSourceHFAndLlama2C(t *testing.T) {
	dir, _ := synthLlama{embd: 32, layers: 1, heads: 2, kv: 1, ff: 40, vocab: 262}.write(t, 1)
	if kind, err := source.Detect(dir); err != nil || kind != source.KindHF {
		t.Errorf("HF directory detected as %v, %v", kind, err)
	}
	if kind, err := source.Detect(t.TempDir()); err != nil || kind != source.KindUnknown {
		t.Errorf("empty directory detected as %v, %v", kind, err)
	}
	// A pickle-looking file is not taken for llama2.c unless its size fits.
	p := filepath.Join(t.TempDir(), "x.pt")
	if err := os.WriteFile(p, []byte{0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0o644); err != nil {
		t.Fatal(err)
	}
	if kind, _ := source.Detect(p); kind != source.KindTorchLegacy {
		t.Errorf("pickle detected as %v", kind)
	}
	if source.KindHF.String() != "Hugging Face model directory" || source.KindLlama2C.String() != "llama2.c checkpoint" {
		t.Error("source kind names")
	}
}
