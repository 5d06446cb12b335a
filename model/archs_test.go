package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/quant"
)

// decoderTensors returns the tensors of a tiny qwen2, phi3, gemma2 or
// starcoder2 model, named and shaped as llama.cpp's converter writes them
// (../shared/archs/real-files.json), with deterministic random values:
// norms near 1, biases and weights small, so activations stay O(1).
func (s tinySpec) decoderTensors() []tensor {
	rng := rand.New(rand.NewPCG(2, uint64(len(s.arch))))
	hd := s.headDim
	if hd == 0 {
		hd = s.embd / s.heads
	}
	e, q, kv, ff := s.embd, s.heads*hd, s.headsKV*hd, s.ff
	var ts []tensor
	add := func(name string, scale, offset float64, dims ...int) {
		d := make([]uint64, len(dims))
		n := 1
		for i, x := range dims {
			d[i] = uint64(x)
			n *= x
		}
		if o, ok := s.shapes[name]; ok {
			d = o
			n = 1
			for _, x := range o {
				n *= int(x)
			}
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(offset + scale*rng.NormFloat64())
		}
		ts = append(ts, tensor{name, d, v})
	}
	layerNorm := s.arch == "starcoder2"
	add("token_embd.weight", 1, 0, e, s.vocab)
	add("output_norm.weight", 0.1, 1, e)
	if layerNorm {
		add("output_norm.bias", 0.1, 0, e)
	}
	if !s.tied {
		add("output.weight", 0.2, 0, e, s.vocab)
	}
	if s.ropeFactors {
		add("rope_factors_long.weight", 2, 8, hd/2)
		add("rope_factors_short.weight", 0.3, 1.5, hd/2)
	}
	w := 1 / math.Sqrt(float64(e))
	for l := range s.layers {
		b := func(n string) string { return fmt.Sprintf("blk.%d.%s", l, n) }
		add(b("attn_norm.weight"), 0.1, 1, e)
		add(b("ffn_norm.weight"), 0.1, 1, e)
		if layerNorm {
			add(b("attn_norm.bias"), 0.1, 0, e)
			add(b("ffn_norm.bias"), 0.1, 0, e)
		}
		if s.arch == "phi3" {
			add(b("attn_qkv.weight"), w, 0, e, q+2*kv)
		} else {
			add(b("attn_q.weight"), w, 0, e, q)
			add(b("attn_k.weight"), w, 0, e, kv)
			add(b("attn_v.weight"), w, 0, e, kv)
		}
		if s.arch == "qwen2" || s.arch == "starcoder2" {
			add(b("attn_q.bias"), 0.1, 0, q)
			add(b("attn_k.bias"), 0.1, 0, kv)
			add(b("attn_v.bias"), 0.1, 0, kv)
		}
		add(b("attn_output.weight"), 1/math.Sqrt(float64(q)), 0, q, e)
		switch s.arch {
		case "phi3":
			add(b("ffn_up.weight"), w, 0, e, 2*ff)
		case "starcoder2":
			add(b("attn_output.bias"), 0.1, 0, e)
			add(b("ffn_up.weight"), w, 0, e, ff)
			add(b("ffn_up.bias"), 0.1, 0, ff)
			add(b("ffn_down.bias"), 0.1, 0, e)
		default:
			add(b("ffn_gate.weight"), w, 0, e, ff)
			add(b("ffn_up.weight"), w, 0, e, ff)
		}
		add(b("ffn_down.weight"), 1/math.Sqrt(float64(ff)), 0, ff, e)
		if s.arch == "gemma2" {
			add(b("post_attention_norm.weight"), 0.1, 1, e)
			add(b("post_ffw_norm.weight"), 0.1, 1, e)
		}
	}
	return ts
}

