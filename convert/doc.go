// Package convert turns trained models into GGUF files: it maps each
// architecture's tensors and hyperparameters onto the names and keys
// llama.cpp reads, and writes every language model through one streaming
// writer (LanguageModel.Write).
//
//   - Hugging Face directories (ConvertHF: Llama, Mistral, Qwen2, Phi-3,
//     Gemma 2, StarCoder2 and GPT-2; HFArchitectures), llama2.c
//     checkpoints (ConvertLlama2C) and nanoGPT checkpoints (ConvertNanoGPT),
//     as llama.cpp's converters write them;
//   - multi-layer perceptrons from numpy .npz archives and PyTorch
//     state_dicts (MLPFromNPZ, MLPFromTorch), as infer's mlp architecture.
//
// The work around the mapping lives in packages of its own: convert/source
// reads the source formats (PyTorch pickles, safetensors and Hugging Face
// directories, numpy arrays, llama2.c checkpoints), convert/vocab turns
// vocabularies into llama.cpp's tokenizer metadata, and the quantize package
// chooses each tensor's type by llama.cpp's mixture rules and streams the
// tensors to the file. A model's tensors are loaded, converted and written
// one at a time, so memory stays near the largest tensor's size.
package convert

import "github.com/infer-go/infer/quantize"

// ParseQuantFileType is quantize.ParseFileType: the weight schemes the
// converters take (LMOptions.Type, ConvertNanoGPT).
func ParseQuantFileType(s string) (quantize.FileType, error) { return quantize.ParseFileType(s) }
