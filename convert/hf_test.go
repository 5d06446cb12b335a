package convert

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
	"github.com/infer-go/infer/convert/internal/testsrc"
	"github.com/infer-go/infer/convert/vocab"
	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/internal/testref"
	"github.com/infer-go/infer/model"
	"github.com/infer-go/infer/quant"
	"github.com/infer-go/infer/quantize"
)

// Test fixtures: Hugging Face directories written from models llama.cpp
// made (../shared/models) or from random weights, so that a conversion can
// be checked against the file it should reproduce.

// ggufToHF gives a GGUF tensor's data in the dtype and shape a safetensors
// file of the same precision would hold (F16 and F32 as they are, other
// types dequantized to F32).
func ggufToHF(t testing.TB, ti *gguf.TensorInfo) (dtype string, shape []int, data []byte) {
	shape = make([]int, len(ti.Dims))
	for i, d := range ti.Dims {
		shape[len(shape)-1-i] = int(d)
	}
	switch ti.Type {
	case quant.F32:
		return "F32", shape, ti.Data
	case quant.F16:
		return "F16", shape, ti.Data
	}
	x := make([]float32, ti.NumElements())
	if err := quant.Dequantize(ti.Type, x, ti.Data); err != nil {
		t.Fatal(err)
	}
	return "F32", shape, encodeF32s(x)
}

// hfToGGUFRows is the inverse of permuteHFRows: llama.cpp's q/k layout
// back to Hugging Face's.
func hfToGGUFRows(src []byte, rows, nHead int) []byte {
	rowBytes := len(src) / rows
	hd := rows / nHead
	dst := make([]byte, len(src))
	for h := range nHead {
		for i := range hd / 2 {
			for j := range 2 {
				from := h*hd + 2*i + j
				to := h*hd + j*hd/2 + i
				copy(dst[to*rowBytes:(to+1)*rowBytes], src[from*rowBytes:(from+1)*rowBytes])
			}
		}
	}
	return dst
}

// ggufToSPMType maps llama.cpp token types back to SentencePiece's.
func ggufToSPMType(t int32) int {
	switch t {
	case vocab.TokenUnknown:
		return testsrc.SPMUnknown
	case vocab.TokenControl:
		return testsrc.SPMControl
	case vocab.TokenUnused:
		return testsrc.SPMUnused
	case vocab.TokenByte:
		return testsrc.SPMByte
	}
	return testsrc.SPMNormal
}

// llamaHFNames maps llama.cpp tensor names to Hugging Face's.
func llamaHFName(gg string) string {
	if rest, ok := strings.CutPrefix(gg, "blk."); ok {
		n, sub, _ := strings.Cut(rest, ".")
		names := map[string]string{
			"attn_norm.weight": "input_layernorm.weight", "attn_q.weight": "self_attn.q_proj.weight",
			"attn_k.weight": "self_attn.k_proj.weight", "attn_v.weight": "self_attn.v_proj.weight",
			"attn_output.weight": "self_attn.o_proj.weight", "ffn_norm.weight": "post_attention_layernorm.weight",
			"ffn_gate.weight": "mlp.gate_proj.weight", "ffn_up.weight": "mlp.up_proj.weight", "ffn_down.weight": "mlp.down_proj.weight",
		}
		return "model.layers." + n + "." + names[sub]
	}
	return map[string]string{"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight", "output.weight": "lm_head.weight"}[gg]
}