// tinySPMTokens is a small SentencePiece vocabulary llama.cpp accepts:
// <unk>, <s>, </s>, the 256 byte tokens (so any text tokenizes) and a few
// pieces, so that refdump can tokenize a prompt for a model whose output
// layer stays small.
var tinySPMTokens = func() []string {
	toks := []string{"<unk>", "<s>", "</s>"}
	for b := range 256 {
		toks = append(toks, fmt.Sprintf("<0x%02X>", b))
	}
	return append(toks, "▁", "e", "t", "a", "o", "h", "n", "s", "▁t", "he", "▁the", "▁a", "in", "er", "▁w", "on", "▁s", "at", "en", "▁o")
}()

// writeTinySPM adds tinySPMTokens as a "llama" (SentencePiece) tokenizer.
func writeTinySPM(w *gguf.Writer) {
	n := len(tinySPMTokens)
	scores, types := make([]float32, n), make([]int32, n)
	for i := range n {
		switch {
		case i == 0:
			types[i] = 2 // unknown
		case i < 3:
			types[i] = 3 // control
		case i < 3+256:
			types[i] = 6 // byte
		default:
			types[i] = 1 // normal
			scores[i] = -float32(i - 3 - 256)
		}
	}
	kv := func(k string, v any) { w.AddKV(k, gguf.ValueOf(v)) }
	kv("tokenizer.ggml.model", "llama")
	kv("tokenizer.ggml.tokens", tinySPMTokens)
	kv("tokenizer.ggml.scores", scores)
	kv("tokenizer.ggml.token_type", types)
	kv("tokenizer.ggml.bos_token_id", uint32(1))
	kv("tokenizer.ggml.eos_token_id", uint32(2))
	kv("tokenizer.ggml.unknown_token_id", uint32(0))
	kv("tokenizer.ggml.add_bos_token", true)
}

// TestDecoderConfig checks the hyperparameters each architecture reads
// beyond llama's: gemma2's head size from key_length (so its KV cache is
// headsKV x 32 wide, not embd/heads x headsKV), its window and soft-caps,
// phi3's window.
func TestDecoderConfig(t *testing.T) {
	tests := []struct {
		spec                 tinySpec
		headDim, window      int
		attnCap, finalCap    float32
		kvCacheBytesPerLayer int64
	}{
		{spec: tinyDecoders[0], headDim: 16, kvCacheBytesPerLayer: 2 * 32 * 2 * 16 * 2},
		{spec: tinyDecoders[1], headDim: 16, window: 3, kvCacheBytesPerLayer: 2 * 32 * 2 * 16 * 2},
		{spec: tinyDecoders[2], headDim: 32, window: 4, attnCap: 50, finalCap: 30, kvCacheBytesPerLayer: 2 * 32 * 2 * 32 * 2},
		{spec: tinyDecoders[3], headDim: 16, kvCacheBytesPerLayer: 2 * 32 * 2 * 16 * 2},
	}
	for _, tt := range tests {
		t.Run(tt.spec.arch, func(t *testing.T) {
			lm := mustLoadTiny(t, tt.spec, Options{})
			c := lm.Config()
			if c.Arch != tt.spec.arch || c.HeadDim != tt.headDim || c.SlidingWindow != tt.window ||
				c.AttnSoftcap != tt.attnCap || c.FinalSoftcap != tt.finalCap {
				t.Errorf("Config() = %+v, want head dim %d, window %d, soft-caps %g/%g", c, tt.headDim, tt.window, tt.attnCap, tt.finalCap)
			}
			if got, want := mustState(t, lm).KVCacheBytes(), tt.kvCacheBytesPerLayer*int64(c.Layers); got != want {
				t.Errorf("KVCacheBytes() = %d, want %d", got, want)
			}
		})
	}
}

