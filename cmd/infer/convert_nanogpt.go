package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/infer-go/infer/convert"
	"github.com/infer-go/infer/quantize"
)

// nanoGPTFlags are the convert flags for nanoGPT checkpoints.
type nanoGPTFlags struct {
	vocab                          string
	nHead, nLayer, nEmbd, blockLen int
}

func (f *nanoGPTFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.vocab, "vocab", "", "nanoGPT: the vocabulary, meta.pkl, tokenizer.json or vocab.json (+ merges.txt) (default: meta.pkl beside SRC)")
	fs.IntVar(&f.nHead, "n-head", 0, "nanoGPT: attention heads, when SRC does not record them (a bare model.safetensors)")
	fs.IntVar(&f.nLayer, "n-layer", 0, "nanoGPT: blocks (checked against the weights)")
	fs.IntVar(&f.nEmbd, "n-embd", 0, "nanoGPT: embedding width (checked against the weights)")
	fs.IntVar(&f.blockLen, "block-size", 0, "nanoGPT: context length (checked against the weights)")
}

// convertNanoGPT converts a nanoGPT ckpt.pt or model.safetensors to a gpt2
// GGUF of scheme typeName (f32, f16, q8_0, q4_k_m, ... as infer quantize
// takes them).
func convertNanoGPT(src, out, typeName, name string, f *nanoGPTFlags, progress bool, stdout, stderr io.Writer) error {
	ft, err := quantize.ParseFileType(typeName)
	if err != nil {
		return usagef("--type: %v", err)
	}
	for flagName, v := range map[string]int{"n-head": f.nHead, "n-layer": f.nLayer, "n-embd": f.nEmbd, "block-size": f.blockLen} {
		if v < 0 {
			return usagef("--%s %d: want a positive number", flagName, v)
		}
	}
	// SIGINT, SIGTERM and SIGHUP stop the writer between batches of rows;
	// it then leaves no output, and the exit status says which signal.
	return withSignals(func(ctx context.Context) error {
		bar := newProgressBar(stderr, progress)
		res, err := convert.ConvertNanoGPT(src, out, ft, convert.NanoGPTOptions{
			NHead: f.nHead, NLayer: f.nLayer, NEmbd: f.nEmbd, BlockSize: f.blockLen,
			Vocab: f.vocab, Name: name, Context: ctx, Progress: bar.update,
		})
		bar.finish()
		if err != nil {
			return err
		}
		printFallbacks(stderr, res.Written)
		a := res.Args
		fmt.Fprintf(stdout, "%s -> %s: gpt2 (nanoGPT), %d layers, %d heads, n_embd %d, context %d, vocabulary %s\n",
			src, out, a.NLayer, a.NHead, a.NEmbd, a.BlockSize, res.Vocab)
		fmt.Fprintf(stdout, "wrote %s: %s, %d tensors, %d parameters, %d bytes (%.2f MiB) in %.2fs\n",
			out, ft.Name, res.Tensors, res.Params, res.Bytes, float64(res.Bytes)/(1<<20), res.Elapsed.Seconds())
		return nil
	})
}
