// Package vocab converts vocabularies into the tokenizer.* metadata
// llama.cpp reads from a GGUF file: a Hugging Face model's tokenizer files
// (tokenizer.json, SentencePiece's tokenizer.model, tokenizer_config.json,
// the chat template), nanoGPT's character vocabulary (meta.pkl) and GPT-2's
// BPE files, llama2.c's tokenizer.bin, and the vocabulary of another GGUF
// file. Each is written the way llama.cpp's own converters write it, so
// that llama.cpp and infer tokenize the result alike.
package vocab