// naiveDecoder computes every position's logits for a tiny qwen2, phi3,
// gemma2 or starcoder2 model in float64, straight from the architectures'
// equations (as the Hugging Face models define them), independently of
// llama.go's table: NEOX rotary pairs, biases, fused projections, LayerNorm,
// gemma2's scales, post-norms, soft-caps and windows.
func naiveDecoder(t *testing.T, s tinySpec, tokens []int32) []float32 {
	t.Helper()
	w := map[string][]float64{}
	for _, ts := range s.tensors() {
		v := make([]float64, len(ts.vals))
		for i, x := range ts.vals {
			v[i] = float64(x)
		}
		w[ts.name] = v
	}
	hd := s.headDim
	if hd == 0 {
		hd = s.embd / s.heads
	}
	e, qDim, kvDim, ff := s.embd, s.heads*hd, s.headsKV*hd, s.ff
	ropeDims := s.ropeDims
	if ropeDims == 0 {
		ropeDims = hd
	}
	n := len(tokens)
	matvec := func(m []float64, cols int, x []float64) []float64 {
		out := make([]float64, len(m)/cols)
		for r := range out {
			for c, v := range m[r*cols : (r+1)*cols] {
				out[r] += v * x[c]
			}
		}
		return out
	}
	addTo := func(x, y []float64) {
		for i := range x {
			x[i] += y[i]
		}
	}
	norm := func(x []float64, name string) []float64 {
		g, b := w[name+".weight"], w[name+".bias"]
		var mean float64
		if s.arch == "starcoder2" { // LayerNorm
			for _, v := range x {
				mean += v
			}
			mean /= float64(len(x))
		}
		var ss float64
		for _, v := range x {
			ss += (v - mean) * (v - mean)
		}
		sc := 1 / math.Sqrt(ss/float64(len(x))+1e-5)
		out := make([]float64, len(x))
		for i := range x {
			out[i] = (x[i] - mean) * sc * g[i]
			if b != nil {
				out[i] += b[i]
			}
		}
		return out
	}
	gelu := func(z float64) float64 { return 0.5 * z * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(z+0.044715*z*z*z))) }
	softcap := func(x, c float64) float64 { return c * math.Tanh(x/c) }
	// rotate_half (NEOX): pairs (i, i+ropeDims/2) of each head.
	rope := func(x []float64, heads, pos int) {
		for h := range heads {
			for i := range ropeDims / 2 {
				theta := float64(pos) * math.Pow(10000, -2*float64(i)/float64(ropeDims))
				if f, ok := w["rope_factors_short.weight"]; ok {
					theta /= f[i]
				}
				a, b := x[h*hd+i], x[h*hd+i+ropeDims/2]
				x[h*hd+i] = a*math.Cos(theta) - b*math.Sin(theta)
				x[h*hd+i+ropeDims/2] = a*math.Sin(theta) + b*math.Cos(theta)
			}
		}
	}
	queryScale := 1 / math.Sqrt(float64(hd))
	window := func(l int) int {
		if s.arch == "phi3" || s.arch == "gemma2" && l%2 == 0 {
			return s.slidingWindow
		}
		return 0
	}

	x := make([][]float64, n)
	for i, tok := range tokens {
		x[i] = append([]float64(nil), w["token_embd.weight"][int(tok)*e:(int(tok)+1)*e]...)
		if s.arch == "gemma2" {
			for j := range x[i] {
				x[i][j] *= math.Sqrt(float64(e))
			}
		}
	}
	for l := range s.layers {
		p := func(name string) string { return fmt.Sprintf("blk.%d.%s", l, name) }
		q, k, v := make([][]float64, n), make([][]float64, n), make([][]float64, n)
		for i := range n {
			h := norm(x[i], p("attn_norm"))
			if s.arch == "phi3" {
				qkv := matvec(w[p("attn_qkv.weight")], e, h)
				q[i], k[i], v[i] = qkv[:qDim], qkv[qDim:qDim+kvDim], qkv[qDim+kvDim:]
			} else {
				q[i], k[i], v[i] = matvec(w[p("attn_q.weight")], e, h), matvec(w[p("attn_k.weight")], e, h), matvec(w[p("attn_v.weight")], e, h)
				if b, ok := w[p("attn_q.bias")]; ok {
					addTo(q[i], b)
					addTo(k[i], w[p("attn_k.bias")])
					addTo(v[i], w[p("attn_v.bias")])
				}
			}
			rope(q[i], s.heads, i)
			rope(k[i], s.headsKV, i)
		}
		for i := range n {
			att := make([]float64, qDim)
			first := 0
			if win := window(l); win > 0 {
				first = max(0, i-win+1)
			}
			for h := range s.heads {
				g := h / (s.heads / s.headsKV)
				scores := make([]float64, i+1)
				mx := math.Inf(-1)
				for j := first; j <= i; j++ {
					for d := range hd {
						scores[j] += q[i][h*hd+d] * k[j][g*hd+d] * queryScale
					}
					if s.arch == "gemma2" {
						scores[j] = softcap(scores[j], 50)
					}
					mx = math.Max(mx, scores[j])
				}
				var sum float64
				for j := first; j <= i; j++ {
					scores[j] = math.Exp(scores[j] - mx)
					sum += scores[j]
				}
				for j := first; j <= i; j++ {
					for d := range hd {
						att[h*hd+d] += scores[j] / sum * v[j][g*hd+d]
					}
				}
			}
			o := matvec(w[p("attn_output.weight")], qDim, att)
			if b, ok := w[p("attn_output.bias")]; ok {
				addTo(o, b)
			}
			if s.arch == "gemma2" {
				o = norm(o, p("post_attention_norm"))
			}
			addTo(x[i], o)

			h := norm(x[i], p("ffn_norm"))
			var act []float64
			switch s.arch {
			case "starcoder2":
				act = matvec(w[p("ffn_up.weight")], e, h)
				addTo(act, w[p("ffn_up.bias")])
				for j, z := range act {
					act[j] = gelu(z)
				}
			case "phi3":
				gu := matvec(w[p("ffn_up.weight")], e, h)
				act = make([]float64, ff)
				for j := range act {
					g := gu[j]
					act[j] = g / (1 + math.Exp(-g)) * gu[ff+j]
				}
			default:
				g, u := matvec(w[p("ffn_gate.weight")], e, h), matvec(w[p("ffn_up.weight")], e, h)
				act = make([]float64, ff)
				for j := range act {
					if s.arch == "gemma2" {
						act[j] = gelu(g[j]) * u[j]
					} else {
						act[j] = g[j] / (1 + math.Exp(-g[j])) * u[j]
					}
				}
			}
			f := matvec(w[p("ffn_down.weight")], ff, act)
			if b, ok := w[p("ffn_down.bias")]; ok {
				addTo(f, b)
			}
			if s.arch == "gemma2" {
				f = norm(f, p("post_ffw_norm"))
			}
			addTo(x[i], f)
		}
	}
	outW := w["output.weight"]
	if s.tied || s.arch == "gemma2" {
		outW = w["token_embd.weight"]
	}
	out := make([]float32, 0, n*s.vocab)
	for i := range n {
		for _, z := range matvec(outW, e, norm(x[i], "output_norm")) {
			if s.arch == "gemma2" {
				z = softcap(z, 30)
			}
			out = append(out, float32(z))
		}
	}
	return out
}

