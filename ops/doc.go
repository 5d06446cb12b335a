// Package ops holds the compute kernels infer's models call: matrix products
// on quantized weights (MatMul), row operations on float32 activations
// (RMSNorm, LayerNorm, Softmax, SiLU, GELU, RoPE, ...) and the thread pool
// they run on. Nothing here knows about any model.
//
// The kernels follow ggml's CPU backend (llama.cpp commit c392e509): a matrix
// product first converts the activations to the type ggml pairs with the
// weight type (Q8_0, Q8_1, Q8_K, F16, BF16 or F32, see VecDotType) and then
// takes dot products on the quantized blocks with integer sums per block, as
// ggml's generic (non-SIMD) vec_dot functions do. Row operations use ggml's
// formulas and accumulation precision (double where ggml uses ggml_float).
//
// This file set is the portable Go version. Each weight type's kernel is
// found through one table (vecDotTable, like ggml's type_traits_cpu), so an
// assembly version can be installed at start-up without touching callers.
//
// Sizes are the caller's responsibility: a size mismatch is a programmer
// error and panics. Unsupported weight types are reported earlier, at load
// time, by CheckMatrixType.
package ops
