package convert

// llama2.c (github.com/karpathy/llama2.c) checkpoints (read by
// source.OpenLlama2C) as llama.cpp's llama architecture, with their
// tokenizer.bin (vocab.ReadLlama2C).
//
// llama2.c's model.py applies rotary embeddings to adjacent pairs (2i,
// 2i+1) of each head, as run.c does and as llama.cpp's llama graph does, so
// wq and wk are written as they are (llama.cpp's
// convert-llama2c-to-ggml does not permute them either). Unlike that tool,
// infer rotates the whole head (run.c does; the tool caps rope dimensions
// at 64) and takes the context length from seq_len (the tool writes 128).

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/infer-go/infer/convert/source"
	"github.com/infer-go/infer/convert/vocab"
	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/quant"
	"github.com/infer-go/infer/quantize"
)

// ConvertLlama2C converts the llama2.c checkpoint at checkpoint, with the
// vocabulary in tokenizer (a tokenizer.bin, or a GGUF file to copy the
// vocabulary from; empty: tokenizer.bin beside the checkpoint), to a llama
// GGUF at out. The output appears atomically, and not at all on error.
func ConvertLlama2C(checkpoint, tokenizer, out string, opts LMOptions) (*quantize.Result, error) {
	if tokenizer == "" {
		tokenizer = filepath.Join(filepath.Dir(checkpoint), "tokenizer.bin")
		if _, err := os.Stat(tokenizer); err != nil {
			return nil, fmt.Errorf("%s: a llama2.c checkpoint needs its vocabulary: no tokenizer.bin beside it (name one with --tokenizer)", checkpoint)
		}
	}
	if err := checkNotInside(out, []string{checkpoint, tokenizer}); err != nil {
		return nil, err
	}
	l2c, err := source.OpenLlama2C(checkpoint)
	if err != nil {
		return nil, err
	}
	defer l2c.Close()
	c := l2c.Config
	vocabKV, err := vocab.ReadLlama2C(tokenizer, c.VocabSize)
	if err != nil {
		return nil, err
	}

	m := &LanguageModel{Arch: "llama", Name: strings.TrimSuffix(filepath.Base(checkpoint), filepath.Ext(checkpoint))}
	kv := func(key string, v any) { m.KV = append(m.KV, gguf.KV{Key: "llama." + key, Value: gguf.ValueOf(v)}) }
	kv("block_count", uint32(c.Layers))
	kv("context_length", uint32(c.SeqLen))
	kv("embedding_length", uint32(c.Dim))
	kv("feed_forward_length", uint32(c.HiddenDim))
	kv("attention.head_count", uint32(c.Heads))
	kv("attention.head_count_kv", uint32(c.KVHeads))
	kv("rope.freq_base", float32(10000))
	kv("attention.layer_norm_rms_epsilon", float32(1e-5))
	kv("vocab_size", uint32(c.VocabSize))
	kv("rope.dimension_count", uint32(c.HeadSize()))
	m.KV = append(m.KV, vocabKV...)

	D, H, V, KV := uint64(c.Dim), uint64(c.HiddenDim), uint64(c.VocabSize), uint64(c.KVDim())
	tensor := func(name string, t source.Llama2CTensor, dims ...uint64) Tensor {
		return Tensor{Name: name, Dims: dims, Type: quant.F32, Load: func() ([]byte, error) { return t.Float32Bytes(), nil }}
	}
	m.Tensors = append(m.Tensors,
		tensor("token_embd.weight", l2c.TokenEmbedding, D, V),
		tensor("output_norm.weight", l2c.FinalNorm, D))
	if !c.Shared {
		m.Tensors = append(m.Tensors, tensor("output.weight", l2c.Classifier, D, V))
	}
	for i := range c.Layers {
		name := func(s string) string { return fmt.Sprintf("blk.%d.%s", i, s) }
		m.Tensors = append(m.Tensors,
			tensor(name("attn_norm.weight"), l2c.AttnNorm[i], D),
			tensor(name("attn_q.weight"), l2c.WQ[i], D, D),
			tensor(name("attn_k.weight"), l2c.WK[i], D, KV),
			tensor(name("attn_v.weight"), l2c.WV[i], D, KV),
			tensor(name("attn_output.weight"), l2c.WO[i], D, D),
			tensor(name("ffn_norm.weight"), l2c.FFNNorm[i], D),
			tensor(name("ffn_gate.weight"), l2c.W1[i], D, H),
			tensor(name("ffn_down.weight"), l2c.W2[i], H, D),
			tensor(name("ffn_up.weight"), l2c.W3[i], D, H))
	}
	return m.Write(out, opts)
}
