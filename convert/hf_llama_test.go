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
	"testing"

	"github.com/infer-go/infer/convert/internal/testsrc"
	"github.com/infer-go/infer/convert/source"
	"github.com/infer-go/infer/convert/vocab"
	"github.com/infer-go/infer/quant"
	"github.com/infer-go/infer/quantize"
)

// TestPermuteHFRowsMatchesRotateHalf checks the q/k permutation against
// what it stands for: attention scores of Hugging Face's rotary embedding
// (rotate_half, element i with i+d/2) on Hugging Face's weights must equal
// those of llama.cpp's (adjacent pairs) on the permuted weights.
func TestPermuteHFRowsMatchesRotateHalf(t *testing.T) {
	const heads, hd, in = 3, 8, 5
	r := rand.New(rand.NewPCG(7, 7))
	randMat := func(rows int) []float32 {
		m := make([]float32, rows*in)
		for i := range m {
			m[i] = float32(r.NormFloat64())
		}
		return m
	}
	wq, wk := randMat(heads*hd), randMat(heads*hd)
	x, y := make([]float32, in), make([]float32, in)
	for i := range x {
		x[i], y[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
	}
	matVec := func(w []float32, v []float32) []float64 {
		out := make([]float64, len(w)/in)
		for o := range out {
			for i := range in {
				out[o] += float64(w[o*in+i]) * float64(v[i])
			}
		}
		return out
	}
	permute := func(w []float32) []float32 {
		b, err := permuteHFRows(encodeF32s(w), heads*hd, heads)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]float32, len(w))
		for i := range out {
			out[i] = math.Float32frombits(uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24)
		}
		return out
	}
	angle := func(pos, i int) float64 { return float64(pos) * math.Pow(10000, -2*float64(i)/hd) }
	rotHalf := func(v []float64, pos int) {
		for h := range heads {
			s := v[h*hd : (h+1)*hd]
			for i := range hd / 2 {
				c, sn := math.Cos(angle(pos, i)), math.Sin(angle(pos, i))
				a, b := s[i], s[i+hd/2]
				s[i], s[i+hd/2] = a*c-b*sn, b*c+a*sn
			}
		}
	}
	rotPairs := func(v []float64, pos int) {
		for h := range heads {
			s := v[h*hd : (h+1)*hd]
			for i := range hd / 2 {
				c, sn := math.Cos(angle(pos, i)), math.Sin(angle(pos, i))
				a, b := s[2*i], s[2*i+1]
				s[2*i], s[2*i+1] = a*c-b*sn, b*c+a*sn
			}
		}
	}
	scores := func(q, k []float64) []float64 {
		out := make([]float64, heads)
		for h := range heads {
			for i := range hd {
				out[h] += q[h*hd+i] * k[h*hd+i]
			}
		}
		return out
	}
	for _, pos := range [][2]int{{0, 0}, {3, 1}, {7, 2}, {20, 19}} {
		qh, kh := matVec(wq, x), matVec(wk, y)
		rotHalf(qh, pos[0])
		rotHalf(kh, pos[1])
		qg, kg := matVec(permute(wq), x), matVec(permute(wk), y)
		rotPairs(qg, pos[0])
		rotPairs(kg, pos[1])
		want, got := scores(qh, kh), scores(qg, kg)
		for h := range heads {
			if math.Abs(got[h]-want[h]) > 1e-9*max(1, math.Abs(want[h])) {
				t.Errorf("positions %v head %d: score %g after permuting, %g in Hugging Face's layout", pos, h, got[h], want[h])
			}
		}
	}
	if _, err := permuteHFRows(make([]byte, 4*6*2), 6, 4); err == nil {
		t.Error("6 rows split into 4 heads: no error")
	}
}

// hfLlamaRef is a float64 Llama forward pass written the way transformers'
// modeling_llama computes it (rotate_half RoPE on the Hugging Face weights,
// grouped-query attention, SwiGLU), the reference a converted model is
// checked against.
type hfLlamaRef struct {
	embd, layers, heads, kv, hd, ff, vocab int
	eps                                    float64
	invFreq                                []float64
	tied, bias                             bool
	w                                      map[string][]float32
}