// tinyLlamaHFDir writes ../shared's tiny-llama-256-f16.gguf as a Hugging
// Face Llama directory: the weights with q and k back in Hugging Face's
// layout, tokenizer.model with the GGUF's pieces, scores and types, and
// the tokenizer files that give its special tokens.
func tinyLlamaHFDir(t *testing.T, shards int) (dir string, src *gguf.File) {
	src = openGGUF(t, testref.Path(t, "models", "tiny-llama-256-f16.gguf"))
	dir = t.TempDir()
	u32 := func(k string) int { return ggufInt(t, src, k) }
	heads, headsKV := u32("llama.attention.head_count"), u32("llama.attention.head_count_kv")
	testsrc.WriteJSON(t, filepath.Join(dir, "config.json"), map[string]any{
		"architectures": []string{"LlamaForCausalLM"}, "model_type": "llama",
		"hidden_size": u32("llama.embedding_length"), "num_hidden_layers": u32("llama.block_count"),
		"num_attention_heads": heads, "num_key_value_heads": headsKV,
		"intermediate_size": u32("llama.feed_forward_length"), "vocab_size": u32("llama.vocab_size"),
		"max_position_embeddings": u32("llama.context_length"), "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
		"tie_word_embeddings": false, "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float16",
	})
	var tensors []testsrc.Tensor
	for i := range src.Tensors {
		ti := &src.Tensors[i]
		dtype, shape, data := ggufToHF(t, ti)
		switch {
		case strings.HasSuffix(ti.Name, "attn_q.weight"):
			data = hfToGGUFRows(data, shape[0], heads)
		case strings.HasSuffix(ti.Name, "attn_k.weight"):
			data = hfToGGUFRows(data, shape[0], headsKV)
		}
		tensors = append(tensors, testsrc.Tensor{Name: llamaHFName(ti.Name), DType: dtype, Shape: shape, Data: data})
	}
	slices.SortFunc(tensors, func(a, b testsrc.Tensor) int { return strings.Compare(a.Name, b.Name) })
	testsrc.WriteHFWeights(t, dir, tensors, shards)

	toks, err := src.Strings("tokenizer.ggml.tokens")
	if err != nil {
		t.Fatal(err)
	}
	scores, _ := src.Float32s("tokenizer.ggml.scores")
	types, _ := src.Int32s("tokenizer.ggml.token_type")
	pieces := make([]testsrc.Piece, len(toks))
	for i := range toks {
		pieces[i] = testsrc.Piece{Piece: toks[i], Score: scores[i], Type: ggufToSPMType(types[i])}
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.model"), testsrc.SPMModel(pieces, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	testsrc.WriteJSON(t, filepath.Join(dir, "tokenizer.json"), map[string]any{
		"version": "1.0",
		"added_tokens": []map[string]any{
			{"id": 0, "content": "<unk>", "special": true}, {"id": 1, "content": "<s>", "special": true},
			{"id": 2, "content": "</s>", "special": true}},
	})
	testsrc.WriteJSON(t, filepath.Join(dir, "tokenizer_config.json"), map[string]any{
		"add_bos_token": true, "add_eos_token": false,
		"bos_token": map[string]any{"content": "<s>", "lstrip": false}, "eos_token": "</s>", "unk_token": "<unk>",
		"chat_template": "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}",
	})
	return dir, src
}

func convertHFTo(t *testing.T, dir string, opts LMOptions) (string, *quantize.Result) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out.gguf")
	opts.Threads = 2
	if opts.Warn == nil {
		opts.Warn = func(msg string) { t.Logf("warning: %s", msg) }
	}
	res, err := ConvertHF(dir, out, opts)
	if err != nil {
		t.Fatal(err)
	}
	return out, res
}

// sameTensors requires got to hold exactly want's tensors, byte for byte.
func sameTensors(t *testing.T, got, want *gguf.File) {
	t.Helper()
	if len(got.Tensors) != len(want.Tensors) {
		t.Errorf("%d tensors, want %d", len(got.Tensors), len(want.Tensors))
	}
	for i := range want.Tensors {
		w := &want.Tensors[i]
		g, ok := got.Tensor(w.Name)
		switch {
		case !ok:
			t.Errorf("tensor %s missing", w.Name)
		case g.Type != w.Type || !slices.Equal(g.Dims, w.Dims):
			t.Errorf("tensor %s: %s %v, want %s %v", w.Name, g.Type, g.Dims, w.Type, w.Dims)
		case !bytes.Equal(g.Data, w.Data):
			t.Errorf("tensor %s: data differs", w.Name)
		}
	}
}

// sameKV requires got to have want's value for each of keys.
func sameKV(t *testing.T, got, want *gguf.File, keys ...string) {
	t.Helper()
	for _, k := range keys {
		wv, ok := want.Value(k)
		if !ok {
			t.Fatalf("reference has no %s", k)
		}
		gv, ok := got.Value(k)
		if !ok {
			t.Errorf("%s missing", k)
		} else if !reflect.DeepEqual(gv, wv) {
			t.Errorf("%s = %v, want %v", k, gv, wv)
		}
	}
}

