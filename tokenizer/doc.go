// Package tokenizer turns text into token ids and back the way llama.cpp
// does, from the tokenizer.ggml.* metadata of a GGUF file.
//
// Two vocabulary types are supported: "llama" (SentencePiece-style BPE
// over scores, with byte fallback) and "gpt2" (byte-level BPE over merge
// ranks, with a pre-tokenizer chosen by tokenizer.ggml.pre). Both follow
// llama.cpp's src/llama-vocab.cpp and src/unicode.cpp closely enough to
// reproduce its token ids exactly on llama.cpp's own test vectors,
// including its special-token splitting, its handling of invalid UTF-8
// and its detokenizer's quirks (the SPM leading-space strip and the BPE
// clean-up of spaces before punctuation).
//
// Encode is llama_tokenize, Decode/Detokenize llama_detokenize, Piece
// llama_token_to_piece; NewStreamDecoder returns a decoder for printing
// generated tokens as they come, which holds back a UTF-8 character split
// across tokens.
//
// A *Tokenizer is immutable after FromGGUF returns and safe for concurrent
// use; a StreamDecoder is not.
package tokenizer