func (r *hfLlamaRef) matVec(name string, x []float64) []float64 {
	w := r.w[name]
	out := make([]float64, len(w)/len(x))
	for o := range out {
		for i, xi := range x {
			out[o] += float64(w[o*len(x)+i]) * xi
		}
	}
	if b, ok := r.w[name[:len(name)-len("weight")]+"bias"]; ok {
		for o := range out {
			out[o] += float64(b[o])
		}
	}
	return out
}

func (r *hfLlamaRef) rmsNorm(x []float64, name string) []float64 {
	var ss float64
	for _, v := range x {
		ss += v * v
	}
	s := 1 / math.Sqrt(ss/float64(len(x))+r.eps)
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v * s * float64(r.w[name][i])
	}
	return out
}

func (r *hfLlamaRef) rope(v []float64, nHeads, pos int) {
	for h := range nHeads {
		s := v[h*r.hd : (h+1)*r.hd]
		for i := range r.hd / 2 {
			c, sn := math.Cos(float64(pos)*r.invFreq[i]), math.Sin(float64(pos)*r.invFreq[i])
			a, b := s[i], s[i+r.hd/2]
			s[i], s[i+r.hd/2] = a*c-b*sn, b*c+a*sn
		}
	}
}

func (r *hfLlamaRef) logits(tokens []int32) [][]float64 {
	var ks, vs [][][]float64 // [layer][pos]
	ks, vs = make([][][]float64, r.layers), make([][][]float64, r.layers)
	var out [][]float64
	for pos, tok := range tokens {
		x := make([]float64, r.embd)
		for i := range x {
			x[i] = float64(r.w["model.embed_tokens.weight"][int(tok)*r.embd+i])
		}
		for l := range r.layers {
			p := fmt.Sprintf("model.layers.%d.", l)
			h := r.rmsNorm(x, p+"input_layernorm.weight")
			q := r.matVec(p+"self_attn.q_proj.weight", h)
			k := r.matVec(p+"self_attn.k_proj.weight", h)
			v := r.matVec(p+"self_attn.v_proj.weight", h)
			r.rope(q, r.heads, pos)
			r.rope(k, r.kv, pos)
			ks[l], vs[l] = append(ks[l], k), append(vs[l], v)
			att := make([]float64, r.heads*r.hd)
			for hh := range r.heads {
				g := hh / (r.heads / r.kv)
				sc := make([]float64, pos+1)
				mx := math.Inf(-1)
				for s := range sc {
					for i := range r.hd {
						sc[s] += q[hh*r.hd+i] * ks[l][s][g*r.hd+i]
					}
					sc[s] /= math.Sqrt(float64(r.hd))
					mx = max(mx, sc[s])
				}
				var sum float64
				for s := range sc {
					sc[s] = math.Exp(sc[s] - mx)
					sum += sc[s]
				}
				for s := range sc {
					for i := range r.hd {
						att[hh*r.hd+i] += sc[s] / sum * vs[l][s][g*r.hd+i]
					}
				}
			}
			o := r.matVec(p+"self_attn.o_proj.weight", att)
			for i := range x {
				x[i] += o[i]
			}
			h = r.rmsNorm(x, p+"post_attention_layernorm.weight")
			gate, up := r.matVec(p+"mlp.gate_proj.weight", h), r.matVec(p+"mlp.up_proj.weight", h)
			for i := range gate {
				gate[i] = gate[i] / (1 + math.Exp(-gate[i])) * up[i]
			}
			d := r.matVec(p+"mlp.down_proj.weight", gate)
			for i := range x {
				x[i] += d[i]
			}
		}
		x = r.rmsNorm(x, "model.norm.weight")
		head := "lm_head.weight"
		if r.tied {
			head = "model.embed_tokens.weight"
		}
		out = append(out, r.matVec(head, x))
	}
	return out
}

// llama3InvFreq is transformers' _compute_llama3_parameters, in float64.
func llama3InvFreq(base float64, dim int, factor, low, high, oldCtx float64) []float64 {
	lowWave, highWave := oldCtx/low, oldCtx/high
	out := make([]float64, dim/2)
	for i := range out {
		f := math.Pow(base, -float64(2*i)/float64(dim))
		wave := 2 * math.Pi / f
		switch {
		case wave < highWave:
			out[i] = f
		case wave > lowWave:
			out[i] = f / factor
		default:
			smooth := (oldCtx/wave - low) / (high - low)
			out[i] = (1-smooth)*f/factor + smooth*f
		}
	}
	return out
}