func keysWithPrefix(f *gguf.File, prefix string, except ...string) []string {
	var keys []string
	for _, kv := range f.KV {
		if strings.HasPrefix(kv.Key, prefix) && !slices.Contains(except, kv.Key) {
			keys = append(keys, kv.Key)
		}
	}
	return keys
}

// logitsOf runs the model at path (F32 KV cache) over tokens and returns
// the logits of every position.
func logitsOf(t *testing.T, path string, tokens []int32) []float32 {
	t.Helper()
	m, err := infer.Load(path, infer.Options{Threads: 2, CacheType: model.CacheF32})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	l, err := m.Logits(tokens)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// ggufInt reads a UINT32 key of f.
func ggufInt(t *testing.T, f *gguf.File, key string) int {
	t.Helper()
	v, err := f.Uint32(key)
	if err != nil {
		t.Fatal(err)
	}
	return int(v)
}

func openGGUF(t *testing.T, path string) *gguf.File {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// decode dequantizes a tensor to float32.
func decode(t *testing.T, ti *gguf.TensorInfo) []float32 {
	t.Helper()
	x := make([]float32, ti.NumElements())
	if err := quant.Dequantize(ti.Type, x, ti.Data); err != nil {
		t.Fatalf("%s: %v", ti.Name, err)
	}
	return x
}

// relDiff is the largest absolute difference relative to want's largest
// magnitude.
func relDiff(got, want []float32) float64 {
	var d, m float64
	for i := range want {
		d = max(d, math.Abs(float64(got[i]-want[i])))
		m = max(m, math.Abs(float64(want[i])))
	}
	return d / m
}

// TestHFLlamaRoundTrip converts llama.cpp's tiny Llama, written out as a
// Hugging Face directory (one file, and sharded), back to GGUF: every
// tensor and the vocabulary must come back as llama.cpp wrote them, so the
// logits are llama.cpp's model's.
func TestHFLlamaRoundTrip(t *testing.T) {
	for _, shards := range []int{1, 3} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			dir, src := tinyLlamaHFDir(t, shards)
			out, res := convertHFTo(t, dir, LMOptions{})
			got := openGGUF(t, out)
			sameTensors(t, got, src)
			sameKV(t, got, src, keysWithPrefix(src, "llama.")...)
			sameKV(t, got, src, keysWithPrefix(src, "tokenizer.")...)
			sameKV(t, got, src, "general.architecture", "general.file_type")
			if tmpl, err := got.String("tokenizer.chat_template"); err != nil || !strings.Contains(tmpl, "m.role") {
				t.Errorf("chat template %q, %v", tmpl, err)
			}
			if name, _ := got.String("general.name"); name != filepath.Base(dir) {
				t.Errorf("general.name %q, want the directory's name %q", name, filepath.Base(dir))
			}
			if len(res.Tensors) != len(src.Tensors) {
				t.Errorf("result lists %d tensors", len(res.Tensors))
			}
			if shards > 1 {
				return
			}
			tokens := []int32{1, 450, 4996, 17354, 1701, 29916}
			if l1, l2 := logitsOf(t, out, tokens), logitsOf(t, testref.Path(t, "models", "tiny-llama-256-f16.gguf"), tokens); !slices.Equal(l1, l2) {
				t.Errorf("logits differ from the original model's (max rel error %g)", relDiff(l1, l2))
			}
		})
	}
}

