// Package ops holds the compute kernels infer's models call: matrix products
// on quantized weights (MatMul), row operations on float32 activations
// (RMSNorm, LayerNorm, Softmax, SiLU, GELU, RoPE, ...) and the thread pool
// they run on. Nothing here knows about any model.
//
// The kernels compute exactly what llama.cpp's CPU backend computes on its
// x86 reference build (commit c392e509, built for the native CPU: AVX2,
// FMA, F16C and AVX-512), so that a model's logits match llama.cpp's bit for
// bit. With random weights and every activation rounded to Q8 or F16 before
// the next product, any last-bit difference eventually flips a rounding and
// grows; matching to the bit is the only stable way to agree. So:
//
//   - a matrix product converts the activations as that build does (Q8_0 and
//     Q8_1 by the AVX quantizers, Q8_K by ggml's reference, F16 with
//     round-to-even; see VecDotType) and sums each dot product in the order
//     of the kernel llama.cpp would run for that shape: ggml's AVX2 vec_dot
//     for quantized weights (eight float lanes fed by fused multiply-adds),
//     the repacked Q4_0 kernels for Q4_0 matrices with a multiple of 8 rows,
//     and for F16/F32 weights ggml's AVX-512 vec_dot for one activation row
//     or llamafile's tinyBLAS for a batch (see MatMul, vecDotTraits);
//   - exponentials go through ggml's vectorised expf (vExpf) where ggml
//     vectorises them, and rotary angles through glibc's sinf/cosf;
//   - fused multiply-adds are emulated exactly (fma32), and every other
//     product is rounded before it is added, whatever the Go compiler could
//     fuse on another architecture, so results are the same on every GOARCH.
//
// Each kernel's comment states its summation order; those orders are the
// definition, and any faster (assembly) version installed through the
// vecDotTable must reproduce them bit for bit. Every quantized type follows
// its AVX2 vec_dot (and tinyBLAS_Q0_AVX for IQ4_NL batches); each was
// checked against llama.cpp's logits on a model quantized to that type
// alone (llama-quantize --pure, refdump). BF16 keeps ggml's generic
// (scalar) summation order for now: the reference build's AVX-512 BF16 dot
// product (VDPBF16PS) is not emulated.
//
// Speed comes from tile kernels (tile.go): assembly that computes many
// outputs of one route at once — several weight rows against several
// activation rows, each weight block read once per tile, several outputs
// summed side by side in one register, each exactly in its dot function's
// order. The assembly comes in levels chosen at start-up by CPU features
// (simd.go: amd64 "avx2", then "avx512" with VNNI; arm64 "neon"), all held
// to the portable kernels' bits by the tests; INFER_NOSIMD=1 turns them
// off and INFER_SIMD=avx2 stops at a level. MatMul hands each thread chunks
// of whole row groups (Pool.ParallelChunks), so the result never depends
// on the number of threads.
//
// Sizes are the caller's responsibility: a size mismatch is a programmer
// error and panics. Unsupported weight types are reported earlier, at load
// time, by CheckMatrixType.
package ops