// byteLevelTokenizerJSON is a small Llama 3-style tokenizer.json: the 256
// byte symbols, two merges, BOS and EOS added tokens.
func byteLevelTokenizerJSON(pre map[string]any) map[string]any {
	ids := map[string]int{}
	for b := range 256 {
		ids[vocab.ByteLevel(string([]byte{byte(b)}))] = b
	}
	ids["\u0120t"], ids["he"] = 256, 257
	return map[string]any{
		"version": "1.0",
		"added_tokens": []map[string]any{
			{"id": 258, "content": "<|begin_of_text|>", "special": true},
			{"id": 259, "content": "<|end_of_text|>", "special": true},
		},
		"normalizer":    nil,
		"pre_tokenizer": pre,
		"post_processor": map[string]any{"type": "Sequence", "processors": []any{
			map[string]any{"type": "ByteLevel", "add_prefix_space": true},
			map[string]any{"type": "TemplateProcessing",
				"single": []any{map[string]any{"SpecialToken": map[string]any{"id": "<|begin_of_text|>", "type_id": 0}},
					map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}}}},
		}},
		"decoder": map[string]any{"type": "ByteLevel"},
		"model": map[string]any{"type": "BPE", "ignore_merges": true, "byte_fallback": false,
			"vocab": ids, "merges": [][]string{{"\u0120", "t"}, {"h", "e"}}},
	}
}

var llama3PreTokenizer = map[string]any{"type": "Sequence", "pretokenizers": []any{
	map[string]any{"type": "Split", "pattern": map[string]any{"Regex": `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`},
		"behavior": "Isolated", "invert": false},
	map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false},
}}

// synthLlama is a random Llama in Hugging Face's layout.
type synthLlama struct {
	embd, layers, heads, kv, ff, vocab int
	tied, bias                         bool
	rope                               map[string]any // config.json rope_scaling, or nil
	// edit, if set, changes the tensors before they are written.
	edit   func([]testsrc.Tensor) []testsrc.Tensor
	shards int
}

// write writes the model as a Hugging Face directory and returns it with
// the reference for it.
func (s synthLlama) write(t *testing.T, seed uint64) (string, *hfLlamaRef) {
	dir := t.TempDir()
	hd := s.embd / s.heads
	rng := rand.New(rand.NewPCG(seed, 99))
	ref := &hfLlamaRef{embd: s.embd, layers: s.layers, heads: s.heads, kv: s.kv, hd: hd, ff: s.ff, vocab: s.vocab,
		eps: 1e-5, tied: s.tied, bias: s.bias, w: map[string][]float32{}}
	var tensors []testsrc.Tensor
	add := func(name string, shape []int, scale float64, offset float32) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = offset + float32(scale*(2*rng.Float64()-1))
		}
		ref.w[name] = v
		tensors = append(tensors, testsrc.Tensor{Name: name, DType: "F32", Shape: shape, Data: encodeF32s(v)})
	}
	in := func(n int) float64 { return 1.5 / math.Sqrt(float64(n)) }
	add("model.embed_tokens.weight", []int{s.vocab, s.embd}, 1, 0)
	add("model.norm.weight", []int{s.embd}, 0.2, 1)
	if !s.tied {
		add("lm_head.weight", []int{s.vocab, s.embd}, in(s.embd), 0)
	}
	for l := range s.layers {
		p := fmt.Sprintf("model.layers.%d.", l)
		add(p+"input_layernorm.weight", []int{s.embd}, 0.2, 1)
		add(p+"self_attn.q_proj.weight", []int{s.heads * hd, s.embd}, in(s.embd), 0)
		add(p+"self_attn.k_proj.weight", []int{s.kv * hd, s.embd}, in(s.embd), 0)
		add(p+"self_attn.v_proj.weight", []int{s.kv * hd, s.embd}, in(s.embd), 0)
		add(p+"self_attn.o_proj.weight", []int{s.embd, s.heads * hd}, in(s.embd), 0)
		if s.bias {
			add(p+"self_attn.q_proj.bias", []int{s.heads * hd}, 0.5, 0)
			add(p+"self_attn.k_proj.bias", []int{s.kv * hd}, 0.5, 0)
			add(p+"self_attn.v_proj.bias", []int{s.kv * hd}, 0.5, 0)
		}
		add(p+"post_attention_layernorm.weight", []int{s.embd}, 0.2, 1)
		add(p+"mlp.gate_proj.weight", []int{s.ff, s.embd}, in(s.embd), 0)
		add(p+"mlp.up_proj.weight", []int{s.ff, s.embd}, in(s.embd), 0)
		add(p+"mlp.down_proj.weight", []int{s.embd, s.ff}, in(s.ff), 0)
		// transformers once saved this buffer; the converter drops it.
		tensors = append(tensors, testsrc.Tensor{Name: p + "self_attn.rotary_emb.inv_freq", DType: "F32", Shape: []int{hd / 2}, Data: make([]byte, 4*hd/2)})
	}
	if s.edit != nil {
		tensors = s.edit(tensors)
	}
	testsrc.WriteHFWeights(t, dir, tensors, s.shards)
	cfg := map[string]any{
		"architectures": []string{"LlamaForCausalLM"}, "model_type": "llama",
		"hidden_size": s.embd, "num_hidden_layers": s.layers, "num_attention_heads": s.heads,
		"num_key_value_heads": s.kv, "intermediate_size": s.ff, "vocab_size": s.vocab,
		"max_position_embeddings": 64, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
		"tie_word_embeddings": s.tied, "attention_bias": s.bias,
		"bos_token_id": 258, "eos_token_id": []int{259, 257},
	}
	ref.invFreq = make([]float64, hd/2)
	for i := range ref.invFreq {
		ref.invFreq[i] = math.Pow(500000, -float64(2*i)/float64(hd))
	}
	if s.rope != nil {
		cfg["rope_scaling"] = s.rope
		ref.invFreq = llama3InvFreq(500000, hd, s.rope["factor"].(float64), s.rope["low_freq_factor"].(float64),
			s.rope["high_freq_factor"].(float64), s.rope["original_max_position_embeddings"].(float64))
	}
	testsrc.WriteJSON(t, filepath.Join(dir, "config.json"), cfg)
	testsrc.WriteJSON(t, filepath.Join(dir, "tokenizer.json"), byteLevelTokenizerJSON(llama3PreTokenizer))
	testsrc.WriteJSON(t, filepath.Join(dir, "tokenizer_config.json"), map[string]any{
		"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>",
		"chat_template": []map[string]any{{"name": "default", "template": "{{ messages }}"}, {"name": "tool use", "template": "{{ tools }}"}},
	})
	return dir, ref
}

