package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/infer-go/infer"
	"github.com/infer-go/infer/model"
	"github.com/infer-go/infer/ops"
	"github.com/infer-go/infer/sampler"
)

func init() {
	register(command{name: "generate", summary: "continue a prompt (the default command: infer -m model.gguf -p text)", run: runGenerate})
}

// runGenerate stops generating on the first SIGINT (Ctrl-C), SIGTERM or
// SIGHUP, still prints the timings and exits with the signal's status (130
// for Ctrl-C, as llama-cli); a second one exits at once.
func runGenerate(args []string, stdout, stderr io.Writer) error {
	return withSignals(func(ctx context.Context) error {
		return generate(ctx, args, stdout, stderr)
	})
}

// modelFlags are the flags every model-running command shares, with
// llama.cpp's short and long names, and llama.cpp's flags that mean nothing
// here (accepted, so that a llama.cpp command line runs, and noted once).
type modelFlags struct {
	model     string
	ctx       int
	threads   int
	cacheType model.CacheType
	batch     int  // -b: perplexity's batch size; elsewhere ignored
	batchUsed bool // the command uses -b (no note that it is ignored)
	fs        *flag.FlagSet
}

func (mf *modelFlags) register(fs *flag.FlagSet) {
	mf.fs = fs
	fs.StringVar(&mf.model, "m", "", "model file (GGUF)")
	fs.StringVar(&mf.model, "model", "", "same as -m")
	fs.IntVar(&mf.ctx, "c", 0, "context length in tokens (0: the model's, at most 4096)")
	fs.IntVar(&mf.ctx, "ctx-size", 0, "same as -c")
	fs.IntVar(&mf.threads, "t", ops.DefaultThreads(), "threads")
	fs.IntVar(&mf.threads, "threads", ops.DefaultThreads(), "same as -t")
	fs.Var(&mf.cacheType, "cache-type", "KV cache `TYPE`: f16 or f32")
	var ignored int
	for _, name := range []string{"ngl", "n-gpu-layers", "gpu-layers"} {
		fs.IntVar(&ignored, name, 0, "ignored: infer runs on the CPU (llama.cpp's GPU layers)")
	}
	var ignoredBool bool
	fs.BoolVar(&ignoredBool, "no-mmap", false, "ignored: infer always maps the model file")
	fs.BoolVar(&ignoredBool, "mlock", false, "ignored: infer does not lock the model in RAM")
	fs.IntVar(&mf.batch, "b", 0, "logical batch size (ignored outside perplexity: prompts run in batches of 512)")
	fs.IntVar(&mf.batch, "batch-size", 0, "same as -b")
	fs.IntVar(&ignored, "ub", 0, "ignored: prompts run in physical batches of 512 tokens")
	fs.IntVar(&ignored, "ubatch-size", 0, "same as -ub")
}

// compatNotes say why llama.cpp flags that were given change nothing, one
// line per group of flags, whichever spelling was used.
func (mf *modelFlags) compatNotes(w io.Writer) {
	said := map[string]bool{}
	note := func(group, text string) {
		if !said[group] {
			said[group] = true
			fmt.Fprintln(w, "note: "+text)
		}
	}
	mf.fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "ngl", "n-gpu-layers", "gpu-layers":
			note("ngl", "-ngl is ignored: infer runs on the CPU, there are no GPU layers to offload")
		case "no-mmap":
			note("mmap", "--no-mmap is ignored: infer always maps the model file read-only, so its pages are shared and loaded on demand")
		case "mlock":
			note("mlock", "--mlock is ignored: infer does not lock the model in RAM; pages the system drops are read back from the file")
		case "b", "batch-size":
			if !mf.batchUsed {
				note("batch", "-b/-ub are ignored: prompts are evaluated in batches of 512 tokens")
			}
		case "ub", "ubatch-size":
			note("batch", "-b/-ub are ignored: prompts are evaluated in batches of 512 tokens")
		}
	})
}

// load checks the flags, notes the ignored ones and loads the model,
// warning (as llama.cpp does) when the context asked for is longer than the
// model was trained on.
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
	if mf.batch < 0 {
		return nil, usagef("-b %d: the batch size cannot be negative", mf.batch)
	}
	stderr := io.Discard
	if mf.fs != nil {
		stderr = mf.fs.Output()
		mf.compatNotes(stderr)
	}
	m, err := infer.Load(mf.model, infer.Options{Threads: mf.threads, ContextLength: mf.ctx, CacheType: mf.cacheType})
	if err != nil {
		return nil, err
	}
	if in := m.Info(); in.TrainContext > 0 && in.ContextLength > in.TrainContext {
		fmt.Fprintf(stderr, "warning: n_ctx (%d) > n_ctx_train (%d) -- possible training context overflow\n", in.ContextLength, in.TrainContext)
	}
	return m, nil
}

// promptFlags read the prompt from -p or -f. Escapes (\n, \t, \xHH ...)
// in -p are processed unless --no-escape, as in llama.cpp; a file's text is
// used as it is.
type promptFlags struct {
	text     string
	file     string
	noEscape bool
}

func (pf *promptFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&pf.text, "p", "", "prompt")
	fs.StringVar(&pf.text, "prompt", "", "same as -p")
	fs.StringVar(&pf.file, "f", "", "read the prompt from this file (used as it is: no escape processing)")
	fs.StringVar(&pf.file, "file", "", "same as -f")
	fs.Var(escapeFlag{&pf.noEscape, false}, "e", "process escapes (\\n, \\t, \\\", \\xHH, ...) in -p (the default)")
	fs.Var(escapeFlag{&pf.noEscape, false}, "escape", "same as -e")
	fs.Var(escapeFlag{&pf.noEscape, true}, "no-escape", "do not process escapes in -p")
}

