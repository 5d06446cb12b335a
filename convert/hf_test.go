package convert

import (
	"bytes"
	"encoding/binary"
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

// Test fixtures: Hugging Face directories written from models llama.cpp
// made (../shared/models) or from random weights, so that a conversion can
// be checked against the file it should reproduce.

func writeJSONFile(t testing.TB, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// hfTensor is a tensor of a fixture, PyTorch shape, outermost first.
type hfTensor struct {
	name  string
	dtype string
	shape []int
	data  []byte
}

// encodeHFSafetensors writes tensors as a safetensors file.
func encodeHFSafetensors(tensors []hfTensor) []byte {
	header := map[string]any{}
	var body []byte
	for _, x := range tensors {
		header[x.name] = map[string]any{"dtype": x.dtype, "shape": append([]int{}, x.shape...), "data_offsets": []int{len(body), len(body) + len(x.data)}}
		body = append(body, x.data...)
	}
	h, err := json.Marshal(header)
	if err != nil {
		panic(err)
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	return append(append(out, h...), body...)
}

// writeHFWeights writes tensors as model.safetensors, or, with shards > 1,
// as model-0000i-of-0000n.safetensors with model.safetensors.index.json.
func writeHFWeights(t testing.TB, dir string, tensors []hfTensor, shards int) {
	t.Helper()
	if shards <= 1 {
		if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), encodeHFSafetensors(tensors), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	weightMap := map[string]string{}
	per := (len(tensors) + shards - 1) / shards
	for s := range shards {
		name := fmt.Sprintf("model-%05d-of-%05d.safetensors", s+1, shards)
		part := tensors[s*per : min((s+1)*per, len(tensors))]
		for _, x := range part {
			weightMap[x.name] = name
		}
		if err := os.WriteFile(filepath.Join(dir, name), encodeHFSafetensors(part), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeJSONFile(t, filepath.Join(dir, "model.safetensors.index.json"), map[string]any{"metadata": map[string]any{}, "weight_map": weightMap})
}

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

// encodeSPMModel writes a SentencePiece ModelProto: the pieces and, if
// addDummyPrefix is set, a normalizer_spec saying so.
func encodeSPMModel(pieces []SentencePiece, addDummyPrefix *bool) []byte {
	var out []byte
	key := func(b []byte, field, wire int) []byte { return binary.AppendUvarint(b, uint64(field<<3|wire)) }
	for _, p := range pieces {
		var m []byte
		m = key(m, 1, 2)
		m = binary.AppendUvarint(m, uint64(len(p.Piece)))
		m = append(m, p.Piece...)
		m = key(m, 2, 5)
		m = binary.LittleEndian.AppendUint32(m, math.Float32bits(p.Score))
		if p.Type != spmNormal {
			m = key(m, 3, 0)
			m = binary.AppendUvarint(m, uint64(p.Type))
		}
		out = key(out, 1, 2)
		out = binary.AppendUvarint(out, uint64(len(m)))
		out = append(out, m...)
	}
	// trainer_spec: model_type BPE, and an unknown string field to skip.
	spec := key(nil, 3, 0)
	spec = binary.AppendUvarint(spec, 2)
	spec = key(spec, 1, 2)
	spec = append(spec, 3, 'x', 'y', 'z')
	out = key(out, 2, 2)
	out = binary.AppendUvarint(out, uint64(len(spec)))
	out = append(out, spec...)
	if addDummyPrefix != nil {
		norm := key(nil, 3, 0)
		v := uint64(0)
		if *addDummyPrefix {
			v = 1
		}
		norm = binary.AppendUvarint(norm, v)
		out = key(out, 3, 2)
		out = binary.AppendUvarint(out, uint64(len(norm)))
		out = append(out, norm...)
	}
	return out
}

// ggufToSPMType maps llama.cpp token types back to SentencePiece's.
func ggufToSPMType(t int32) int {
	switch t {
	case tokenUnknown:
		return spmUnknown
	case tokenControl:
		return spmControl
	case tokenUnused:
		return spmUnused
	case tokenByte:
		return spmByte
	}
	return spmNormal
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
	u32 := func(k string) int {
		v, err := src.Uint32(k)
		if err != nil {
			t.Fatal(err)
		}
		return int(v)
	}
	heads, headsKV := u32("llama.attention.head_count"), u32("llama.attention.head_count_kv")
	writeJSONFile(t, filepath.Join(dir, "config.json"), map[string]any{
		"architectures": []string{"LlamaForCausalLM"}, "model_type": "llama",
		"hidden_size": u32("llama.embedding_length"), "num_hidden_layers": u32("llama.block_count"),
		"num_attention_heads": heads, "num_key_value_heads": headsKV,
		"intermediate_size": u32("llama.feed_forward_length"), "vocab_size": u32("llama.vocab_size"),
		"max_position_embeddings": u32("llama.context_length"), "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
		"tie_word_embeddings": false, "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float16",
	})
	var tensors []hfTensor
	for i := range src.Tensors {
		ti := &src.Tensors[i]
		dtype, shape, data := ggufToHF(t, ti)
		switch {
		case strings.HasSuffix(ti.Name, "attn_q.weight"):
			data = hfToGGUFRows(data, shape[0], heads)
		case strings.HasSuffix(ti.Name, "attn_k.weight"):
			data = hfToGGUFRows(data, shape[0], headsKV)
		}
		tensors = append(tensors, hfTensor{llamaHFName(ti.Name), dtype, shape, data})
	}
	slices.SortFunc(tensors, func(a, b hfTensor) int { return strings.Compare(a.name, b.name) })
	writeHFWeights(t, dir, tensors, shards)

	toks, err := src.Strings("tokenizer.ggml.tokens")
	if err != nil {
		t.Fatal(err)
	}
	scores, _ := src.Float32s("tokenizer.ggml.scores")
	types, _ := src.Int32s("tokenizer.ggml.token_type")
	pieces := make([]SentencePiece, len(toks))
	for i := range toks {
		pieces[i] = SentencePiece{Piece: toks[i], Score: scores[i], Type: ggufToSPMType(types[i])}
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.model"), encodeSPMModel(pieces, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	writeJSONFile(t, filepath.Join(dir, "tokenizer.json"), map[string]any{
		"version": "1.0",
		"added_tokens": []map[string]any{
			{"id": 0, "content": "<unk>", "special": true}, {"id": 1, "content": "<s>", "special": true},
			{"id": 2, "content": "</s>", "special": true}},
	})
	writeJSONFile(t, filepath.Join(dir, "tokenizer_config.json"), map[string]any{
		"add_bos_token": true, "add_eos_token": false,
		"bos_token": map[string]any{"content": "<s>", "lstrip": false}, "eos_token": "</s>", "unk_token": "<unk>",
		"chat_template": "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}",
	})
	return dir, src
}

func convertHFTo(t *testing.T, dir string, opts LMOptions) (string, *QuantizeResult) {
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
	m, err := infer.Load(path, infer.Options{Threads: 2, CacheType: "f32"})
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
