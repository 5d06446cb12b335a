package source

import (
	"testing"

	"github.com/infer-go/infer/convert/internal/testsrc"
)

func FuzzParseLlama2CHeader(f *testing.F) {
	// dim 8, hidden 8, 1 layer, 2 heads, 1 kv head, vocab 4, seq_len 2
	shape := [7]int{8, 8, 1, 2, 1, 4, 2}
	f.Add(testsrc.Llama2CHeader(0, shape, true, 0), int64(1000))
	f.Add(testsrc.Llama2CHeader(2, shape, true, 4), int64(2000))
	f.Fuzz(func(t *testing.T, head []byte, size int64) {
		c, l, err := parseLlama2CHeader(head, size)
		if err != nil {
			return
		}
		if l.end != uint64(size) || c.Dim <= 0 || c.Heads <= 0 || c.Dim%c.Heads != 0 {
			t.Fatalf("accepted %+v for %d bytes", c, size)
		}
	})
}
