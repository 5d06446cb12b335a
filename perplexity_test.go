package infer_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infer-go/infer"
	"github.com/infer-go/infer/convert"
	"github.com/infer-go/infer/internal/testref"
)

// sonnets is text for perplexity: Shakespeare's sonnets 18 and 29.
const sonnets = `Shall I compare thee to a summer's day?
Thou art more lovely and more temperate:
Rough winds do shake the darling buds of May,
And summer's lease hath all too short a date;
Sometime too hot the eye of heaven shines,
And often is his gold complexion dimm'd;
And every fair from fair sometime declines,
By chance or nature's changing course untrimm'd;
But thy eternal summer shall not fade,
Nor lose possession of that fair thou ow'st;
Nor shall Death brag thou wander'st in his shade,
When in eternal lines to time thou grow'st:
So long as men can breathe or eyes can see,
So long lives this, and this gives life to thee.

When, in disgrace with fortune and men's eyes,
I all alone beweep my outcast state,
And trouble deaf heaven with my bootless cries,
And look upon myself and curse my fate,
Wishing me like to one more rich in hope,
Featured like him, like him with friends possess'd,
Desiring this man's art and that man's scope,
With what I most enjoy contented least;
Yet in these thoughts myself almost despising,
Haply I think on thee, and then my state,
Like to the lark at break of day arising
From sullen earth, sings hymns at heaven's gate;
For thy sweet love remember'd such wealth brings
That then I scorn to change my state with kings.
`

