package synth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/infer-go/infer"
	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/internal/testref"
	"github.com/infer-go/infer/quant"
)

func openGGUF(t *testing.T, path string) *gguf.File {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// smallVocab writes a vocabulary of llama.cpp's SentencePiece vocabulary's
// first n tokens, for tests that only write models: a small embedding
// makes them fast.
func smallVocab(t *testing.T, n int) string {
	t.Helper()
	src := openGGUF(t, testref.Path(t, "vocab", "ggml-vocab-llama-spm.gguf"))
	scores, err := src.Float32s("tokenizer.ggml.scores")
	if err != nil {
		t.Fatal(err)
	}
	types, err := src.Int32s("tokenizer.ggml.token_type")
	if err != nil {
		t.Fatal(err)
	}
	w := gguf.NewWriter()
	w.AddKV("tokenizer.ggml.model", gguf.ValueOf("llama"))
	w.AddKV("tokenizer.ggml.tokens", gguf.ValueOf(mustStrings(t, src, "tokenizer.ggml.tokens")[:n]))
	w.AddKV("tokenizer.ggml.scores", gguf.ValueOf(scores[:n]))
	w.AddKV("tokenizer.ggml.token_type", gguf.ValueOf(types[:n]))
	path := filepath.Join(t.TempDir(), "vocab.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func write(t *testing.T, spec Spec) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.gguf")
	if _, err := Write(path, spec); err != nil {
		t.Fatalf("%+v: %v", spec, err)
	}
	return path
}

// realFile is one model of ../shared/archs/real-files.json: what llama.cpp's
// gguf-py wrote (and llama-quantize made Q4_K_M) for the architecture.
type realFile struct {
	Metadata []struct {
		Key    string          `json:"key"`
		Type   string          `json:"type"`
		Value  json.RawMessage `json:"value"`
		Length int             `json:"length"`
	} `json:"metadata"`
	Tensors []struct {
		Name  string   `json:"name"`
		Type  string   `json:"type"`
		Shape []uint64 `json:"shape"`
	} `json:"tensors_of_block_0_and_globals"`
	NTensors int `json:"n_tensors"`
}

// TestMatchesLlamaCppFiles synthesizes each architecture at the dimensions
// of the files llama.cpp's own tools wrote and requires the same
// architecture keys (the dimensions with the same values), the same tensor
// names, shapes and Q4_K_M types for the globals and block 0, and the same
// number of tensors.
func TestMatchesLlamaCppFiles(t *testing.T) {
	data, err := os.ReadFile(testref.Path(t, "archs", "real-files.json"))
	if err != nil {
		t.Fatal(err)
	}
	var real map[string]realFile
	if err := json.Unmarshal(data, &real); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		spec  Spec
		vocab string
	}{
		{"tiny-qwen2", Spec{Shape: "qwen2.5-0.5b", Untied: true}, "ggml-vocab-gpt-2.gguf"},
		{"tiny-qwen2-tied", Spec{Shape: "qwen2.5-0.5b"}, "ggml-vocab-gpt-2.gguf"},
		{"tiny-llama3", Spec{Shape: "llama-3.2-1b", Untied: true}, "ggml-vocab-gpt-2.gguf"},
		{"tiny-phi3", Spec{Shape: "phi-3-mini"}, "ggml-vocab-phi-3.gguf"},
		{"tiny-gemma2", Spec{Shape: "gemma-2-2b"}, "ggml-vocab-llama-spm.gguf"},
		{"tiny-starcoder2", Spec{Shape: "starcoder2-3b"}, "ggml-vocab-gpt-2.gguf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref, ok := real[tc.name]
			if !ok {
				t.Fatalf("%s is not in real-files.json", tc.name)
			}
			refKV := map[string]json.RawMessage{}
			refType := map[string]string{}
			for _, m := range ref.Metadata {
				refKV[m.Key], refType[m.Key] = m.Value, m.Type
			}
			num := func(key string) int {
				var v int
				if err := json.Unmarshal(refKV[key], &v); err != nil {
					t.Fatalf("%s: %v", key, err)
				}
				return v
			}
			var arch string
			json.Unmarshal(refKV["general.architecture"], &arch)
			spec := tc.spec
			spec.Embd, spec.Layers, spec.FF = num(arch+".embedding_length"), num(arch+".block_count"), num(arch+".feed_forward_length")
			spec.Heads, spec.HeadsKV, spec.Ctx = num(arch+".attention.head_count"), num(arch+".attention.head_count_kv"), num(arch+".context_length")
			if _, ok := refKV[arch+".attention.key_length"]; ok {
				spec.HeadDim = num(arch + ".attention.key_length")
			}
			spec.Type, spec.Seed, spec.Threads = "q4_k_m", 1, 2
			spec.VocabFile = testref.Path(t, "vocab", tc.vocab)
			f := openGGUF(t, write(t, spec))
			nVocab := len(mustStrings(t, f, "tokenizer.ggml.tokens"))

			var got, want []string
			for _, kv := range f.KV {
				if strings.HasPrefix(kv.Key, arch+".") {
					got = append(got, kv.Key+" "+kv.Value.TypeName())
				}
			}
			for _, m := range ref.Metadata {
				if strings.HasPrefix(m.Key, arch+".") {
					want = append(want, m.Key+" "+strings.ToLower(m.Type))
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(lower(got), want) {
				t.Errorf("architecture keys\n got %q\nwant %q", got, want)
			}
			for _, key := range []string{"context_length", "embedding_length", "block_count", "feed_forward_length",
				"attention.head_count", "attention.head_count_kv", "attention.key_length", "attention.value_length",
				"rope.dimension_count", "rope.freq_base", "attention.layer_norm_rms_epsilon", "attention.layer_norm_epsilon",
				"attn_logit_softcapping", "final_logit_softcapping", "rope.scaling.original_context_length"} {
				raw, ok := refKV[arch+"."+key]
				if !ok {
					continue
				}
				var want float64
				json.Unmarshal(raw, &want)
				v, ok := f.Value(arch + "." + key)
				if !ok || fmt.Sprint(v.Data) != fmt.Sprint(castLike(v.Data, want)) {
					t.Errorf("%s.%s = %v, llama.cpp's file has %v", arch, key, v.Data, want)
				}
			}
			if len(f.Tensors) != ref.NTensors {
				t.Errorf("%d tensors, llama.cpp's file has %d", len(f.Tensors), ref.NTensors)
			}
			for _, rt := range ref.Tensors {
				ti, ok := f.Tensor(rt.Name)
				if !ok {
					t.Errorf("no %s", rt.Name)
					continue
				}
				dims := slices.Clone(rt.Shape)
				if len(dims) == 2 && (rt.Name == "token_embd.weight" || rt.Name == "output.weight") {
					dims[1] = uint64(nVocab) // the vocabulary here is another file's
				}
				if !slices.Equal(ti.Dims, dims) || ti.Type.String() != rt.Type {
					t.Errorf("%s: %s %v, llama.cpp's file has %s %v", rt.Name, ti.Type, ti.Dims, rt.Type, dims)
				}
			}
		})
	}
}

func lower(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = strings.ToLower(x)
	}
	return out
}

