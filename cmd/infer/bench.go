package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/infer-go/infer"
	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/model"
	"github.com/infer-go/infer/ops"
)

func init() {
	register(command{name: "bench", summary: "measure prompt processing and generation speed (like llama-bench)", run: runBench})
}

// benchSeed fixes the random token ids, so two runs of the bench time the
// same work.
const benchSeed = 1234

// benchResult is one row of the table: one test at one thread count. The
// JSON names follow llama-bench's -o json where it has the field.
type benchResult struct {
	Model     string    `json:"model"`
	Size      uint64    `json:"size"`   // bytes of tensor data
	Params    uint64    `json:"params"` // elements in all tensors
	Threads   int       `json:"threads"`
	Test      string    `json:"test"` // "pp512" or "tg128"
	NPrompt   int       `json:"n_prompt"`
	NGen      int       `json:"n_gen"`
	AvgTS     float64   `json:"avg_ts"`    // tokens per second, mean over the repetitions
	StddevTS  float64   `json:"stddev_ts"` // sample standard deviation
	SamplesTS []float64 `json:"samples_ts"`

	// Not in llama-bench. For tg: the weight bytes one generated token
	// reads (every tensor but token_embd's unused rows) and the bandwidth
	// that implies at AvgTS; with --mem-bw, the machine's read bandwidth
	// and the share of it tg reached.
	WeightBytesPerToken uint64  `json:"weight_bytes_per_token,omitempty"`
	WeightGBps          float64 `json:"weight_gbps,omitempty"`
	MemoryGBps          float64 `json:"memory_gbps,omitempty"`
	MemoryShare         float64 `json:"memory_share,omitempty"`
	// LoadMS is the load time of this row's model; PeakRSS the process's
	// peak resident memory when the row finished (0 where unknown).
	LoadMS  float64 `json:"load_ms"`
	PeakRSS uint64  `json:"peak_rss_bytes,omitempty"`
}