func loadShipped(t *testing.T) *infer.Model {
	t.Helper()
	m, err := infer.Load(shippedModel, infer.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// directPerplexity computes llama-perplexity's estimate from Logits, one
// chunk at a time, with a float64 log-softmax.
func directPerplexity(t *testing.T, m *infer.Model, tokens []int32, nCtx, chunks int) (ppl, stderr float64, perChunk []float64) {
	t.Helper()
	vocab := m.Config().VocabSize
	var nll, nll2 float64
	n := 0
	for c := range chunks {
		chunk := tokens[c*nCtx : (c+1)*nCtx]
		logits, err := m.Logits(chunk)
		if err != nil {
			t.Fatal(err)
		}
		for i := nCtx / 2; i < nCtx-1; i++ {
			row := logits[i*vocab : (i+1)*vocab]
			mx := math.Inf(-1)
			for _, v := range row {
				mx = max(mx, float64(v))
			}
			var sum float64
			for _, v := range row {
				sum += math.Exp(float64(v) - mx)
			}
			v := mx + math.Log(sum) - float64(row[chunk[i+1]])
			nll += v
			nll2 += v * v
			n++
		}
		perChunk = append(perChunk, math.Exp(nll/float64(n)))
	}
	mean := nll / float64(n)
	ppl = math.Exp(mean)
	return ppl, math.Sqrt((nll2/float64(n)-mean*mean)/float64(n-1)) * ppl, perChunk
}

func TestPerplexityMatchesLogits(t *testing.T) {
	m := loadShipped(t)
	tokens := m.Tokenize(sonnets, true, false)
	const nCtx, chunks = 64, 8 // of 22 in the text
	want, wantErr, wantChunks := directPerplexity(t, m, tokens, nCtx, chunks)

	for _, batch := range []int{0, 7, 1000} {
		var got []float64
		res, err := m.Perplexity(t.Context(), tokens, infer.PerplexityOptions{Context: nCtx, Batch: batch, Chunks: chunks}, func(c infer.PerplexityChunk) {
			if c.Chunk != len(got)+1 || c.Chunks != chunks {
				t.Errorf("chunk %d of %d, want %d of %d", c.Chunk, c.Chunks, len(got)+1, chunks)
			}
			got = append(got, c.PPL)
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Chunks != chunks || res.Scored != chunks*(nCtx-1-nCtx/2) || res.Tokens != len(tokens) {
			t.Errorf("batch %d: %d chunks, %d scored, %d tokens", batch, res.Chunks, res.Scored, res.Tokens)
		}
		if math.Abs(res.PPL-want) > 1e-5*want || math.Abs(res.Err-wantErr) > 1e-4*wantErr || math.Abs(math.Log(res.PPL)-res.NLL) > 1e-12 {
			t.Errorf("batch %d: PPL %.6f +/- %.6f (nll %.6f), direct computation %.6f +/- %.6f", batch, res.PPL, res.Err, res.NLL, want, wantErr)
		}
		for i := range got {
			if math.Abs(got[i]-wantChunks[i]) > 1e-5*wantChunks[i] {
				t.Errorf("batch %d: running PPL after chunk %d %.6f, want %.6f", batch, i+1, got[i], wantChunks[i])
			}
		}
	}
	// A character model trained on Shakespeare should find sonnets far
	// likelier than uniform over 65 characters.
	if want > 20 || want < 1 {
		t.Errorf("PPL %.3f on Shakespeare's sonnets: implausible for this model", want)
	}
}

func TestPerplexityOptions(t *testing.T) {
	m := loadShipped(t)
	tokens := m.Tokenize(sonnets, true, false)
	res, err := m.Perplexity(t.Context(), tokens, infer.PerplexityOptions{Chunks: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Chunks != 3 || res.Scored != 3*63 {
		t.Errorf("--chunks 3 with the model's context 128: %d chunks, %d scored; want 3, 189", res.Chunks, res.Scored)
	}
	for _, tc := range []struct {
		name   string
		tokens []int32
		opts   infer.PerplexityOptions
		want   string
	}{
		{"too short", tokens[:255], infer.PerplexityOptions{}, "at least 256"},
		{"context above the model's", tokens, infer.PerplexityOptions{Context: 129}, "want 3 to 128"},
		{"context too small", tokens, infer.PerplexityOptions{Context: 2}, "want 3 to 128"},
		{"negative batch", tokens, infer.PerplexityOptions{Batch: -1}, "batch -1"},
		{"token out of range", append([]int32{65}, tokens...), infer.PerplexityOptions{}, "out of range"},
	} {
		_, err := m.Perplexity(t.Context(), tc.tokens, tc.opts, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
		if tc.name == "too short" && !errors.Is(err, infer.ErrTextTooShort) {
			t.Errorf("too short: %v does not wrap ErrTextTooShort", err)
		}
	}
	m.Close()
	if _, err := m.Perplexity(t.Context(), tokens, infer.PerplexityOptions{}, nil); !errors.Is(err, infer.ErrClosed) {
		t.Errorf("closed model: %v", err)
	}
}

// TestQuantizedPerplexity measures perplexity on the start of Tiny
// Shakespeare's last 10% (nanoGPT's validation split) with the F32, Q8_0
// and Q4_0 conversions of the shared ckpt.pt: Q8_0 within 1% of F32, Q4_0
// within 5%. (The whole split takes minutes; testdata/README.md has those
// figures. The first chunks are the hardest for Q4_0: +5.9% after 4
// chunks, +3.9% after 16, +2.5% over all 871.)
func TestQuantizedPerplexity(t *testing.T) {
	text, err := os.ReadFile(testref.Path(t, "text", "tinyshakespeare.txt"))
	if err != nil {
		t.Fatal(err)
	}
	val := string(text[len(text)*9/10:])
	ckpt := testref.Path(t, "nanogpt", "ckpt.pt")
	const chunks = 16
	ppl := map[string]float64{}
	for _, name := range []string{"F32", "Q8_0", "Q4_0"} {
		ft, err := convert.ParseQuantFileType(name)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), name+".gguf")
		if _, err := convert.ConvertNanoGPT(ckpt, path, ft, convert.NanoGPTOptions{}); err != nil {
			t.Fatal(err)
		}
		m, err := infer.Load(path, infer.Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		res, err := m.Perplexity(t.Context(), m.Tokenize(val, true, false), infer.PerplexityOptions{Chunks: chunks}, nil)
		m.Close()
		if err != nil {
			t.Fatal(err)
		}
		ppl[name] = res.PPL
		t.Logf("%-4s PPL %.4f +/- %.4f over %d tokens", name, res.PPL, res.Err, res.Scored)
	}
	for name, limit := range map[string]float64{"Q8_0": 0.01, "Q4_0": 0.05} {
		if d := math.Abs(ppl[name]/ppl["F32"] - 1); d > limit {
			t.Errorf("%s: PPL %.4f is %.2f%% from F32's %.4f, want within %g%%", name, ppl[name], 100*d, ppl["F32"], 100*limit)
		}
	}
}