// TestDecodersMatchNaiveForward compares the architectures of llama's graph
// with naiveDecoder on F32 weights and an F32 cache (no activation
// rounding), prompts longer than their sliding windows.
func TestDecodersMatchNaiveForward(t *testing.T) {
	for _, spec := range tinyDecoders {
		spec.weightType = quant.F32
		t.Run(spec.arch, func(t *testing.T) {
			lm := mustLoadTiny(t, spec, Options{CacheType: CacheF32})
			st := mustState(t, lm)
			tokens := []int32{9, 4, 77, 31, 31, 2, 60, 15, 88, 3}
			vocab := lm.Config().VocabSize
			got := make([]float32, len(tokens)*vocab)
			if err := st.Forward(tokens, 0, true, got); err != nil {
				t.Fatal(err)
			}
			want := naiveDecoder(t, spec, tokens)
			// The GELU architectures go through ggml's f16 GELU table
			// (about 1e-3 relative per activation), the others only
			// through float rounding.
			tol := 1e-4
			if usesGELU(spec.arch) {
				tol = 2e-2
			}
			if d := maxAbsDiff(got, want); d > tol {
				t.Fatalf("logits differ from the naive forward by %g (tolerance %g)", d, tol)
			} else {
				t.Logf("max|diff| %.3g", d)
			}
		})
	}
}
