package tokenizer

import (
	"testing"

	"github.com/infer-go/infer/internal/testref"
)

// benchParagraph is ordinary English prose with some punctuation, digits
// and a few non-ASCII characters: the common case for prompt encoding.
const benchParagraph = `It was the best of times, it was the worst of times, it was the age of wisdom, ` +
	`it was the age of foolishness, it was the epoch of belief, it was the epoch of incredulity, ` +
	`it was the season of Light, it was the season of Darkness. In 1859 the novel sold 100,000 ` +
	`copies — "a great success," said the critics — and it's still read today: naïve, café, résumé.`

func benchmarkEncode(b *testing.B, vocab string) {
	tok := loadTokenizer(b, testref.Path(b, "vocab", vocab))
	b.SetBytes(int64(len(benchParagraph)))
	b.ReportAllocs()
	for b.Loop() {
		tok.Encode(benchParagraph, true, false)
	}
}

func BenchmarkEncodeSPM(b *testing.B)         { benchmarkEncode(b, "ggml-vocab-llama-spm.gguf") }
func BenchmarkEncodeGPT2(b *testing.B)        { benchmarkEncode(b, "ggml-vocab-gpt-2.gguf") }
func BenchmarkEncodeFalcon(b *testing.B)      { benchmarkEncode(b, "ggml-vocab-falcon.gguf") }
func BenchmarkEncodeDeepseekLLM(b *testing.B) { benchmarkEncode(b, "ggml-vocab-deepseek-llm.gguf") }

func BenchmarkDecodeGPT2(b *testing.B) {
	tok := loadTokenizer(b, testref.Path(b, "vocab", "ggml-vocab-gpt-2.gguf"))
	ids := tok.Encode(benchParagraph, false, false)
	b.SetBytes(int64(len(benchParagraph)))
	b.ReportAllocs()
	for b.Loop() {
		tok.Decode(ids)
	}
}

func BenchmarkLoadDeepseekLLM(b *testing.B) {
	path := testref.Path(b, "vocab", "ggml-vocab-deepseek-llm.gguf")
	b.ReportAllocs()
	for b.Loop() {
		loadedVocabs.Delete(path)
		loadTokenizer(b, path)
	}
}
