package convert

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"
)

// SourceKind is what a file to convert holds.
type SourceKind int

const (
	SourceUnknown     SourceKind = iota
	SourceNPZ                    // numpy .npz archive
	SourceTorch                  // torch.save zip checkpoint
	SourceTorchLegacy            // torch.save before PyTorch 1.6 (bare pickle)
	SourceSafetensors            // Hugging Face safetensors
	SourceGGUF                   // already GGUF
	SourceHF                     // Hugging Face model directory (config.json, safetensors)
	SourceLlama2C                // llama2.c checkpoint (.bin)
)

var sourceKindNames = [...]string{"unknown", "numpy .npz", "PyTorch checkpoint", "legacy PyTorch checkpoint", "safetensors", "GGUF",
	"Hugging Face model directory", "llama2.c checkpoint"}

func (k SourceKind) String() string {
	if int(k) < len(sourceKindNames) {
		return sourceKindNames[k]
	}
	return fmt.Sprintf("SourceKind(%d)", int(k))
}

// DetectSource looks at a file's contents (not its name) to tell what it is.
func DetectSource(path string) (SourceKind, error) {
	f, err := os.Open(path)
	if err != nil {
		return SourceUnknown, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return SourceUnknown, err
	}
	if st.IsDir() {
		if IsHFDir(path) {
			return SourceHF, nil
		}
		return SourceUnknown, nil
	}
	var head [16]byte
	n, _ := io.ReadFull(f, head[:])
	b := head[:n]
	switch {
	case bytes.HasPrefix(b, []byte("GGUF")):
		return SourceGGUF, nil
	case bytes.HasPrefix(b, []byte("PK\x03\x04")) || bytes.HasPrefix(b, []byte("PK\x05\x06")):
		zr, err := zip.NewReader(f, st.Size())
		if err != nil {
			return SourceUnknown, fmt.Errorf("%s: a damaged zip archive: %w", path, err)
		}
		npy := len(zr.File) > 0
		for _, zf := range zr.File {
			if strings.HasSuffix(zf.Name, "/data.pkl") || zf.Name == "data.pkl" {
				return SourceTorch, nil
			}
			if !strings.HasSuffix(zf.Name, ".npy") {
				npy = false
			}
		}
		if npy {
			return SourceNPZ, nil
		}
		return SourceUnknown, nil
	case isLlama2C(f, st.Size()): // before pickles: a dim of 128 starts with 0x80 0x00
		return SourceLlama2C, nil
	case n >= 2 && b[0] == 0x80 && b[1] <= 5:
		return SourceTorchLegacy, nil
	case n >= 9 && b[8] == '{' && binary.LittleEndian.Uint64(b) < uint64(st.Size()):
		return SourceSafetensors, nil
	}
	return SourceUnknown, nil
}