// TestHFLlamaMatchesTransformersForward converts random Llama models with
// grouped-query attention, tied or separate output, q/k/v biases and
// Llama 3 rope scaling, and compares the converted model's logits with a
// float64 forward pass on the Hugging Face weights as transformers
// computes it.
func TestHFLlamaMatchesTransformersForward(t *testing.T) {
	llama3 := map[string]any{"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
		"original_max_position_embeddings": 1024.0}
	for _, s := range []synthLlama{
		{embd: 64, layers: 2, heads: 4, kv: 2, ff: 96, vocab: 262, tied: true, rope: llama3},
		{embd: 48, layers: 2, heads: 6, kv: 3, ff: 80, vocab: 262, bias: true},
		{embd: 32, layers: 1, heads: 2, kv: 2, ff: 40, vocab: 262},
	} {
		t.Run(fmt.Sprintf("embd%d_heads%d_kv%d_tied%v_bias%v_llama3rope%v", s.embd, s.heads, s.kv, s.tied, s.bias, s.rope != nil), func(t *testing.T) {
			dir, ref := s.write(t, uint64(s.embd))
			out, _ := convertHFTo(t, dir, LMOptions{Name: "synthetic"})
			f := openGGUF(t, out)
			if _, ok := f.Tensor("output.weight"); ok == s.tied {
				t.Errorf("output.weight present: %v, tied: %v", ok, s.tied)
			}
			rf, hasFreqs := f.Tensor("rope_freqs.weight")
			if hasFreqs != (s.rope != nil) {
				t.Fatalf("rope_freqs.weight present: %v", hasFreqs)
			}
			if hasFreqs {
				got := decode(t, rf)
				for i := range got {
					want := math.Pow(500000, -float64(2*i)/float64(s.embd/s.heads)) / ref.invFreq[i]
					if math.Abs(float64(got[i])-want) > 1e-5*want {
						t.Errorf("rope_freqs[%d] = %g, want %g", i, got[i], want)
					}
				}
			}
			if s.bias {
				if _, ok := f.Tensor("blk.1.attn_k.bias"); !ok {
					t.Error("no blk.1.attn_k.bias")
				}
			}
			if name, _ := f.String("general.name"); name != "synthetic" {
				t.Errorf("general.name %q", name)
			}
			tokens := []int32{258, 72, 256, 101, 257, 3, 200, 259, 10}
			got := logitsOf(t, out, tokens)
			want := ref.logits(tokens)
			var flat []float32
			for _, row := range want {
				for _, v := range row {
					flat = append(flat, float32(v))
				}
			}
			if len(got) != len(flat) {
				t.Fatalf("%d logits, want %d", len(got), len(flat))
			}
			if e := relDiff(got, flat); e > 2e-5 {
				t.Errorf("logits differ from the transformers-style forward pass: max rel error %g", e)
			}
		})
	}
}

