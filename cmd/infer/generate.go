package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"time"

	"github.com/infer-go/infer"
	"github.com/infer-go/infer/model"
	"github.com/infer-go/infer/ops"
	"github.com/infer-go/infer/sampler"
)

func init() {
	register(command{name: "generate", summary: "continue a prompt (the default command: infer -m model.gguf -p text)", run: runGenerate})
}

// runGenerate stops generating on SIGINT (Ctrl-C) and still prints the
// timings; a second Ctrl-C kills the process as usual, since the handler is
// removed once the first has cancelled the context.
func runGenerate(args []string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	return generate(ctx, args, stdout, stderr)
}

// modelFlags are the flags every model-running command shares, with
// llama.cpp's short and long names.
type modelFlags struct {
	model     string
	ctx       int
	threads   int
	cacheType model.CacheType
}

func (mf *modelFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&mf.model, "m", "", "model file (GGUF)")
	fs.StringVar(&mf.model, "model", "", "same as -m")
	fs.IntVar(&mf.ctx, "c", 0, "context length in tokens (0: the model's, at most 4096)")
	fs.IntVar(&mf.ctx, "ctx-size", 0, "same as -c")
	fs.IntVar(&mf.threads, "t", ops.DefaultThreads(), "threads")
	fs.IntVar(&mf.threads, "threads", ops.DefaultThreads(), "same as -t")
	fs.Var(&mf.cacheType, "cache-type", "KV cache type: f16 or f32")
}

func (mf *modelFlags) load() (*infer.Model, error) {
	if mf.model == "" {
		return nil, usagef("no model: give -m model.gguf")
	}
	if mf.threads < 1 {
		return nil, usagef("-t %d: want at least 1 thread", mf.threads)
	}
	if mf.ctx < 0 {
		return nil, usagef("-c %d: the context length cannot be negative", mf.ctx)
	}
	return infer.Load(mf.model, infer.Options{Threads: mf.threads, ContextLength: mf.ctx, CacheType: mf.cacheType})
}

// promptFlags read the prompt from -p or -f.
type promptFlags struct {
	text string
	file string
}

func (pf *promptFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&pf.text, "p", "", "prompt")
	fs.StringVar(&pf.text, "prompt", "", "same as -p")
	fs.StringVar(&pf.file, "f", "", "read the prompt from this file")
	fs.StringVar(&pf.file, "file", "", "same as -f")
}

// prompt returns the prompt and whether one was given.
func (pf *promptFlags) prompt() (string, bool, error) {
	switch {
	case pf.text != "" && pf.file != "":
		return "", false, usagef("give the prompt with -p or -f, not both")
	case pf.file != "":
		b, err := os.ReadFile(pf.file)
		if err != nil {
			return "", false, fmt.Errorf("prompt file: %w", err)
		}
		return string(b), true, nil
	}
	return pf.text, pf.text != "", nil
}