type benchConfig struct {
	model     string
	ctx       int
	cacheType model.CacheType
	prompt    int // tokens in the pp test
	gen       int // tokens in the tg test
	threads   []int
	reps      int
	output    string
	memBW     bool // measure the machine's read bandwidth (--mem-bw)
	noted     bool // the notes on capped sizes were printed (once, not per thread count)
}

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", stderr)
	var bc benchConfig
	fs.StringVar(&bc.model, "m", "", "model file (GGUF)")
	fs.StringVar(&bc.model, "model", "", "same as -m")
	fs.IntVar(&bc.ctx, "c", 0, "context length in tokens (0: the model's, at most 4096); caps -p and -n")
	fs.IntVar(&bc.ctx, "ctx-size", 0, "same as -c")
	fs.Var(&bc.cacheType, "cache-type", "KV cache type: f16 or f32")
	fs.IntVar(&bc.prompt, "p", 512, "prompt tokens processed in one batch (the ppN test; 0: no pp test)")
	fs.IntVar(&bc.prompt, "n-prompt", 512, "same as -p")
	fs.IntVar(&bc.gen, "n", 128, "tokens generated one at a time (the tgN test; 0: no tg test)")
	fs.IntVar(&bc.gen, "n-gen", 128, "same as -n")
	threads := fs.String("t", strconv.Itoa(ops.DefaultThreads()), "thread counts, comma-separated (e.g. 1,2,4)")
	fs.StringVar(threads, "threads", *threads, "same as -t")
	fs.IntVar(&bc.reps, "r", 5, "timed repetitions of each test (after one untimed warm-up)")
	fs.IntVar(&bc.reps, "repetitions", 5, "same as -r")
	fs.StringVar(&bc.output, "o", "md", "output format: md or json")
	fs.StringVar(&bc.output, "output", "md", "same as -o")
	fs.BoolVar(&bc.memBW, "mem-bw", false, "also measure the machine's memory read bandwidth, and the share of it tg reaches")
	var ignored string
	for _, name := range benchIgnoredFlags {
		fs.StringVar(&ignored, name, "", "ignored (llama-bench's GPU, batch and mmap settings): infer runs on the CPU, evaluates prompts in batches of 512 and always maps the file")
	}
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: infer bench -m model.gguf [-p 512] [-n 128] [-t 1,2,...] [-r 5] [-o md|json] [--mem-bw]")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if bc.threads, err = parseThreadList(*threads); err != nil {
		return err
	}
	switch {
	case bc.model == "":
		return usagef("no model: give -m model.gguf")
	case bc.prompt < 0:
		return usagef("-p %d: want 0 (no pp test) or more prompt tokens", bc.prompt)
	case bc.gen < 0:
		return usagef("-n %d: want 0 (no tg test) or more generated tokens", bc.gen)
	case bc.prompt == 0 && bc.gen == 0:
		return usagef("-p 0 -n 0: no test to run")
	case bc.reps < 1:
		return usagef("-r %d: want at least 1 repetition", bc.reps)
	case bc.ctx < 0:
		return usagef("-c %d: the context length cannot be negative", bc.ctx)
	case bc.output != "md" && bc.output != "json":
		return usagef("-o %q: want md or json", bc.output)
	}
	size, perToken, err := tensorBytes(bc.model)
	if err != nil {
		return err
	}
	var given []string
	fs.Visit(func(f *flag.Flag) {
		if slices.Contains(benchIgnoredFlags, f.Name) {
			given = append(given, "-"+f.Name)
		}
	})
	if len(given) > 0 {
		fmt.Fprintf(stderr, "note: %s ignored: infer runs on the CPU, evaluates prompts in batches of 512 and always maps the file\n", strings.Join(given, ", "))
	}

	var results []benchResult
	var table *benchTable
	var loadMS float64
	for i, t := range bc.threads {
		m, err := infer.Load(bc.model, infer.Options{Threads: t, ContextLength: bc.ctx, CacheType: bc.cacheType})
		if err != nil {
			return err
		}
		if i == 0 {
			loadMS = ms(m.Info().LoadTime) // later loads find the file in the page cache
		}
		_, err = benchModel(m, &bc, size, stderr, func(r benchResult) {
			r.LoadMS = loadMS
			r.PeakRSS = peakRSS()
			if r.NGen > 0 {
				r.WeightBytesPerToken = perToken
				r.WeightGBps = float64(perToken) * r.AvgTS / 1e9
			}
			results = append(results, r)
			if bc.output != "md" {
				return
			}
			if table == nil {
				table = newBenchTable(stdout, r.Model)
			}
			table.row(r)
		})
		m.Close()
		if err != nil {
			return err
		}
	}
	// The bandwidth is measured after the tests, so that its buffer counts
	// in neither their timings nor the peak RSS they report.
	rss := peakRSS()
	if bc.memBW && bc.gen > 0 {
		gbps := memoryReadGBps(runtime.NumCPU())
		for i := range results {
			if results[i].NGen > 0 {
				results[i].MemoryGBps = gbps
				results[i].MemoryShare = results[i].WeightGBps / gbps
			}
		}
	}
	if bc.output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	if table == nil {
		return nil
	}
	table.print("\n")
	writeBenchExtras(table, results, loadMS, rss)
	return table.err
}

// writeBenchExtras prints, under the table, what llama-bench does not: the
// weight bandwidth each tg row implies (and its share of the machine's,
// with --mem-bw), the load time and the peak RSS.
func writeBenchExtras(t *benchTable, results []benchResult, loadMS float64, rss uint64) {
	for _, r := range results {
		if r.NGen == 0 {
			continue
		}
		line := fmt.Sprintf("%s, %s: %.2f GB/s of weights (%s read per token)", r.Test, plural(r.Threads, "thread"),
			r.WeightGBps, humanBytes(r.WeightBytesPerToken))
		if r.MemoryGBps > 0 {
			line += fmt.Sprintf(", %.0f%% of the measured %.2f GB/s memory read bandwidth", 100*r.MemoryShare, r.MemoryGBps)
		}
		t.print(line + "\n")
	}
	line := fmt.Sprintf("model load: %.2f ms", loadMS)
	if rss > 0 {
		line += fmt.Sprintf(", peak RSS: %s", humanBytes(rss))
	}
	t.print(line + "\n")
}

// benchIgnoredFlags are llama-bench's flags that mean nothing here.
var benchIgnoredFlags = []string{"ngl", "n-gpu-layers", "b", "batch-size", "ub", "ubatch-size", "mmp", "mmap"}

