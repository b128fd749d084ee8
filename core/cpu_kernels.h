#pragma once
// CPU kernels for the steps of the forward pass where LibTorch 1.13's own ops are slow: fused elementwise steps
// (RMSNorm runs as eight passes over memory in LibTorch, SiLU x up, RoPE and softmax as several, in bf16 one
// element at a time) and the two halves of batch-1 decoding, matrix-vector products and attention over the cache.
// Each reproduces transformers' roundings step for step: values are rounded to the model dtype exactly where
// transformers rounds them. Only steps where a kernel measurably beats LibTorch's ops get one (bench/bench_model
// prints both paths; docs/performance.md has the figures). The SIMD kernels need AVX-512; they run in parallel
// through at::parallel_for, which this file compiles with OpenMP (core/CMakeLists.txt).
//
// Every function returns an undefined tensor when it does not apply (not on the CPU, dtype other than float32 or
// bfloat16, unsupported layout); the caller then uses plain torch ops.
#include <ATen/ATen.h>

namespace moulin::cpu {

// On unless the environment sets MOULIN_CPU_KERNELS=0; benchmarks and tests switch them to compare both paths.
bool kernels_enabled();
void set_kernels_enabled(bool enabled);

// weight * round(x * rsqrt(mean(x^2) + eps)) over the last dimension. x [..., d] with unit stride in d.
// When given, `inverse_rms` receives rsqrt(mean(x^2) + eps) as float32 [..., 1] and `normalized` the rounded
// x * rsqrt(...) before the weight, so hooks can observe them without changing how the result is computed.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps, at::Tensor* inverse_rms = nullptr,
                    at::Tensor* normalized = nullptr);

// weight [out, in] (contiguous) times x [in]: float32 [out] accumulations rounded once to the dtype, as LibTorch's
// mv does. Batch-1 decoding is one such product per weight matrix, so its speed is how fast the weights stream from
// memory: each thread reads whole rows front to back (interleaving rows slows the hardware prefetcher by a third),
// bfloat16 through AVX512-BF16 dot products and float32 through AVX-512 FMAs when the CPU has them.
at::Tensor matrix_vector(const at::Tensor& weight, const at::Tensor& x);

// Attention of one new position per sequence (decoding), in the steps of transformers' eager attention so that
// hooks can watch (or replace) the scores and the pattern between them. LibTorch's batched matmuls cost ~50 us a
// call at these sizes, most of the attention's time in batch-1 decoding; a loop over the cache costs a few.
// decode_scores: round(round(round(q.k) / divisor) + bias), q [batch, heads, head_dim], keys [batch, kv_heads,
// total, head_dim] with unit stride in head_dim (a view of a cache), bias [batch, 1, 1, total] or undefined; query
// head h reads kv head h / (heads / kv_heads), as repeat_kv does. Returns [batch, heads, 1, total].
at::Tensor decode_scores(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& bias, double divisor);
// decode_values: round(pattern . values), pattern [batch, heads, 1, total], values laid out as decode_scores' keys.
// Returns z [batch, heads, head_dim].
at::Tensor decode_values(const at::Tensor& pattern, const at::Tensor& values);

// round(round(silu(gate)) * up), transformers' act_fn(gate_proj(x)) * up_proj(x) with its two roundings, in one
// pass. gate and up [..., d] (column blocks of one gate_up product are read in place, other layouts copied). silu
// is computed in float32 and rounded once, as PyTorch 2.x does (LibTorch 1.13's bf16 silu also rounds exp(-x) and
// 1 + exp(-x)); the exponential is a polynomial good to about 1 ulp of float32, so bfloat16 results differ from
// an exact one only where a value lands on a rounding tie.
at::Tensor silu_mul(const at::Tensor& gate, const at::Tensor& up);

// softmax(scores) over the last dimension in float32, rounded to the scores' dtype (at::softmax(scores, -1, kFloat)
// .to(dtype) without the float32 intermediate tensor). Every attention pattern goes through it, whether or not a
// hook watches the scores, so that watching changes nothing.
at::Tensor attention_softmax(const at::Tensor& scores);

// round(round(x * cos) + round(rotate_half(x) * sin)), transformers' apply_rotary_pos_emb with its roundings, in
// one pass. x [batch, pos, heads, head_dim] with unit stride in head_dim (a view of the qkv product); cos and sin
// [batch, pos, 1, head_dim] contiguous. Returns a contiguous tensor shaped as x.
at::Tensor rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

// bfloat16 -> float32 (exact: a shift of the bits), streamed at memory speed, for logits; LibTorch 1.13's copy
// converts one element at a time. Writes into `out` (float32, contiguous, as many elements) when given.
at::Tensor to_float32(const at::Tensor& x, const at::Tensor& out = {});

}  // namespace moulin::cpu