// TestHFLlama3Vocabulary checks the byte-level vocabulary of a Llama 3-style
// tokenizer.json: tokens, padding, types, merges, pre-tokenizer, special
// tokens and the named chat templates.
func TestHFLlama3Vocabulary(t *testing.T) {
	dir, _ := synthLlama{embd: 32, layers: 1, heads: 2, kv: 1, ff: 40, vocab: 262}.write(t, 3)
	out, _ := convertHFTo(t, dir, LMOptions{})
	f := openGGUF(t, out)
	str := func(k string) string {
		s, err := f.String(k)
		if err != nil {
			t.Error(err)
		}
		return s
	}
	if m, p := str("tokenizer.ggml.model"), str("tokenizer.ggml.pre"); m != "gpt2" || p != "llama-bpe" {
		t.Errorf("tokenizer %q, pre %q; want gpt2, llama-bpe", m, p)
	}
	toks, _ := f.Strings("tokenizer.ggml.tokens")
	types, _ := f.Int32s("tokenizer.ggml.token_type")
	if len(toks) != 262 || toks[256] != "\u0120t" || toks[258] != "<|begin_of_text|>" || toks[261] != "[PAD261]" || toks[32] != vocab.ByteLevel(" ") {
		t.Errorf("tokens: %d, [256] %q, [258] %q, [261] %q, [32] %q", len(toks), toks[256], toks[258], toks[261], toks[32])
	}
	if types[0] != vocab.TokenNormal || types[258] != vocab.TokenControl || types[259] != vocab.TokenControl || types[260] != vocab.TokenUnused {
		t.Errorf("token types %v ... %v", types[:3], types[256:])
	}
	merges, _ := f.Strings("tokenizer.ggml.merges")
	if !slices.Equal(merges, []string{"\u0120 t", "h e"}) {
		t.Errorf("merges %q", merges)
	}
	for k, want := range map[string]uint32{"tokenizer.ggml.bos_token_id": 258, "tokenizer.ggml.eos_token_id": 259} {
		if v, err := f.Uint32(k); err != nil || v != want {
			t.Errorf("%s = %d, %v; want %d", k, v, err, want)
		}
	}
	if b, err := f.Bool("tokenizer.ggml.add_bos_token"); err != nil || !b {
		t.Errorf("add_bos_token %v, %v: the template processor adds BOS", b, err)
	}
	if str("tokenizer.chat_template") != "{{ messages }}" || str("tokenizer.chat_template.tool_use") != "{{ tools }}" {
		t.Error("chat templates")
	}
	if names, err := f.Strings("tokenizer.chat_templates"); err != nil || !slices.Equal(names, []string{"tool_use"}) {
		t.Errorf("tokenizer.chat_templates %q, %v", names, err)
	}
}

// TestHFLlamaQuantizedMatchesQuantize checks that a quantized --type gives
// the file `infer quantize` makes of the converted model.
func TestHFLlamaQuantizedMatchesQuantize(t *testing.T) {
	dir, _ := synthLlama{embd: 64, layers: 2, heads: 4, kv: 2, ff: 256, vocab: 262}.write(t, 5)
	f32, _ := convertHFTo(t, dir, LMOptions{})
	for _, name := range []string{"Q4_K_M", "Q8_0", "F16"} {
		ft, err := ParseQuantFileType(name)
		if err != nil {
			t.Fatal(err)
		}
		direct, res := convertHFTo(t, dir, LMOptions{Type: ft})
		viaQuantize := filepath.Join(t.TempDir(), "q.gguf")
		if _, err := quantize.File(f32, viaQuantize, ft, quantize.Options{Threads: 2}); err != nil {
			t.Fatal(err)
		}
		g, w := openGGUF(t, direct), openGGUF(t, viaQuantize)
		sameTensors(t, g, w)
		sameKV(t, g, w, "general.file_type")
		fallbacks := 0
		for _, p := range res.Tensors {
			if p.Fallback {
				fallbacks++
			}
		}
		t.Logf("%s: %d tensors, %d fallbacks", name, len(res.Tensors), fallbacks)
	}
	if st, err := os.Stat(f32); err != nil || st.Size() == 0 {
		t.Fatal(err)
	}
}

