package ops

import (
	"fmt"

	"github.com/infer-go/infer/quant"
)

// vecDotTraits is what MatMul needs to know about one weight type, like an
// entry of ggml's type_traits_cpu.
//
// Each function is the reference for its kernel: it computes exactly what
// llama.cpp's x86 reference build (commit c392e509, AVX-512 and AVX2 with
// FMA) computes, in that build's order, with the lanes of its vector
// registers emulated one by one (each kernel's comment states the order). A
// faster version installed here must give the same bits.
type vecDotTraits struct {
	// VecDotType is the activation type the weights are multiplied with.
	VecDotType quant.Type
	// FromFloat converts one activation row (a whole number of VecDotType
	// blocks) from float32, as llama.cpp's x86 build does before a product.
	FromFloat func(dst []byte, src []float32)
	// VecDot returns the dot product of n elements: x holds them in the
	// weight type, y in VecDotType.
	VecDot func(n int, x, y []byte) float32
	// VecDotBatch, when set, replaces VecDot when two or more activation
	// rows are multiplied together and llamafile's tinyBLAS accepts the
	// shape (for the float types weight rows a multiple of 4 and row length
	// a multiple of 16; see BatchAnyShape): llama.cpp sends such batches
	// there, and it adds in another order.
	VecDotBatch func(n int, x, y []byte) float32
	// BatchAnyShape says tinyBLAS takes this type's batches whatever the
	// matrix's shape: tinyBLAS_Q0_AVX (the quantized types) has kernels for
	// every remainder of rows and activation rows.
	BatchAnyShape bool
	// VecDotRepacked, when set, replaces both for matrices whose row count is
	// a multiple of 8: llama.cpp's x86 build repacks those weights when it
	// loads them and multiplies them with kernels of its own.
	VecDotRepacked func(n int, x, y []byte) float32

	// Tile, BatchTile and RepackedTile, when set, compute many outputs of
	// the VecDot, VecDotBatch and VecDotRepacked routes at once (several
	// weight rows against several activation rows, each weight block read
	// once per tile), every output with exactly the bits of the route's dot
	// function. Assembly installs them; without one MatMul calls the dot
	// function once per output.
	Tile, BatchTile, RepackedTile *tileKernel
}

// route is the kernel llama.cpp uses for every output of one product: its
// dot function (the definition of the bits) and, where there is one, the
// tile kernel that computes many outputs of it at once.
type route struct {
	dot  func(n int, x, y []byte) float32
	tile *tileKernel
}

// kernel returns the route llama.cpp takes for a product of a rows x cols
// matrix with n activation rows.
func (tr *vecDotTraits) kernel(rows, cols, n int) route {
	switch {
	case tr.VecDotRepacked != nil && rows%8 == 0:
		return route{tr.VecDotRepacked, tr.RepackedTile}
	case tr.VecDotBatch != nil && n >= 2 && (tr.BatchAnyShape || rows%4 == 0 && cols%16 == 0):
		return route{tr.VecDotBatch, tr.BatchTile}
	}
	return route{tr.VecDot, tr.Tile}
}

// vecDotTable is indexed by weight type; entries with a nil VecDot are types
// MatMul does not support. It is a variable so that architecture-specific
// files can install faster kernels from an init function (after checking the
// CPU's features) without changing any caller.
var vecDotTable = [...]vecDotTraits{
	quant.F32:    {VecDotType: quant.F32, FromFloat: quant.QuantizeF32, VecDot: vecDotF32, VecDotBatch: vecDotF32Batch},
	quant.F16:    {VecDotType: quant.F16, FromFloat: quant.QuantizeF16, VecDot: vecDotF16, VecDotBatch: vecDotF16Batch},
	quant.BF16:   {VecDotType: quant.BF16, FromFloat: quant.QuantizeBF16, VecDot: vecDotBF16},
	quant.Q4_0:   {VecDotType: quant.Q8_0, FromFloat: quantizeActQ8_0, VecDot: vecDotQ4_0Q8_0, VecDotRepacked: vecDotQ4_0Q8_0Repacked},
	quant.Q4_1:   {VecDotType: quant.Q8_1, FromFloat: quantizeActQ8_1, VecDot: vecDotQ4_1Q8_1},
	quant.Q5_0:   {VecDotType: quant.Q8_0, FromFloat: quantizeActQ8_0, VecDot: vecDotQ5_0Q8_0},
	quant.Q5_1:   {VecDotType: quant.Q8_1, FromFloat: quantizeActQ8_1, VecDot: vecDotQ5_1Q8_1},
	quant.Q8_0:   {VecDotType: quant.Q8_0, FromFloat: quantizeActQ8_0, VecDot: vecDotQ8_0Q8_0},
	quant.IQ4_NL: {VecDotType: quant.Q8_0, FromFloat: quantizeActQ8_0, VecDot: vecDotIQ4NLQ8_0, VecDotBatch: vecDotIQ4NLQ8_0Batch, BatchAnyShape: true},
	quant.Q2_K:   {VecDotType: quant.Q8_K, FromFloat: quant.QuantizeQ8K, VecDot: vecDotQ2KQ8K},
	quant.Q3_K:   {VecDotType: quant.Q8_K, FromFloat: quant.QuantizeQ8K, VecDot: vecDotQ3KQ8K},
	quant.Q4_K:   {VecDotType: quant.Q8_K, FromFloat: quant.QuantizeQ8K, VecDot: vecDotQ4KQ8K},
	quant.Q5_K:   {VecDotType: quant.Q8_K, FromFloat: quant.QuantizeQ8K, VecDot: vecDotQ5KQ8K},
	quant.Q6_K:   {VecDotType: quant.Q8_K, FromFloat: quant.QuantizeQ8K, VecDot: vecDotQ6KQ8K},
}

// lookupVecDot returns t's entry, or nil when MatMul cannot use t.
func lookupVecDot(t quant.Type) *vecDotTraits {
	if int(t) >= len(vecDotTable) || vecDotTable[t].VecDot == nil {
		return nil
	}
	return &vecDotTable[t]
}

// CheckMatrixType reports whether MatMul supports weights of type t. Models
// call it when loading, so that an unsupported file fails with an error
// instead of a panic in the middle of a forward pass.
func CheckMatrixType(t quant.Type) error {
	if lookupVecDot(t) == nil {
		return fmt.Errorf("matrix multiplication with %s weights is not supported", t)
	}
	return nil
}

// VecDotType is the activation type ggml pairs with weights of type t: Q8_0
// for Q4_0, Q5_0, Q8_0 and IQ4_NL, Q8_1 for Q4_1 and Q5_1, Q8_K for the
// K-quants, and t itself for F32, F16 and BF16. It panics for a type that
// CheckMatrixType rejects.
func VecDotType(t quant.Type) quant.Type {
	tr := lookupVecDot(t)
	if tr == nil {
		panic(fmt.Sprintf("ops: VecDotType of unsupported weight type %s", t))
	}
	return tr.VecDotType
}
