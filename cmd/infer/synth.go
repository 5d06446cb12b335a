package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/infer-go/infer/quantize"
	"github.com/infer-go/infer/synth"
)

func init() {
	register(command{name: "synth", summary: "write a model of a real shape with seeded random weights (llama, gpt2, qwen2, phi3, gemma2, starcoder2)", run: runSynth})
}

const synthUsage = `usage: infer synth --shape NAME --vocab V.gguf -o out.gguf [--arch A] [--type T] [--seed N]
                   [--layers N] [--embd N] [--ff N] [--heads N] [--heads-kv N] [--head-dim N] [--ctx N] [--untied]
       infer synth --list

Writes a model of a real model's shape (n_embd, layers, heads, n_ff, context,
rope base, norm epsilon, tied output, sliding window, soft-caps) with random
weights scaled as a trained model's are, so that its forward pass behaves
like one. The file holds the metadata, tensor names and shapes llama.cpp's
converter writes for the architecture, the vocabulary (tokenizer.* keys) of
the GGUF file --vocab (its token count is the vocabulary size), and weights of
--type (any infer quantize type, llama.cpp's mixture rules). The same flags
write the same bytes.`

func runSynth(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("synth", stderr)
	var spec synth.Spec
	fs.StringVar(&spec.Arch, "arch", "", "architecture: "+strings.Join(synth.Architectures(), ", ")+" (default: the shape's)")
	fs.StringVar(&spec.Shape, "shape", "", "shape name (--list shows them)")
	fs.StringVar(&spec.Type, "type", "f16", "weight type: f32, f16, bf16, q8_0, q4_0, q4_k_m, ... (as infer quantize takes them)")
	fs.StringVar(&spec.VocabFile, "vocab", "", "GGUF file whose vocabulary is copied (a model, or llama.cpp's ggml-vocab-*.gguf)")
	fs.Uint64Var(&spec.Seed, "seed", 1, "random seed")
	fs.IntVar(&spec.Layers, "layers", 0, "override n_layer")
	fs.IntVar(&spec.Embd, "embd", 0, "override n_embd")
	fs.IntVar(&spec.FF, "ff", 0, "override the feed-forward width")
	fs.IntVar(&spec.Heads, "heads", 0, "override the attention heads")
	fs.IntVar(&spec.HeadsKV, "heads-kv", 0, "override the key/value heads")
	fs.IntVar(&spec.HeadDim, "head-dim", 0, "override the head width (default with --embd or --heads: n_embd/heads)")
	fs.IntVar(&spec.Ctx, "ctx", 0, "override the context length")
	fs.BoolVar(&spec.Untied, "untied", false, "give the model its own output.weight where the shape ties it to token_embd")
	fs.StringVar(&spec.Name, "name", "", "general.name (default: \"synth SHAPE seed N\")")
	threads := fs.Int("t", runtime.NumCPU(), "threads (the output does not depend on them)")
	out := fs.String("o", "", "output GGUF file")
	list := fs.Bool("list", false, "list the shapes and exit")
	noProgress := fs.Bool("no-progress", false, "no progress bar (there is none unless stderr is a terminal)")
	fs.Usage = func() { fmt.Fprintln(stderr, synthUsage); fs.PrintDefaults() }
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *list {
		printShapes(stdout)
		return nil
	}
	switch {
	case len(rest) != 0:
		return usagef("unexpected arguments %q (the output is -o FILE)", rest)
	case spec.Shape == "":
		return usagef("want a shape: --shape NAME (infer synth --list shows them)")
	case spec.VocabFile == "":
		return usagef("want a vocabulary: --vocab FILE.gguf")
	case *out == "":
		return usagef("want an output file: -o out.gguf")
	case *threads < 1:
		return usagef("-t %d: want at least 1 thread", *threads)
	}
	if _, err := quantize.ParseFileType(spec.Type); err != nil {
		return usagef("--type: %v", err)
	}
	shape, err := spec.Resolve()
	if err != nil {
		return usagef("%v", err)
	}
	spec.Threads = *threads

	start := time.Now()
	var res *quantize.Result
	err = withSignals(func(ctx context.Context) error {
		bar := newProgressBar(stderr, !*noProgress)
		defer bar.finish()
		spec.Context, spec.Progress = ctx, bar.update
		var err error
		res, err = synth.Write(*out, spec)
		return err
	})
	if err != nil {
		return err
	}
	printFallbacks(stderr, res)
	ft, _ := quantize.ParseFileType(spec.Type)
	fmt.Fprintf(stdout, "%s: %s, n_embd %d, %d layers, %d/%d heads of %d, n_ff %d, context %d, seed %d, %.1fs\n",
		*out, shape.Arch, shape.Embd, shape.Layers, shape.Heads, shape.HeadsKV, shape.HeadDim, shape.FF, shape.Ctx, spec.Seed,
		time.Since(start).Seconds())
	printQuantizeSummary(stdout, res, ft, *out)
	return nil
}

func printShapes(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "shape\tarch\tn_embd\tlayers\theads\tkv\thead\tn_ff\tcontext\trope base\teps\ttied\twindow")
	for _, s := range synth.Shapes() {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%g\t%g\t%v\t%d\n", s.Name, s.Arch, s.Embd, s.Layers, s.Heads, s.HeadsKV,
			s.HeadDim, s.FF, s.Ctx, s.RopeBase, s.NormEps, s.TiedOutput, s.SlidingWindow)
	}
	tw.Flush()
}
