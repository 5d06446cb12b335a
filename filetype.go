package infer

import (
	"fmt"

	"github.com/infer-go/infer/gguf"
	"github.com/infer-go/infer/quant"
)

// fileTypeNames are llama.cpp's llama_ftype values (general.file_type),
// named as llama-quantize names them.
var fileTypeNames = map[uint32]string{
	0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
	10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M",
	16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S",
	22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M",
	28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0",
}

// fileType names the file's quantization: general.file_type when present and
// known, else the tensor type holding the most bytes.
func fileType(f *gguf.File) string {
	if v, err := f.Uint32("general.file_type"); err == nil {
		if name, ok := fileTypeNames[v]; ok {
			return name
		}
		return fmt.Sprintf("file type %d", v)
	}
	bytes := map[quant.Type]uint64{}
	var best quant.Type
	for i := range f.Tensors {
		t := &f.Tensors[i]
		bytes[t.Type] += t.Size
		if bytes[t.Type] > bytes[best] || (bytes[t.Type] == bytes[best] && t.Type < best) {
			best = t.Type
		}
	}
	if len(bytes) == 0 {
		return "none"
	}
	return best.String()
}
