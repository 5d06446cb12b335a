package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/infer-go/infer"
)

func init() {
	register(command{name: "perplexity", summary: "measure perplexity on a text file like llama-perplexity: infer perplexity -m model.gguf -f text.txt", run: runPerplexity})
}

const perplexityUsage = `usage: infer perplexity -m model.gguf -f text.txt [-c N] [-b N] [--chunks K]

Computes the model's perplexity on the text the way llama.cpp's llama-perplexity
does: the tokens are cut into chunks of the context length (-c, default the
model's, at most 4096), the first half of each chunk is context only and every
later token is scored. Prints the running estimate after each chunk,
[1]12.3456,[2]..., then the final estimate with its standard error.`

// runPerplexity stops at the first SIGINT, SIGTERM or SIGHUP, between
// forward passes, and exits with the signal's status.
func runPerplexity(args []string, stdout, stderr io.Writer) error {
	return withSignals(func(ctx context.Context) error {
		return perplexity(ctx, args, stdout, stderr)
	})
}

func perplexity(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("perplexity", stderr)
	var mf modelFlags
	mf.register(fs)
	file := fs.String("f", "", "text file to score")
	fs.StringVar(file, "file", "", "same as -f")
	mf.batchUsed = true // -b, registered by modelFlags, means something here
	fs.Lookup("b").Usage = "most tokens per forward pass (0: the context length)"
	chunks := fs.Int("chunks", -1, "score at most this many chunks (-1: all)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, perplexityUsage)
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *file == "" {
		return usagef("no text: give -f text.txt")
	}
	text, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	m, err := mf.load()
	if err != nil {
		return err
	}
	defer m.Close()

	start := time.Now()
	tokens := m.Tokenize(string(text), true, false)
	nCtx := m.Config().ContextLength
	b := mf.batch
	if b == 0 || b > nCtx {
		b = nCtx
	}
	fmt.Fprintf(stderr, "perplexity: %d tokens (tokenized in %.2fs); chunks of n_ctx=%d, batch_size=%d\n",
		len(tokens), time.Since(start).Seconds(), nCtx, b)
	start = time.Now()
	res, err := m.Perplexity(ctx, tokens, infer.PerplexityOptions{Batch: b, Chunks: *chunks}, func(c infer.PerplexityChunk) {
		if c.Chunk == 1 {
			pass := time.Since(start).Seconds()
			fmt.Fprintf(stderr, "perplexity: %d chunks, %.2f seconds per pass - ETA %.2f minutes\n", c.Chunks, pass, pass*float64(c.Chunks)/60)
		}
		fmt.Fprintf(stdout, "[%d]%.4f,", c.Chunk, c.PPL)
	})
	fmt.Fprintln(stdout)
	if err != nil {
		return err
	}
	if res.Err > 0 {
		fmt.Fprintf(stdout, "Final estimate: PPL = %.4f +/- %.5f\n", res.PPL, res.Err)
	} else {
		fmt.Fprintf(stdout, "Final estimate: PPL = %.4f\n", res.PPL)
	}
	fmt.Fprintf(stderr, "perplexity: scored %d tokens in %d chunks in %.2fs (%.1f tokens/s)\n",
		res.Scored, res.Chunks, time.Since(start).Seconds(), float64(res.Chunks*nCtx)/time.Since(start).Seconds())
	return nil
}
