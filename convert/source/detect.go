// Package source reads the files models come in before they are GGUF:
// PyTorch checkpoints (torch.save's zip of a pickle and storages, read by a
// reader that executes nothing in the file), Hugging Face safetensors files
// and model directories (config.json, shards), numpy .npy/.npz arrays, plain
// pickles and llama2.c checkpoints. Readers check every size and offset a
// file announces against the file itself, never allocate on a file's word
// alone, and map large files read-only, so tensors are views of the file.
// Detect tells the formats apart by their contents.
package source

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"
)

// Kind is what a file to convert holds.
type Kind int

const (
	KindUnknown     Kind = iota
	KindNPZ              // numpy .npz archive
	KindTorch            // torch.save zip checkpoint
	KindTorchLegacy      // torch.save before PyTorch 1.6 (bare pickle)
	KindSafetensors      // Hugging Face safetensors
	KindGGUF             // already GGUF
	KindHF               // Hugging Face model directory (config.json, safetensors)
	KindLlama2C          // llama2.c checkpoint (.bin)
)

var kindNames = [...]string{"unknown", "numpy .npz", "PyTorch checkpoint", "legacy PyTorch checkpoint", "safetensors", "GGUF",
	"Hugging Face model directory", "llama2.c checkpoint"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Detect looks at a file's contents (not its name) to tell what it is.
func Detect(path string) (Kind, error) {
	f, err := os.Open(path)
	if err != nil {
		return KindUnknown, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return KindUnknown, err
	}
	if st.IsDir() {
		if IsHFDir(path) {
			return KindHF, nil
		}
		return KindUnknown, nil
	}
	var head [16]byte
	n, _ := io.ReadFull(f, head[:])
	b := head[:n]
	switch {
	case bytes.HasPrefix(b, []byte("GGUF")):
		return KindGGUF, nil
	case bytes.HasPrefix(b, []byte("PK\x03\x04")) || bytes.HasPrefix(b, []byte("PK\x05\x06")):
		zr, err := zip.NewReader(f, st.Size())
		if err != nil {
			return KindUnknown, fmt.Errorf("%s: a damaged zip archive: %w", path, err)
		}
		npy := len(zr.File) > 0
		for _, zf := range zr.File {
			if strings.HasSuffix(zf.Name, "/data.pkl") || zf.Name == "data.pkl" {
				return KindTorch, nil
			}
			if !strings.HasSuffix(zf.Name, ".npy") {
				npy = false
			}
		}
		if npy {
			return KindNPZ, nil
		}
		return KindUnknown, nil
	case IsLlama2C(f, st.Size()): // before pickles: a dim of 128 starts with 0x80 0x00
		return KindLlama2C, nil
	case n >= 2 && b[0] == 0x80 && b[1] <= 5:
		return KindTorchLegacy, nil
	case n >= 9 && b[8] == '{' && binary.LittleEndian.Uint64(b) < uint64(st.Size()):
		return KindSafetensors, nil
	}
	return KindUnknown, nil
}

// openSized opens the file at path for reading and returns its size.
func openSized(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}