// TestConvertHFErrors breaks a small Llama directory in the ways real
// downloads break and requires a clear error and no output file.
func TestConvertHFErrors(t *testing.T) {
	base := synthLlama{embd: 32, layers: 2, heads: 2, kv: 1, ff: 40, vocab: 262}
	drop := func(name string) func([]testsrc.Tensor) []testsrc.Tensor {
		return func(ts []testsrc.Tensor) []testsrc.Tensor {
			return slices.DeleteFunc(ts, func(x testsrc.Tensor) bool { return x.Name == name })
		}
	}
	editJSON := func(file string, f func(m map[string]any)) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			raw, err := os.ReadFile(filepath.Join(dir, file))
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			f(m)
			testsrc.WriteJSON(t, filepath.Join(dir, file), m)
		}
	}
	for _, tc := range []struct {
		name  string
		model synthLlama
		after func(t *testing.T, dir string)
		want  string
	}{
		{"unknown architecture", base, editJSON("config.json", func(m map[string]any) {
			m["architectures"], m["model_type"] = []string{"BertForMaskedLM"}, "bert"
		}), "BertForMaskedLM is not supported"},
		{"missing tensor", synthLlama{embd: 32, layers: 2, heads: 2, kv: 1, ff: 40, vocab: 262,
			edit: drop("model.layers.1.mlp.up_proj.weight")}, nil, `missing tensor "model.layers.1.mlp.up_proj.weight"`},
		{"shape mismatch", synthLlama{embd: 32, layers: 2, heads: 2, kv: 1, ff: 40, vocab: 262, edit: func(ts []testsrc.Tensor) []testsrc.Tensor {
			for i := range ts {
				if ts[i].Name == "model.layers.0.self_attn.k_proj.weight" {
					ts[i].Shape = []int{32, 16} // transposed
				}
			}
			return ts
		}}, nil, "shape [32 16], want [16 32]"},
		{"unmapped tensor", synthLlama{embd: 32, layers: 2, heads: 2, kv: 1, ff: 40, vocab: 262, edit: func(ts []testsrc.Tensor) []testsrc.Tensor {
			return append(ts, testsrc.Tensor{Name: "model.layers.2.mlp.up_proj.weight", DType: "F32", Shape: []int{1}, Data: make([]byte, 4)})
		}}, nil, "cannot map tensor(s) model.layers.2.mlp.up_proj.weight"},
		{"integer weights", synthLlama{embd: 32, layers: 2, heads: 2, kv: 1, ff: 40, vocab: 262, edit: func(ts []testsrc.Tensor) []testsrc.Tensor {
			for i := range ts {
				if ts[i].Name == "model.norm.weight" {
					ts[i].DType = "I32"
				}
			}
			return ts
		}}, nil, "dtype I32 is not a float type"},
		{"truncated safetensors", base, func(t *testing.T, dir string) {
			path := filepath.Join(dir, "model.safetensors")
			st, _ := os.Stat(path)
			if err := os.Truncate(path, st.Size()-100); err != nil {
				t.Fatal(err)
			}
		}, "outside the"},
		{"missing shard", synthLlama{embd: 32, layers: 2, heads: 2, kv: 1, ff: 40, vocab: 262, shards: 3}, func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "model-00002-of-00003.safetensors")); err != nil {
				t.Fatal(err)
			}
		}, "model-00002-of-00003.safetensors: no such file"},
		{"index and shards disagree", synthLlama{embd: 32, layers: 2, heads: 2, kv: 1, ff: 40, vocab: 262, shards: 2},
			editJSON("model.safetensors.index.json", func(m map[string]any) {
				m["weight_map"].(map[string]any)["model.layers.9.mlp.up_proj.weight"] = "model-00001-of-00002.safetensors"
			}), "the index lists tensors the shards lack: model.layers.9.mlp.up_proj.weight"},
		{"no weights", base, func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "model.safetensors")); err != nil {
				t.Fatal(err)
			}
		}, "no model.safetensors"},
		{"config without hidden_size", base, editJSON("config.json", func(m map[string]any) { delete(m, "hidden_size") }),
			"config.json has none of hidden_size"},
		{"vocab_size below the tokenizer's", base, editJSON("config.json", func(m map[string]any) { m["vocab_size"] = 200 }),
			"token id 259, but the model's vocab_size is 200"},
		{"lm_head missing, not tied", synthLlama{embd: 32, layers: 2, heads: 2, kv: 1, ff: 40, vocab: 262,
			edit: drop("lm_head.weight")}, nil, `missing tensor "lm_head.weight"`},
		{"no tokenizer", base, func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "tokenizer.json")); err != nil {
				t.Fatal(err)
			}
		}, "no tokenizer"},
		{"unigram tokenizer", base, editJSON("tokenizer.json", func(m map[string]any) {
			m["model"] = map[string]any{"type": "Unigram", "vocab": []any{}}
		}), `model type "Unigram" is not supported`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := tc.model.write(t, 1)
			if tc.after != nil {
				tc.after(t, dir)
			}
			outDir := t.TempDir()
			out := filepath.Join(outDir, "out.gguf")
			_, err := ConvertHF(dir, out, LMOptions{Options: quantize.Options{Threads: 1}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if entries, _ := os.ReadDir(outDir); len(entries) != 0 {
				t.Errorf("a failed conversion left %s", entries[0].Name())
			}
		})
	}
}
