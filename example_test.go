package infer_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"

	"github.com/infer-go/infer"
	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/quant"
)

// Example loads a model and continues a prompt greedily. The model is a
// tiny llama built on the spot (see writeCountingModel) whose weights make
// it count: after "three" comes "four", after "ten" the end of the text.
func Example() {
	dir, err := os.MkdirTemp("", "infer-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "counting.gguf")
	if err := writeCountingModel(path); err != nil {
		log.Fatal(err)
	}

	m, err := infer.Load(path, infer.Options{Threads: 1})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	prompt := "one two three"
	fmt.Print(prompt)
	// The zero GenerateOptions sample greedily; sampler.DefaultParams() are
	// llama.cpp's defaults.
	stats, err := m.Generate(context.Background(), prompt, infer.GenerateOptions{MaxTokens: 20}, func(piece string) bool {
		fmt.Print(piece)
		return true
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println()
	fmt.Printf("%d prompt tokens, %d generated, stopped by %s\n", stats.PromptTokens, stats.GeneratedTokens, stats.Stop)
	// Output:
	// one two three four five six seven eight nine ten
	// 4 prompt tokens, 7 generated, stopped by end of generation
}

var numbers = []string{"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"}

// writeCountingModel writes a llama model that continues a count up to ten.
func writeCountingModel(path string) error {
	return writeSuccessorModel(path, numbers, func(i int) int {
		if i+1 < len(numbers) {
			return i + 1
		}
		return -1 // end of text
	})
}

// writeSuccessorModel writes a one-layer llama GGUF with an SPM vocabulary
// holding words (as "▁word" tokens) whose greedy continuation of words[i] is
// words[next(i)], or the end-of-text token when next(i) < 0.
//
// All attention and feed-forward weights are zero, so each position's
// output is its own token's embedding. Word i embeds as the unit vector e_i;
// the output row of the word that follows it is 4·e_i, so that word gets a
// logit of about 4·sqrt(embd) and every other token exactly 0.
func writeSuccessorModel(path string, words []string, next func(i int) int) error {
	const embd, ff, heads, ctx = 32, 32, 4, 64
	if len(words) > embd {
		return fmt.Errorf("%d words do not fit in %d dimensions", len(words), embd)
	}

	// The vocabulary: specials, SPM byte fallback, then every prefix of every
	// "▁word" (SPM builds a word by merging pairs that are tokens).
	tokens := []string{"<unk>", "<s>", "</s>"}
	types := []int32{2, 3, 3} // unknown, control, control
	for b := range 256 {
		tokens = append(tokens, fmt.Sprintf("<0x%02X>", b))
		types = append(types, 6) // byte
	}
	index := map[string]int{}
	wordID := make([]int, len(words))
	for i, w := range words {
		r := []rune("▁" + w)
		for n := 1; n <= len(r); n++ {
			piece := string(r[:n])
			if _, ok := index[piece]; !ok {
				index[piece] = len(tokens)
				tokens = append(tokens, piece)
				types = append(types, 1) // normal
			}
		}
		wordID[i] = index["▁"+w]
	}
	scores := make([]float32, len(tokens))
	for i, t := range tokens {
		scores[i] = -float32(len(t)) // any scores do: each word has one merge path
	}
	vocab := len(tokens)

	w := gguf.NewWriter()
	kv := func(k string, v any) { w.AddKV(k, gguf.ValueOf(v)) }
	kv("general.architecture", "llama")
	kv("general.name", "counting")
	kv("llama.context_length", uint32(ctx))
	kv("llama.embedding_length", uint32(embd))
	kv("llama.block_count", uint32(1))
	kv("llama.feed_forward_length", uint32(ff))
	kv("llama.attention.head_count", uint32(heads))
	kv("llama.attention.head_count_kv", uint32(heads))
	kv("llama.attention.layer_norm_rms_epsilon", float32(1e-5))
	kv("llama.rope.dimension_count", uint32(embd/heads))
	kv("tokenizer.ggml.model", "llama")
	kv("tokenizer.ggml.tokens", tokens)
	kv("tokenizer.ggml.scores", scores)
	kv("tokenizer.ggml.token_type", types)
	kv("tokenizer.ggml.unknown_token_id", uint32(0))
	kv("tokenizer.ggml.bos_token_id", uint32(1))
	kv("tokenizer.ggml.eos_token_id", uint32(2))
	kv("tokenizer.ggml.add_bos_token", true)

	embedding := make([]float32, vocab*embd)
	output := make([]float32, vocab*embd)
	for i := range words {
		embedding[wordID[i]*embd+i] = 1
		succ := 2 // </s>
		if j := next(i); j >= 0 {
			succ = wordID[j]
		}
		output[succ*embd+i] = 4
	}
	ones := make([]float32, embd)
	for i := range ones {
		ones[i] = 1
	}
	add := func(name string, data []float32, dims ...uint64) {
		if len(data) == 0 { // all zero
			n := uint64(1)
			for _, d := range dims {
				n *= d
			}
			data = make([]float32, n)
		}
		b := make([]byte, 4*len(data))
		for i, x := range data {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
		}
		if err := w.AddTensor(name, quant.F32, dims, b); err != nil {
			panic(err) // shapes here are fixed: a bug in this helper
		}
	}
	add("token_embd.weight", embedding, embd, uint64(vocab))
	add("output_norm.weight", ones, embd)
	add("output.weight", output, embd, uint64(vocab))
	add("blk.0.attn_norm.weight", ones, embd)
	add("blk.0.attn_q.weight", nil, embd, embd)
	add("blk.0.attn_k.weight", nil, embd, embd)
	add("blk.0.attn_v.weight", nil, embd, embd)
	add("blk.0.attn_output.weight", nil, embd, embd)
	add("blk.0.ffn_norm.weight", ones, embd)
	add("blk.0.ffn_gate.weight", nil, embd, ff)
	add("blk.0.ffn_up.weight", nil, embd, ff)
	add("blk.0.ffn_down.weight", nil, ff, embd)
	return w.WriteFile(path)
}
