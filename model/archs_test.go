package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/infer-go/infer/gguf"
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