// escapeFlag is -e/--escape (sets noEscape false) or --no-escape (true): a
// boolean flag writing into one shared setting, the last one given winning.
type escapeFlag struct {
	noEscape *bool
	means    bool // the value of noEscape when the flag is given
}

func (f escapeFlag) String() string   { return "" }
func (f escapeFlag) IsBoolFlag() bool { return true }
func (f escapeFlag) Set(v string) error {
	on, err := strconv.ParseBool(v)
	if err != nil {
		return err
	}
	if on {
		*f.noEscape = f.means
	} else {
		*f.noEscape = !f.means
	}
	return nil
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
	if pf.noEscape {
		return pf.text, pf.text != "", nil
	}
	return processEscapes(pf.text), pf.text != "", nil
}

func generate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("generate", stderr)
	var mf modelFlags
	var pf promptFlags
	mf.register(fs)
	pf.register(fs)
	n := fs.Int("n", -1, "tokens to generate (-1: until an end token or the full context, see --no-context-shift; 0: evaluate the prompt only)")
	fs.IntVar(n, "n-predict", -1, "same as -n")
	params := sampler.DefaultParams()
	addSamplerFlags(fs, &params)
	noShift := fs.Bool("no-context-shift", false, "stop when the context is full instead of dropping its older half")
	ignoreEOS := fs.Bool("ignore-eos", false, "keep generating past end-of-generation tokens")
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
	if *n < -1 {
		return usagef("-n %d: want -1 (until an end token or the full context), 0 (the prompt only) or a positive count", *n)
	}
	if err := params.Validate(); err != nil {
		return usageError{err}
	}
	prompt, _, err := pf.prompt()
	if err != nil {
		return err
	}

	m, err := mf.load()
	if err != nil {
		return err
	}
	defer m.Close()
	ids := m.Tokenize(prompt, true, true)
	if missing := m.Tokenizer().Unencodable(prompt, ids); len(missing) > 0 {
		if len(ids) == 0 {
			return fmt.Errorf("empty prompt: %s", describeUnencodable(missing))
		}
		fmt.Fprintf(stderr, "warning: %s: the model does not see them\n", describeUnencodable(missing))
	}
	printModelSummary(stderr, m)
	printSamplerParams(stderr, params)
	fmt.Fprintln(stderr)

	// The prompt is evaluated before it is echoed, so that a prompt that
	// does not fit fails with nothing on stdout.
	s, err := m.NewSession(infer.SessionOptions{})
	if err != nil {
		return err
	}
	defer s.Close()
	es, err := s.Eval(ctx, ids)
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "interrupted")
		return err
	}
	if err != nil {
		return err
	}
	if _, err := io.WriteString(stdout, prompt); err != nil {
		return fmt.Errorf("writing the output: %w", err)
	}
	st := infer.Stats{Load: m.Info().LoadTime, PromptTokens: len(ids), PromptEval: es.Duration}
	if *n == 0 {
		fmt.Fprintln(stdout)
		printTimings(stderr, st)
		return nil
	}

	var writeErr error
	opts := infer.GenerateOptions{Sampler: params, MaxTokens: max(*n, 0), NoContextShift: *noShift, IgnoreEOS: *ignoreEOS}
	gst, err := s.Generate(ctx, ids, opts, func(t infer.Token) bool {
		if t.Text == "" {
			return true
		}
		_, writeErr = io.WriteString(stdout, t.Text)
		return writeErr == nil
	})
	// The prompt was evaluated by Eval above; Generate found it cached.
	gst.CachedTokens, gst.PromptEval = 0, es.Duration
	fmt.Fprintln(stdout)
	switch {
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "\ninterrupted")
	case err != nil:
		return err
	case writeErr != nil:
		return fmt.Errorf("writing the output: %w", writeErr)
	}
	printTimings(stderr, gst)
	return err
}

// describeUnencodable names characters the vocabulary cannot encode:
// "the vocabulary cannot encode 'é' (U+00E9), '~' (U+007E)".
func describeUnencodable(rs []rune) string {
	const most = 10
	parts := make([]string, 0, min(len(rs), most)+1)
	for i, r := range rs {
		if i == most {
			parts = append(parts, fmt.Sprintf("and %d more", len(rs)-most))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (U+%04X)", strconv.QuoteRune(r), r))
	}
	return "the vocabulary cannot encode " + strings.Join(parts, ", ")
}

func printModelSummary(w io.Writer, m *infer.Model) {
	in := m.Info()
	name := in.Name
	if name == "" {
		name = in.Path
	}
	fmt.Fprintf(w, "model: %s: %s, %s params, %s, %s file, vocab %d\n",
		name, in.Arch, humanCount(in.Params), in.FileType, humanBytes(in.FileBytes), in.VocabSize)
	fmt.Fprintf(w, "context: %d tokens (trained on %d), KV cache %.2f MiB (%s), %s, loaded in %.2f ms\n",
		in.ContextLength, in.TrainContext, float64(in.KVCacheBytes)/(1<<20), in.CacheType, plural(in.Threads, "thread"), ms(in.LoadTime))
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

// plural is "1 thread", "2 threads".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
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
