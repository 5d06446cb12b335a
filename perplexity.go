package infer

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/infer-go/infer/model"
)

// PerplexityOptions choose how Perplexity cuts the text.
type PerplexityOptions struct {
	// Context is the chunk length in tokens; 0: the model's context
	// (Config().ContextLength). It may not exceed it.
	Context int
	// Batch is the most tokens one forward pass takes; 0: Context.
	Batch int
	// Chunks limits the chunks scored; <= 0: every whole chunk.
	Chunks int
}

// PerplexityChunk is the state after one chunk.
type PerplexityChunk struct {
	Chunk, Chunks int     // 1-based index, and the total
	PPL           float64 // the running estimate over all chunks so far
}

// PerplexityResult is llama-perplexity's final estimate.
type PerplexityResult struct {
	PPL    float64 // exp(mean negative log-likelihood)
	Err    float64 // its standard error (llama.cpp's +/-); 0 when undefined
	NLL    float64 // mean negative log-likelihood, nats per token
	Chunks int
	Scored int // tokens scored
	Tokens int // tokens in the text
}

// ErrTextTooShort is wrapped by Perplexity's error when the text has fewer
// than two chunks of tokens (llama-perplexity asks for 2 x context).
var ErrTextTooShort = errors.New("text too short for perplexity")

// Perplexity measures the model's perplexity on tokens the way llama.cpp's
// llama-perplexity does: the tokens are cut into chunks of Context tokens
// (a partial last chunk is dropped); each chunk is run from position 0 with
// an empty cache (its first token replaced by BOS when the vocabulary adds
// one); the first Context/2 positions are context only, and every later
// position but the last scores the next token's log-probability. The
// estimate is exp of the mean negative log-likelihood, and its error
// llama.cpp's: PPL x sqrt(var(nll) / (n-1)). chunk, if set, is called after
// each chunk with the running estimate; ctx is checked between forward passes.
func (m *Model) Perplexity(ctx context.Context, tokens []int32, opts PerplexityOptions, chunk func(PerplexityChunk)) (PerplexityResult, error) {
	res := PerplexityResult{Tokens: len(tokens)}
	s, unlock, err := m.useOneShot()
	if err != nil {
		return res, err
	}
	defer unlock()
	ctx = m.watch(ctx)
	nCtx, nBatch := opts.Context, opts.Batch
	if nCtx == 0 {
		nCtx = m.cfg.ContextLength
	}
	if nBatch == 0 {
		nBatch = nCtx
	}
	switch {
	case nCtx < 3 || nCtx > m.cfg.ContextLength:
		// Below 3 tokens no position is scored.
		return res, fmt.Errorf("infer: perplexity: context %d: want 3 to %d (the model's context)", nCtx, m.cfg.ContextLength)
	case nBatch < 1:
		return res, fmt.Errorf("infer: perplexity: batch %d: want at least 1", nBatch)
	case len(tokens) < 2*nCtx:
		return res, fmt.Errorf("infer: perplexity: %w: %d tokens, want at least %d (2 x context %d)", ErrTextTooShort, len(tokens), 2*nCtx, nCtx)
	}
	vocab := m.cfg.VocabSize
	// The last token of a chunk is only a target, never run through the
	// model (which checks the tokens it runs): check the targets here.
	for i, t := range tokens {
		if t < 0 || int(t) >= vocab {
			return res, fmt.Errorf("infer: perplexity: token %d (index %d) out of range [0, %d)", t, i, vocab)
		}
	}
	nChunks := len(tokens) / nCtx
	if opts.Chunks > 0 {
		nChunks = min(nChunks, opts.Chunks)
	}

	first := nCtx / 2
	scored := nCtx - 1 - first // positions first .. nCtx-2
	logits := make([]float32, scored*vocab)
	last := make([]float32, vocab)
	buf := make([]int32, nCtx)
	var nll, nll2 float64
	count := 0
	err = s.withState(func(st *model.State) error {
		for c := range nChunks {
			copy(buf, tokens[c*nCtx:(c+1)*nCtx])
			if m.tok.AddBOS() && m.tok.BOS() >= 0 {
				buf[0] = m.tok.BOS()
			}
			// Positions before first only fill the cache; first .. nCtx-2
			// give the logits that are scored; the last token is only a target.
			for lo := 0; lo < nCtx-1; {
				if err := ctx.Err(); err != nil {
					return err
				}
				hi := min(lo+nBatch, nCtx-1)
				if lo < first {
					hi = min(hi, first)
					if err := st.Forward(buf[lo:hi], lo, false, last); err != nil {
						return fmt.Errorf("infer: perplexity: chunk %d: %w", c+1, err)
					}
				} else {
					out := logits[(lo-first)*vocab : (hi-first)*vocab]
					if err := st.Forward(buf[lo:hi], lo, true, out); err != nil {
						return fmt.Errorf("infer: perplexity: chunk %d: %w", c+1, err)
					}
				}
				lo = hi
			}
			for i := range scored {
				v := -logSoftmaxAt(logits[i*vocab:(i+1)*vocab], tokens[c*nCtx+first+i+1])
				nll += v
				nll2 += v * v
			}
			count += scored
			if chunk != nil {
				chunk(PerplexityChunk{Chunk: c + 1, Chunks: nChunks, PPL: math.Exp(nll / float64(count))})
			}
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	res.Chunks, res.Scored = nChunks, count
	mean := nll / float64(count)
	res.NLL, res.PPL = mean, math.Exp(mean)
	if variance := nll2/float64(count) - mean*mean; variance > 0 && count > 1 {
		res.Err = math.Sqrt(variance/float64(count-1)) * res.PPL
	}
	return res, nil
}

// logSoftmaxAt is log(softmax(logits)[tok]), computed as llama-perplexity
// does: float exponentials summed in double.
func logSoftmaxAt(logits []float32, tok int32) float64 {
	mx := logits[0]
	for _, v := range logits[1:] {
		mx = max(mx, v)
	}
	var sum float64
	for _, v := range logits {
		sum += float64(float32(math.Exp(float64(v - mx))))
	}
	return float64(logits[tok]-mx) - math.Log(sum)
}