// castLike converts a JSON number to the Go type of a GGUF value.
func castLike(v any, x float64) any {
	switch v.(type) {
	case uint32:
		return uint32(x)
	case float32:
		return float32(x)
	}
	return x
}

func mustStrings(t *testing.T, f *gguf.File, key string) []string {
	t.Helper()
	s, err := f.Strings(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDeterministic: the same spec writes the same bytes with any thread
// count; another seed writes other weights.
func TestDeterministic(t *testing.T) {
	spec := Spec{Shape: "stories15m", Embd: 64, Heads: 4, FF: 96, Layers: 2, Type: "q4_0", Seed: 7, VocabFile: smallVocab(t, 500)}
	var first []byte
	for _, threads := range []int{1, 3} {
		spec.Threads = threads
		b, err := os.ReadFile(write(t, spec))
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = b
		} else if !bytes.Equal(b, first) {
			t.Errorf("%d threads: the file differs from 1 thread's", threads)
		}
	}
	spec.Seed = 8
	other, err := os.ReadFile(write(t, spec))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(other, first) || len(other) != len(first) {
		t.Errorf("seed 8: %d bytes, same as seed 7's: %v", len(other), bytes.Equal(other, first))
	}
}

// TestTypes writes a model in every type and checks the types the mixture
// rules give the weight matrices.
func TestTypes(t *testing.T) {
	vocab := smallVocab(t, 300)
	for _, tc := range []struct {
		typ         string
		attnQ, outp quant.Type
	}{
		{"f32", quant.F32, quant.F32}, {"f16", quant.F16, quant.F16}, {"bf16", quant.BF16, quant.BF16},
		{"q8_0", quant.Q8_0, quant.Q8_0}, {"q4_0", quant.Q4_0, quant.Q6_K}, {"q4_1", quant.Q4_1, quant.Q6_K},
		{"q5_0", quant.Q5_0, quant.Q6_K}, {"q5_1", quant.Q5_1, quant.Q6_K}, {"q2_k", quant.Q2_K, quant.Q6_K},
		{"q3_k_s", quant.Q3_K, quant.Q6_K}, {"q3_k_m", quant.Q3_K, quant.Q6_K}, {"q3_k_l", quant.Q3_K, quant.Q6_K},
		{"q4_k_s", quant.Q4_K, quant.Q6_K}, {"q4_k_m", quant.Q4_K, quant.Q6_K}, {"q5_k_s", quant.Q5_K, quant.Q6_K},
		{"q5_k_m", quant.Q5_K, quant.Q6_K}, {"q6_k", quant.Q6_K, quant.Q6_K},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			f := openGGUF(t, write(t, Spec{Shape: "tinyllama-1.1b", Embd: 256, Heads: 4, HeadsKV: 2, FF: 512, Layers: 1,
				Type: tc.typ, Seed: 1, VocabFile: vocab, Threads: 2}))
			q, _ := f.Tensor("blk.0.attn_q.weight")
			o, _ := f.Tensor("output.weight")
			n, _ := f.Tensor("blk.0.attn_norm.weight")
			if q.Type != tc.attnQ || o.Type != tc.outp || n.Type != quant.F32 {
				t.Errorf("attn_q %s, output %s, attn_norm %s; want %s, %s, F32", q.Type, o.Type, n.Type, tc.attnQ, tc.outp)
			}
		})
	}
}

