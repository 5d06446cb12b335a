package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/infer-go/infer/quantize"
)

func init() {
	register(command{name: "quantize", summary: "quantize a GGUF model like llama-quantize: infer quantize in.gguf out.gguf Q4_K_M", run: runQuantize})
}

const quantizeUsage = `usage: infer quantize [--pure] [-t N] [--no-progress] in.gguf out.gguf TYPE

Writes out.gguf, in.gguf with its weight matrices converted to TYPE the way
llama.cpp's llama-quantize does (without an importance matrix): norms, biases
and other vectors are copied as they are, and the _S/_M/_L mixtures give the
output matrix and some attention and feed-forward matrices more bits.
TYPE (any case, or llama.cpp's ftype number): %s.`

func runQuantize(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("quantize", stderr)
	pure := fs.Bool("pure", false, "give every weight matrix TYPE's base type: no mixture, no special output type")
	threads := fs.Int("t", runtime.NumCPU(), "threads")
	noProgress := fs.Bool("no-progress", false, "no progress bar (there is none unless stderr is a terminal)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, quantizeUsage+"\n\nflags:\n", quantTypeNames())
		fs.PrintDefaults()
	}
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 3 {
		return usagef("want in.gguf out.gguf TYPE, have %d arguments (see infer quantize -h)", len(rest))
	}
	in, out := rest[0], rest[1]
	ft, err := quantize.ParseFileType(rest[2])
	if err != nil {
		return usagef("%v", err)
	}
	if *threads < 1 {
		return usagef("-t %d: want at least 1 thread", *threads)
	}

	// A stop signal (Ctrl-C, SIGTERM, SIGHUP) stops between batches of rows;
	// the writer then removes its temporary file, so no partial output is
	// left, and the exit status says which signal it was.
	noteStaleTemps(stderr, out)
	var res *quantize.Result
	err = withSignals(func(ctx context.Context) error {
		bar := newProgressBar(stderr, !*noProgress)
		defer bar.finish()
		var err error
		res, err = quantize.File(in, out, ft, quantize.Options{
			Pure: *pure, Threads: *threads, Context: ctx, Progress: bar.update,
		})
		return err
	})
	if err != nil {
		return err
	}
	printFallbacks(stderr, res)
	printRequantized(stderr, res)
	printQuantizeSummary(stdout, res, ft, out)
	return nil
}

func quantTypeNames() string {
	var names []string
	for _, ft := range quantize.FileTypes() {
		names = append(names, ft.Name)
	}
	return strings.Join(names, ", ")
}

// quantizeProgress draws a progress bar on stderr when it is a terminal;
// elsewhere (logs, pipes) it draws nothing, since a bar's carriage returns
// only clutter a file.
type quantizeProgress struct {
	w   io.Writer
	on  bool
	bar *progressbar.ProgressBar
}

// newProgressBar returns a bar drawn on w if enabled (no --no-progress) and
// w is a terminal.
func newProgressBar(w io.Writer, enabled bool) *quantizeProgress {
	return &quantizeProgress{w: w, on: enabled && writerIsTerminal(w)}
}

// writerIsTerminal says whether w is a terminal.
func writerIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (p *quantizeProgress) update(tensor string, done, total uint64) {
	if !p.on {
		return
	}
	if p.bar == nil {
		p.bar = progressbar.NewOptions64(int64(total),
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish())
	}
	p.bar.Describe(fmt.Sprintf("%-28s", tensor))
	p.bar.Set64(int64(done))
}

func (p *quantizeProgress) finish() {
	if p.bar != nil {
		p.bar.Finish()
		p.bar = nil
	}
}

// printFallbacks warns, as llama-quantize does, about tensors whose rows do
// not fit the type the rules chose.
func printFallbacks(w io.Writer, res *quantize.Result) {
	n := 0
	for _, t := range res.Tensors {
		if t.Fallback {
			if n < 10 {
				fmt.Fprintf(w, "warning: %s: rows of %d are not whole %s blocks; used %s\n", t.Name, t.Dims[0], t.Wanted, t.To)
			}
			n++
		}
	}
	if n > 10 {
		fmt.Fprintf(w, "warning: ... and %d more\n", n-10)
	}
	if n > 0 {
		fmt.Fprintf(w, "warning: %d of %d tensors needed a fallback type\n", n, len(res.Tensors))
	}
}

// printRequantized warns when weights were already quantized: llama-quantize
// refuses them without --allow-requantize, since the errors compound.
func printRequantized(w io.Writer, res *quantize.Result) {
	n := 0
	from := map[string]bool{}
	for _, t := range res.Tensors {
		if t.From != t.To && t.From.BlockSize() > 1 {
			n++
			from[t.From.String()] = true
		}
	}
	if n > 0 {
		fmt.Fprintf(w, "warning: requantized %d tensors from %s: quality is lower than quantizing the F32/F16/BF16 model\n",
			n, strings.Join(slices.Sorted(maps.Keys(from)), ", "))
	}
}

// printQuantizeSummary prints, per output type, the tensors, their sizes
// before and after and the bits per weight, then the totals and the time.
func printQuantizeSummary(w io.Writer, res *quantize.Result, ft quantize.FileType, out string) {
	const mib = 1 << 20
	bpw := func(bytes, elems uint64) float64 { return float64(bytes) * 8 / float64(max(elems, 1)) }
	row := func(name string, tensors int, from, to, elems uint64) {
		fmt.Fprintf(w, "%-8s %8d %11.2f %10.2f %12.2f\n", name, tensors, float64(from)/mib, float64(to)/mib, bpw(to, elems))
	}
	fmt.Fprintf(w, "%-8s %8s %11s %10s %12s\n", "type", "tensors", "MiB before", "MiB after", "bits/weight")
	var n int
	var elems, from, to uint64
	for _, s := range res.Summary() {
		row(s.Type.String(), s.Tensors, s.SizeFrom, s.SizeTo, s.Elements)
		n += s.Tensors
		elems += s.Elements
		from += s.SizeFrom
		to += s.SizeTo
	}
	row("total", n, from, to, elems)
	fmt.Fprintf(w, "wrote %s: %s, %.2f MiB (%.2f bpw) -> %.2f MiB (%.2f bpw) in %.2fs\n",
		out, ft.Name, float64(from)/mib, bpw(from, elems), float64(to)/mib, bpw(to, elems), res.Elapsed.Seconds())
}
