package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/infer-go/infer/convert"
	"github.com/infer-go/infer/convert/source"
	"github.com/infer-go/infer/quantize"
)

// lmFlags are the convert flags for Hugging Face directories and llama2.c
// checkpoints.
type lmFlags struct {
	tokenizer string
	pure      bool
}

func (f *lmFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.tokenizer, "tokenizer", "", "llama2.c: the vocabulary, tokenizer.bin or a GGUF file to copy it from (default: tokenizer.bin beside SRC)")
	fs.BoolVar(&f.pure, "pure", false, "Hugging Face and llama2.c models with a quantized --type: every weight matrix gets the type's base type, no mixture")
}

// typeFlagSet reports whether --type was given: language models keep the
// source's precision by default, not the MLP default of f32.
func typeFlagSet(fs *flag.FlagSet) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "type" })
	return set
}

// convertLM converts a Hugging Face model directory or a llama2.c
// checkpoint (kind) to a GGUF of scheme typeName ("" keeps the source's
// precision).
func convertLM(kind source.Kind, src, out, typeName, name string, f *lmFlags, progress bool, stdout, stderr io.Writer) error {
	var ft quantize.FileType
	if typeName != "" {
		var err error
		if ft, err = quantize.ParseFileType(typeName); err != nil {
			return usagef("--type: %v", err)
		}
	}
	if kind == source.KindHF && f.tokenizer != "" {
		return usagef("--tokenizer is for llama2.c checkpoints; a Hugging Face directory brings its own tokenizer files")
	}
	// SIGINT, SIGTERM and SIGHUP stop the writer between batches of rows;
	// it then leaves no output, and the exit status says which signal.
	return withSignals(func(ctx context.Context) error {
		bar := newProgressBar(stderr, progress)
		opts := convert.LMOptions{
			Type: ft, Name: name,
			Warn:    func(msg string) { fmt.Fprintf(stderr, "warning: %s\n", msg) },
			Options: quantize.Options{Pure: f.pure, Context: ctx, Progress: bar.update},
		}
		var res *quantize.Result
		var err error
		if kind == source.KindHF {
			res, err = convert.ConvertHF(src, out, opts)
		} else {
			res, err = convert.ConvertLlama2C(src, f.tokenizer, out, opts)
		}
		bar.finish()
		if err != nil {
			return err
		}
		printFallbacks(stderr, res)
		typeLabel := typeName
		if typeLabel == "" {
			typeLabel = "source precision"
		}
		fmt.Fprintf(stdout, "%s (%v) -> %s (%s)\n", src, kind, out, typeLabel)
		printQuantizeSummary(stdout, res, fileTypeOf(res, ft), out)
		return nil
	})
}

// fileTypeOf names the scheme a conversion used, for the summary.
func fileTypeOf(res *quantize.Result, ft quantize.FileType) quantize.FileType {
	if ft.Name != "" {
		return ft
	}
	// The source's precision: the type most elements ended up in.
	best, n := quantize.FileType{Name: "F32"}, uint64(0)
	for _, s := range res.Summary() {
		if s.Elements > n {
			if t, err := quantize.ParseFileType(s.Type.String()); err == nil {
				best, n = t, s.Elements
			}
		}
	}
	return best
}