// parseThreadList reads "4" or "1,2,4".
func parseThreadList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, usagef("-t %q: want thread counts of at least 1, comma-separated (e.g. 1,2,4)", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// tensorBytes returns the model's size as llama-bench reports it (the
// tensor data, without the header and metadata) and the bytes of weights
// one generated token reads: every tensor, except that of token_embd only
// the token's row is read, unless the output matrix is tied to it (no
// output.weight), when all of it is.
func tensorBytes(path string) (size, perToken uint64, err error) {
	f, err := gguf.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	var embd *gguf.TensorInfo
	tied := true
	for i := range f.Tensors {
		t := &f.Tensors[i]
		size += t.Size
		switch t.Name {
		case "token_embd.weight":
			embd = t
		case "output.weight":
			tied = false
		}
	}
	perToken = size
	if embd != nil && !tied && len(embd.Dims) == 2 && embd.Dims[1] > 0 {
		perToken -= embd.Size - embd.Size/embd.Dims[1]
	}
	return size, perToken, nil
}

// memoryReadGBps measures the machine's memory read bandwidth once: threads
// goroutines sum disjoint parts of a buffer far larger than the caches, the
// best of three passes counts.
func memoryReadGBps(threads int) float64 {
	const bytes = 256 << 20
	buf := make([]uint64, bytes/8)
	for i := range buf {
		buf[i] = uint64(i) // touch every page before timing
	}
	best := time.Duration(math.MaxInt64)
	var sink atomic.Uint64
	for range 3 {
		start := time.Now()
		var wg sync.WaitGroup
		chunk := (len(buf) + threads - 1) / threads
		for lo := 0; lo < len(buf); lo += chunk {
			part := buf[lo:min(lo+chunk, len(buf))]
			wg.Go(func() { sink.Add(sumWords(part)) })
		}
		wg.Wait()
		best = min(best, time.Since(start))
	}
	return bytes / best.Seconds() / 1e9
}

// sumWords reads xs with four independent sums, so that the loads, not one
// chain of additions, set the pace.
func sumWords(xs []uint64) uint64 {
	var a, b, c, d uint64
	for len(xs) >= 4 {
		a += xs[0]
		b += xs[1]
		c += xs[2]
		d += xs[3]
		xs = xs[4:]
	}
	for _, x := range xs {
		a += x
	}
	return a + b + c + d
}

// benchModel runs the pp and tg tests on m (loaded with the thread count
// under test), calling row as each finishes.
func benchModel(m *infer.Model, bc *benchConfig, size uint64, stderr io.Writer, row func(benchResult)) ([]benchResult, error) {
	in := m.Info()
	s, err := m.NewSession(infer.SessionOptions{})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	ctxLen := m.Config().ContextLength
	ids := benchTokens(m)
	if len(ids) == 0 {
		return nil, errors.New("the vocabulary has no token that is not a control token")
	}
	rng := rand.New(rand.NewPCG(benchSeed, uint64(in.Threads)))
	base := benchResult{
		Model:   strings.TrimSpace(in.Arch + " " + in.FileType),
		Size:    size,
		Params:  in.Params,
		Threads: in.Threads,
	}

	note := func(format string, a ...any) {
		if !bc.noted {
			fmt.Fprintf(stderr, format, a...)
		}
	}
	defer func() { bc.noted = true }()
	np := bc.prompt
	if np > ctxLen {
		note("note: -p %d does not fit in the context of %d tokens: timing pp%d instead\n", np, ctxLen, ctxLen)
		np = ctxLen
	}
	// tg starts from a one-token prompt at position 0, so n decode steps
	// reach position n.
	ng := bc.gen
	if ng > ctxLen-1 {
		note("note: -n %d does not fit in the context of %d tokens after the 1-token prompt: timing tg%d instead\n", ng, ctxLen, ctxLen-1)
		ng = ctxLen - 1
	}

	var out []benchResult
	if np > 0 {
		pp := base
		pp.Test, pp.NPrompt = fmt.Sprintf("pp%d", np), np
		samples, err := repeatBench(bc.reps, np, func() (time.Duration, error) { return benchPrompt(s, m, ids, rng, np) })
		if err != nil {
			return nil, fmt.Errorf("pp%d, %d threads: %w", np, in.Threads, err)
		}
		pp.SamplesTS = samples
		pp.AvgTS, pp.StddevTS = meanStddev(samples)
		row(pp)
		out = append(out, pp)
	}

	if bc.gen == 0 {
		return out, nil
	}
	if ng < 1 {
		note("note: the context of %d tokens leaves no room for a tg test\n", ctxLen)
		return out, nil
	}
	tg := base
	tg.Test, tg.NGen = fmt.Sprintf("tg%d", ng), ng
	samples, err := repeatBench(bc.reps, ng, func() (time.Duration, error) { return benchGenerate(s, m, ids, rng, ng) })
	if err != nil {
		return nil, fmt.Errorf("tg%d, %d threads: %w", ng, in.Threads, err)
	}
	tg.SamplesTS = samples
	tg.AvgTS, tg.StddevTS = meanStddev(samples)
	row(tg)
	return append(out, tg), nil
}

// repeatBench runs one untimed warm-up (first touches of the mapped weights,
// cache allocation) and then reps timed runs, returning tokens per second.
func repeatBench(reps, tokens int, once func() (time.Duration, error)) ([]float64, error) {
	if _, err := once(); err != nil {
		return nil, err
	}
	ts := make([]float64, reps)
	for i := range ts {
		d, err := once()
		if err != nil {
			return nil, err
		}
		ts[i] = float64(tokens) / d.Seconds()
	}
	return ts, nil
}

// benchTokens lists the ids a random prompt draws from: every token but
// control and end-of-generation ones, which a real prompt would not be made of.
func benchTokens(m *infer.Model) []int32 {
	tok := m.Tokenizer()
	var ids []int32
	for id := int32(0); int(id) < tok.VocabSize(); id++ {
		if !tok.IsControl(id) && !tok.IsEOG(id) && !(tok.AddBOS() && id == tok.BOS()) {
			ids = append(ids, id)
		}
	}
	return ids
}

// benchPrompt times n random tokens run as one batch from position 0.
func benchPrompt(s *infer.Session, m *infer.Model, ids []int32, rng *rand.Rand, n int) (time.Duration, error) {
	prompt := make([]int32, n)
	for i := range prompt {
		prompt[i] = ids[rng.IntN(len(ids))]
	}
	if m.Tokenizer().AddBOS() {
		prompt[0] = m.Tokenizer().BOS()
	}
	s.Reset()
	es, err := s.Eval(context.Background(), prompt)
	return es.Duration, err
}

// benchGenerate times n decode steps of one token each, as llama-bench's tg
// test does: from the BOS (or a random token) at position 0, each step runs
// one random token after the tokens before it, so only it is evaluated.
func benchGenerate(s *infer.Session, m *infer.Model, ids []int32, rng *rand.Rand, n int) (time.Duration, error) {
	tok := m.Tokenizer()
	seq := make([]int32, 1, n+1)
	seq[0] = ids[rng.IntN(len(ids))]
	if tok.AddBOS() {
		seq[0] = tok.BOS()
	}
	s.Reset()
	var total time.Duration
	for range n {
		es, err := s.Eval(context.Background(), seq)
		if err != nil {
			return 0, err
		}
		total += es.Duration
		seq = append(seq, ids[rng.IntN(len(ids))])
	}
	return total, nil
}

// meanStddev returns the mean and the sample standard deviation (0 for one
// sample), as llama-bench reports them.
func meanStddev(xs []float64) (mean, sd float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1))
}

