package vocab

import (
	"testing"

	"github.com/infer-go/infer/convert/internal/testsrc"
)

func FuzzParseLlama2CTokenizer(f *testing.F) {
	seed := testsrc.Llama2CTokenizer([]string{"<unk>", "\n<s>\n", "\n</s>\n", "<0x00>", "<0x01>"}, make([]float32, 5))
	f.Add(seed, 5)
	f.Add(seed, 3)
	f.Fuzz(func(t *testing.T, data []byte, n int) {
		n = n % 1000
		tokens, scores, types, err := ParseLlama2CTokenizer(data, n)
		if err != nil {
			return
		}
		if len(tokens) != n || len(scores) != n || len(types) != n {
			t.Fatalf("%d tokens for a vocabulary of %d", len(tokens), n)
		}
	})
}