func TestSpecErrors(t *testing.T) {
	vocab := smallVocab(t, 300)
	for _, tc := range []struct {
		spec Spec
		want string
	}{
		{Spec{Shape: "gpt5"}, `unknown shape "gpt5"`},
		{Spec{Shape: "tinyllama-1.1b", Arch: "mamba"}, `architecture "mamba"`},
		{Spec{Shape: "gemma-2-2b", Layers: 4}, "only with 26, 42 or 46 layers"},
		{Spec{Shape: "tinyllama-1.1b", Heads: 5}, "not a multiple of 5 heads"},
		{Spec{Shape: "tinyllama-1.1b", Heads: 8, HeadsKV: 3}, "not a multiple of 3 key/value heads"},
		{Spec{Shape: "phi-3-mini", HeadDim: 64}, "needs heads x head width = n_embd"},
		{Spec{Shape: "tinyllama-1.1b", Layers: -1}, "layers -1"},
		{Spec{Shape: "tinyllama-1.1b", HeadDim: 33}, "even"},
		{Spec{Shape: "stories15m", Type: "q9"}, "unknown quantization type"},
		{Spec{Shape: "stories15m", Type: "q8_0"}, "no vocabulary"},
		{Spec{Shape: "gemma-2-2b", Untied: true}, "gemma2 always"},
	} {
		spec := tc.spec
		if !strings.Contains(tc.want, "vocabulary") {
			spec.VocabFile = vocab
		}
		dir := t.TempDir()
		_, err := Write(filepath.Join(dir, "m.gguf"), spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one containing %q", tc.spec, err, tc.want)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%+v: a failed write left %s", tc.spec, entries[0].Name())
		}
	}
}