// benchTable prints llama-bench's markdown table a row at a time, so a long
// bench shows progress.
type benchTable struct {
	w      io.Writer
	widths [6]int
	err    error
}

func newBenchTable(w io.Writer, model string) *benchTable {
	t := &benchTable{w: w, widths: [6]int{max(30, len(model)), 10, 10, 7, 13, 20}}
	t.line("model", "size", "params", "threads", "test", "t/s")
	seps := make([]string, len(t.widths))
	for i, n := range t.widths {
		if i == 0 {
			seps[i] = strings.Repeat("-", n)
		} else {
			seps[i] = strings.Repeat("-", n-1) + ":" // right-aligned, as llama-bench marks numbers
		}
	}
	t.print("| " + strings.Join(seps, " | ") + " |\n")
	return t
}

func (t *benchTable) row(r benchResult) {
	t.line(r.Model, humanBytes(r.Size), humanCount(r.Params), strconv.Itoa(r.Threads), r.Test,
		fmt.Sprintf("%.2f ± %.2f", r.AvgTS, r.StddevTS))
}

func (t *benchTable) line(cells ...string) {
	var b strings.Builder
	for i, c := range cells {
		pad := t.widths[i] - len([]rune(c))
		if i == 0 {
			fmt.Fprintf(&b, "| %s%s ", c, strings.Repeat(" ", max(pad, 0)))
		} else {
			fmt.Fprintf(&b, "| %s%s ", strings.Repeat(" ", max(pad, 0)), c)
		}
	}
	t.print(b.String() + "|\n")
}

func (t *benchTable) print(s string) {
	if t.err == nil {
		_, t.err = io.WriteString(t.w, s)
	}
}