func generate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("generate", stderr)
	var mf modelFlags
	var pf promptFlags
	mf.register(fs)
	pf.register(fs)
	n := fs.Int("n", -1, "tokens to generate (-1: until end of generation; see --no-context-shift)")
	fs.IntVar(n, "n-predict", -1, "same as -n")
	d := sampler.DefaultParams()
	temp := fs.Float64("temp", float64(d.Temp), "temperature (<= 0: greedy)")
	seed := fs.Int64("seed", -1, "random seed (-1: a random one)")
	fs.Int64Var(seed, "s", -1, "same as --seed")
	topK := fs.Int("top-k", d.TopK, "keep the k most likely tokens (0: off)")
	topP := fs.Float64("top-p", float64(d.TopP), "keep the most likely tokens up to this probability mass (1: off)")
	minP := fs.Float64("min-p", float64(d.MinP), "drop tokens below this fraction of the best token's probability (0: off)")
	repeatPenalty := fs.Float64("repeat-penalty", float64(d.RepeatPenalty), "penalty for repeated tokens (1: off)")
	repeatLastN := fs.Int("repeat-last-n", d.RepeatLastN, "tokens the repeat penalty looks back on (0: off, -1: the context)")
	noShift := fs.Bool("no-context-shift", false, "stop when the context is full instead of dropping its older half")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: infer [generate] -m model.gguf [-p prompt | -f file] [-n tokens] [flags]")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (the prompt goes in -p)", fs.Arg(0))
	}
	prompt, _, err := pf.prompt()
	if err != nil {
		return err
	}
	if *repeatLastN < -1 {
		return usagef("--repeat-last-n %d: want -1 or more", *repeatLastN)
	}
	params := sampler.Params{
		Temp:          float32(*temp),
		TopK:          *topK,
		TopP:          float32(*topP),
		MinP:          float32(*minP),
		RepeatPenalty: float32(*repeatPenalty),
		RepeatLastN:   *repeatLastN,
		Seed:          uint64(*seed),
	}
	if *seed < 0 {
		params.Seed = rand.Uint64() // the process's randomly seeded source
	}

	m, err := mf.load()
	if err != nil {
		return err
	}
	defer m.Close()
	printModelSummary(stderr, m)
	fmt.Fprintf(stderr, "sampling: temp %.2f, top-k %d, top-p %.2f, min-p %.2f, repeat-penalty %.2f (last %d), seed %d\n\n",
		params.Temp, params.TopK, params.TopP, params.MinP, params.RepeatPenalty, params.RepeatLastN, params.Seed)

	fmt.Fprint(stdout, prompt)
	var writeErr error
	opts := infer.GenerateOptions{Sampler: params, MaxTokens: max(*n, 0), NoContextShift: *noShift}
	st, err := m.Generate(ctx, prompt, opts, func(piece string) bool {
		_, writeErr = io.WriteString(stdout, piece)
		return writeErr == nil
	})
	fmt.Fprintln(stdout)
	switch {
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "\ninterrupted")
	case err != nil:
		return err
	case writeErr != nil:
		return fmt.Errorf("writing the output: %w", writeErr)
	}
	printTimings(stderr, st)
	return nil
}

func printModelSummary(w io.Writer, m *infer.Model) {
	in := m.Info()
	name := in.Name
	if name == "" {
		name = in.Path
	}
	fmt.Fprintf(w, "model: %s: %s, %s params, %s, %s file, vocab %d\n",
		name, in.Arch, humanCount(in.Params), in.FileType, humanBytes(in.FileBytes), in.VocabSize)
	fmt.Fprintf(w, "context: %d tokens (trained on %d), KV cache %.2f MiB (%s), %d threads, loaded in %.2f ms\n",
		in.ContextLength, in.TrainContext, float64(in.KVCacheBytes)/(1<<20), in.CacheType, in.Threads, ms(in.LoadTime))
}

// printTimings prints a block like llama.cpp's llama_perf_context_print.
func printTimings(w io.Writer, st infer.Stats) {
	fmt.Fprintf(w, "\n")
	fmt.Fprintf(w, "       load time = %10.2f ms\n", ms(st.Load))
	fmt.Fprintf(w, "prompt eval time = %10.2f ms / %5d tokens (%8.2f ms per token, %8.2f tokens per second)\n",
		ms(st.PromptEval), st.PromptTokens, perToken(st.PromptEval, st.PromptTokens), perSecond(st.PromptEval, st.PromptTokens))
	fmt.Fprintf(w, "       eval time = %10.2f ms / %5d runs   (%8.2f ms per token, %8.2f tokens per second)\n",
		ms(st.Generation), st.GeneratedTokens, perToken(st.Generation, st.GeneratedTokens), perSecond(st.Generation, st.GeneratedTokens))
	fmt.Fprintf(w, "      total time = %10.2f ms / %5d tokens\n",
		ms(st.Load+st.PromptEval+st.Generation), st.PromptTokens+st.GeneratedTokens)
	if st.Stop != "" {
		fmt.Fprintf(w, "stopped: %s\n", st.Stop)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func perToken(d time.Duration, n int) float64 {
	if n == 0 {
		return 0
	}
	return ms(d) / float64(n)
}

func perSecond(d time.Duration, n int) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
