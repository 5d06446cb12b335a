package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/infer-go/infer/convert"
	"github.com/infer-go/infer/convert/source"
)

func init() {
	register(command{name: "convert", summary: "convert a model to GGUF (Hugging Face Llama, Mistral, Qwen2, Phi-3, Gemma 2, StarCoder2 and GPT-2 directories; llama2.c and nanoGPT checkpoints; MLPs from numpy .npz or PyTorch state_dicts)", run: runConvert})
}

const convertUsage = `usage: infer convert SRC -o out.gguf [--type f32|f16|q8_0|q4_0|...] [--activation sigmoid|relu[,...]] [--softmax]

SRC is detected from its contents: language models from Hugging Face, llama2.c
and nanoGPT (below), and multi-layer perceptrons,
  numpy .npz   arrays w0, b0, w1, b1, ... (Nielsen's layout: weights (out, in),
               biases (out, 1)); hidden and output layers sigmoid by default
  PyTorch .pt  a state_dict of Linear layers (fc1, fc2, ... X.weight + X.bias,
               in order); hidden layers relu, output logits by default
and nanoGPT models (written as llama.cpp's gpt2 architecture):
  ckpt.pt            nanoGPT's training checkpoint (model, model_args, config)
  model.safetensors  the same weights with nanoGPT's names; n_head comes from
                     its __metadata__ model_args, a ckpt.pt beside it, or --n-head
  The vocabulary is meta.pkl beside SRC (or --vocab: meta.pkl, tokenizer.json,
  vocab.json with merges.txt). --type takes infer quantize's types (f32, f16,
  q8_0, q4_0, q4_k_m, ...): anything but f32 is the f32 model quantized.
and language models, as llama.cpp's converters write them:
  DIR          a Hugging Face model directory: config.json, model.safetensors
               (or shards with model.safetensors.index.json), tokenizer.model
               or tokenizer.json, tokenizer_config.json (its chat template
               becomes tokenizer.chat_template). Architectures (config.json):
                 LlamaForCausalLM, MistralForCausalLM  Llama 1-3.x, Mistral
                 Qwen2ForCausalLM                      Qwen2, Qwen2.5
                 Phi3ForCausalLM                       Phi-3, Phi-3.5 (longrope)
                 Gemma2ForCausalLM                     Gemma 2 (llama.cpp runs
                                                       the 26/42/46-layer ones)
                 Starcoder2ForCausalLM                 StarCoder2
                 GPT2LMHeadModel                       GPT-2
  model.bin    a llama2.c checkpoint (legacy, or export.py version 1 or 2)
               with its tokenizer.bin beside it (or --tokenizer)
  --type: f32, f16, bf16, q8_0 as convert_hf_to_gguf.py writes them, or any
  infer quantize type (q4_0, q4_k_m, ...) applied as llama-quantize would;
  default: the source's precision.`

func runConvert(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("convert", stderr)
	out := fs.String("o", "", "output GGUF file")
	typeName := fs.String("type", "f32", "weight type: f32, f16, q8_0, q4_0 (rows are zero-padded to whole blocks), ...")
	activation := fs.String("activation", "", "hidden-layer activation: sigmoid, relu, tanh or none; one for all or one per hidden layer, comma-separated")
	softmax := fs.Bool("softmax", false, "make the output layer a softmax")
	inputShape := fs.String("input-shape", "", "input image HxW (default 28x28 for 784 inputs)")
	mean := fs.Float64("input-mean", 0, "input normalisation: x = (pixel/255 - mean) / std")
	std := fs.Float64("input-std", 1, "input normalisation: x = (pixel/255 - mean) / std")
	name := fs.String("name", "", "general.name (default: the source's file name)")
	noProgress := fs.Bool("no-progress", false, "no progress bar (one is drawn only on a terminal anyway)")
	var nanoGPT nanoGPTFlags
	nanoGPT.register(fs)
	var lm lmFlags
	lm.register(fs)
	fs.Usage = func() { fmt.Fprintln(stderr, convertUsage); fs.PrintDefaults() }
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("want one source file, have %d arguments", len(rest))
	}
	if *out == "" {
		return usagef("want an output file: -o out.gguf")
	}
	src := rest[0]
	kind, err := source.Detect(src)
	if err != nil {
		return err
	}
	lmType := "" // language models keep the source's precision unless --type says otherwise
	if typeFlagSet(fs) {
		lmType = *typeName
	}
	if kind == source.KindHF || kind == source.KindLlama2C {
		return convertLM(kind, src, *out, lmType, *name, &lm, !*noProgress, stdout, stderr)
	}
	if (kind == source.KindTorch || kind == source.KindSafetensors) && convert.IsNanoGPT(src) {
		return convertNanoGPT(src, *out, *typeName, *name, &nanoGPT, !*noProgress, stdout, stderr)
	}
	if kind == source.KindSafetensors && source.IsHFDir(filepath.Dir(src)) {
		// A model.safetensors inside a Hugging Face directory: the directory.
		return convertLM(source.KindHF, filepath.Dir(src), *out, lmType, *name, &lm, !*noProgress, stdout, stderr)
	}
	typ, err := parseWeightType(*typeName)
	if err != nil {
		return usagef("--type: %v", err)
	}
	if !(*std > 0) {
		return usagef("--input-std %v: want > 0", *std)
	}
	opts := convert.MLPOptions{Softmax: *softmax, InputMean: float32(*mean), InputStd: float32(*std), Name: *name}
	if *activation != "" {
		opts.Hidden = strings.Split(*activation, ",")
	}
	if *inputShape != "" {
		h, w, ok := strings.Cut(strings.ToLower(*inputShape), "x")
		hi, err1 := strconv.Atoi(h)
		wi, err2 := strconv.Atoi(w)
		if !ok || err1 != nil || err2 != nil || hi < 1 || wi < 1 {
			return usagef("--input-shape %q: want HxW, e.g. 28x28", *inputShape)
		}
		opts.InputHeight, opts.InputWidth = hi, wi
	}

	var m *convert.MLP
	const supportedSources = "infer converts nanoGPT ckpt.pt or model.safetensors, Hugging Face directories (Llama, Mistral, Qwen2, Phi-3, Gemma 2, StarCoder2, GPT-2), llama2.c .bin checkpoints, and MLPs from numpy .npz or PyTorch state_dicts"
	switch kind {
	case source.KindNPZ:
		m, err = convert.MLPFromNPZ(src, opts)
	case source.KindTorch:
		m, err = convert.MLPFromTorch(src, opts)
		if err != nil {
			err = fmt.Errorf("%w\n(from PyTorch files infer converts only MLP state_dicts of Linear layers and nanoGPT checkpoints)", err)
		}
	case source.KindGGUF:
		return fmt.Errorf("%s is already a GGUF file", src)
	case source.KindTorchLegacy, source.KindSafetensors:
		return fmt.Errorf("%s: converting a %v is not supported (%s)", src, kind, supportedSources)
	default:
		return fmt.Errorf("%s: unrecognised source (%s)", src, supportedSources)
	}
	if err != nil {
		return err
	}
	if err := m.WriteGGUF(*out, typ); err != nil {
		return err
	}
	size := int64(0)
	if st, err := os.Stat(*out); err == nil {
		size = st.Size()
	}
	acts := make([]string, len(m.Activations))
	for i, a := range m.Activations {
		acts[i] = a.String()
	}
	fmt.Fprintf(stdout, "%s (%v) -> %s: mlp %v, activations %s, %v weights, %d bytes\n",
		src, kind, *out, m.Sizes, strings.Join(acts, ","), typ, size)
	return nil
}