// TestTrainedLikeStatistics runs stories15m's shape (F32 weights) with
// infer: the logits of a prompt are finite, spread over a few units and
// not the same distribution at every position, and layer 0's attention,
// computed here from the file's weights, is far from uniform.
func TestTrainedLikeStatistics(t *testing.T) {
	path := write(t, Spec{Shape: "stories15m", Type: "f32", Seed: 1, Threads: 2,
		VocabFile: testref.Path(t, "vocab", "ggml-vocab-llama-spm.gguf")})
	m, err := infer.Load(path, infer.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tokens := m.Tokenize("Once upon a time, there was a little girl who lived in a village near the forest.", true, false)
	logits, err := m.Logits(tokens)
	if err != nil {
		t.Fatal(err)
	}
	vocab := len(logits) / len(tokens)
	argmaxes := map[int]bool{}
	for p := range tokens {
		row := logits[p*vocab : (p+1)*vocab]
		mean, std := meanStd(row)
		top := testref.Argmax(row)
		argmaxes[top] = true
		pTop := math.Exp(testref.LogSoftmax(row)[top])
		if math.IsNaN(std) || math.IsInf(mean, 0) || std < 1 || std > 6 || pTop > 0.9 {
			t.Errorf("position %d: logits mean %.3g, sd %.3g, top probability %.3g: want finite, sd 1..6, top < 0.9", p, mean, std, pTop)
		}
		if p == len(tokens)-1 {
			t.Logf("last position: logits mean %.3f, sd %.3f, top token %d with p = %.3f", mean, std, top, pTop)
		}
	}
	if len(argmaxes) < len(tokens)/3 {
		t.Errorf("%d distinct top tokens over %d positions: the outputs hardly depend on the input", len(argmaxes), len(tokens))
	}

	maxP, entropy := layer0Attention(t, openGGUF(t, path), tokens)
	n := float64(len(tokens))
	t.Logf("layer 0, last position, %d keys: mean max probability %.3f (uniform %.3f), mean entropy %.3f (uniform %.3f)",
		len(tokens), maxP, 1/n, entropy, math.Log(n))
	if maxP < 3/n || entropy > 0.85*math.Log(n) {
		t.Errorf("layer 0 attention is nearly uniform: max probability %.3f, entropy %.3f of %.3f", maxP, entropy, math.Log(n))
	}
}

func meanStd(x []float32) (mean, std float64) {
	for _, v := range x {
		mean += float64(v)
	}
	mean /= float64(len(x))
	for _, v := range x {
		std += (float64(v) - mean) * (float64(v) - mean)
	}
	return mean, math.Sqrt(std / float64(len(x)))
}

// layer0Attention computes llama's first attention layer in float64 from
// the file's weights and returns, for the last position, the mean over
// heads of the largest attention probability and of the entropy.
func layer0Attention(t *testing.T, f *gguf.File, tokens []int32) (maxP, entropy float64) {
	t.Helper()
	weights := func(name string) ([]float32, []uint64) {
		ti, ok := f.Tensor(name)
		if !ok {
			t.Fatalf("no %s", name)
		}
		x := make([]float32, ti.NumElements())
		if err := quant.Dequantize(ti.Type, x, ti.Data); err != nil {
			t.Fatal(err)
		}
		return x, ti.Dims
	}
	u32 := func(key string) int {
		v, err := f.Uint32(key)
		if err != nil {
			t.Fatal(err)
		}
		return int(v)
	}
	E, H, Hkv := u32("llama.embedding_length"), u32("llama.attention.head_count"), u32("llama.attention.head_count_kv")
	hd := E / H
	base, _ := f.Float32("llama.rope.freq_base")
	emb, _ := weights("token_embd.weight")
	norm, _ := weights("blk.0.attn_norm.weight")
	wq, _ := weights("blk.0.attn_q.weight")
	wk, _ := weights("blk.0.attn_k.weight")
	matVec := func(w []float32, x []float64) []float64 {
		out := make([]float64, len(w)/len(x))
		for o := range out {
			for i, xi := range x {
				out[o] += float64(w[o*len(x)+i]) * xi
			}
		}
		return out
	}
	rope := func(v []float64, pos int) {
		for i := 0; i < len(v); i += 2 {
			theta := float64(pos) * math.Pow(float64(base), -float64(i%hd)/float64(hd))
			c, s := math.Cos(theta), math.Sin(theta)
			v[i], v[i+1] = v[i]*c-v[i+1]*s, v[i]*s+v[i+1]*c
		}
	}
	var qs, ks [][]float64
	for pos, tok := range tokens {
		x := make([]float64, E)
		var ss float64
		for i := range x {
			x[i] = float64(emb[int(tok)*E+i])
			ss += x[i] * x[i]
		}
		scale := 1 / math.Sqrt(ss/float64(E)+1e-5)
		for i := range x {
			x[i] *= scale * float64(norm[i])
		}
		q, k := matVec(wq, x), matVec(wk, x)
		rope(q, pos)
		rope(k, pos)
		qs, ks = append(qs, q), append(ks, k)
	}
	last := len(tokens) - 1
	for h := range H {
		g := h / (H / Hkv)
		scores := make([]float64, len(tokens))
		best := math.Inf(-1)
		for p := range scores {
			for i := range hd {
				scores[p] += qs[last][h*hd+i] * ks[p][g*hd+i]
			}
			scores[p] /= math.Sqrt(float64(hd))
			best = max(best, scores[p])
		}
		var sum float64
		for p := range scores {
			scores[p] = math.Exp(scores[p] - best)
			sum += scores[p]
		}
		top := 0.0
		for _, s := range scores {
			pr := s / sum
			top = max(top, pr)
			if pr > 0 {
				entropy -= pr * math.Log(pr) / float64(H)
			}
		}
		maxP += top / float64(H)
	}
	return maxP, entropy
}

// TestVocabulary: the tokenizer.* keys are the vocabulary file's, as they
// are, and llama's vocab_size is its token count.
func TestVocabulary(t *testing.T) {
	vocabPath := testref.Path(t, "vocab", "ggml-vocab-gpt-2.gguf")
	f := openGGUF(t, write(t, Spec{Shape: "stories15m", Layers: 1, Type: "q8_0", Seed: 1, VocabFile: vocabPath}))
	v := openGGUF(t, vocabPath)
	for _, kv := range v.KV {
		if !strings.HasPrefix(kv.Key, "tokenizer.") {
			continue
		}
		if got, ok := f.Value(kv.Key); !ok || !reflect.DeepEqual(got, kv.Value) {
			t.Errorf("%s differs from the vocabulary file's", kv.Key)
		}
	}
	if n, _ := f.Uint32("llama.vocab_size"); n != 50257 {
		t.Errorf("llama.vocab_size %d, want 50257", n)
	}
	if e, _ := f.Tensor("token_embd.weight"); e == nil || e.Dims[1] != 50257 {
		t.Error("token_embd.weight does not have one row per token")
	}
}
