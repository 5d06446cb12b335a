// Package gguf reads and writes GGUF files, the container llama.cpp uses for
// models: a header of typed key/value metadata and tensor descriptions,
// followed by the tensor data, each tensor aligned.
//
// Open maps a file read-only and parses only its header; TensorInfo.Data is
// a view into the mapping, so opening a model costs no copying and pages are
// read from disk when a tensor is first touched. Parse does the same on bytes
// already in memory, which is what tests and the fuzz target use.
//
// The reader treats the file as untrusted: every count and length is checked
// against the bytes that remain before anything is allocated, and every
// problem is reported as a *FormatError naming the byte offset where it was
// found. Versions 2 and 3 (little-endian) are supported.
//
// Writer produces GGUF v3 laid out exactly as llama.cpp's writers lay it
// out, so a file that is read and written back unchanged is byte-identical.
package gguf