// TestLlama3RopeFactors checks rope_freqs for Llama 3.1 8B's settings
// against transformers' formula in float64.
func TestLlama3RopeFactors(t *testing.T) {
	c := source.HFConfig{}
	rope := source.HFConfig{"factor": []byte("8.0"), "low_freq_factor": []byte("1.0"), "high_freq_factor": []byte("4.0"),
		"original_max_position_embeddings": []byte("8192"), "rope_type": []byte(`"llama3"`)}
	got, err := llama3RopeFactors(c, rope, 500000, 128)
	if err != nil {
		t.Fatal(err)
	}
	want := llama3InvFreq(500000, 128, 8, 1, 4, 8192)
	if len(got) != 64 || got[0] != 1 || got[63] != 8 {
		t.Fatalf("%d factors, first %g, last %g", len(got), got[0], got[63])
	}
	smooth := 0
	for i := range got {
		w := math.Pow(500000, -float64(2*i)/128) / want[i]
		if math.Abs(float64(got[i])-w) > 2e-6*w {
			t.Errorf("factor %d = %g, want %g", i, got[i], w)
		}
		if got[i] != 1 && got[i] != 8 {
			smooth++
		}
	}
	if smooth == 0 {
		t.Error("no interpolated factors: the test does not reach the smooth band")
	}
	if _, err := llama3RopeFactors(c, source.HFConfig{"factor": []byte("0")}, 500000, 128); err == nil {
		t.Error("factor 0: no error")
	}
}

// TestHFBF16Source converts BF16 weights: by default they stay BF16 (norms
// become F32, exactly), with general.file_type MOSTLY_BF16.
func TestHFBF16Source(t *testing.T) {
	toBF16 := func(ts []testsrc.Tensor) []testsrc.Tensor {
		for i := range ts {
			if ts[i].DType != "F32" {
				continue
			}
			n := len(ts[i].Data) / 4
			out := make([]byte, 2*n)
			for j := range n {
				x := math.Float32frombits(binary.LittleEndian.Uint32(ts[i].Data[4*j:]))
				binary.LittleEndian.PutUint16(out[2*j:], quant.F32ToBF16(x))
			}
			ts[i].DType, ts[i].Data = "BF16", out
		}
		return ts
	}
	var src []testsrc.Tensor
	keep := func(ts []testsrc.Tensor) []testsrc.Tensor { ts = toBF16(ts); src = ts; return ts }
	dir, _ := synthLlama{embd: 32, layers: 1, heads: 2, kv: 1, ff: 40, vocab: 262, edit: keep}.write(t, 8)
	out, _ := convertHFTo(t, dir, LMOptions{})
	f := openGGUF(t, out)
	if ft, _ := f.Uint32("general.file_type"); ft != 32 {
		t.Errorf("file type %d, want 32 (BF16)", ft)
	}
	for _, x := range src {
		gg := map[string]string{"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
			"model.layers.0.mlp.down_proj.weight": "blk.0.ffn_down.weight", "model.layers.0.input_layernorm.weight": "blk.0.attn_norm.weight"}[x.Name]
		if gg == "" {
			continue
		}
		ti, ok := f.Tensor(gg)
		if !ok {
			t.Fatalf("no %s", gg)
		}
		if len(x.Shape) == 1 {
			if ti.Type != quant.F32 {
				t.Errorf("%s: %s, want F32", gg, ti.Type)
			}
			for j, v := range decode(t, ti) {
				if quant.BF16ToF32(binary.LittleEndian.Uint16(x.Data[2*j:])) != v {
					t.Fatalf("%s[%d] changed", gg, j)
				}
			}
		} else if ti.Type != quant.BF16 || !bytes.Equal(ti.Data, x.Data) {
			t.Errorf("%s: %s, not the source's BF16 bytes", gg, ti.Type)
		}
	}
}
