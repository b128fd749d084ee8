#pragma once
// Fused CPU kernels for the elementwise steps of the forward pass. LibTorch runs each of these steps as several
// passes over memory (RMSNorm alone is eight), and on CPU, at bf16, those passes cost as much as the matrix
// products (bench/bench_model). Each kernel here is one pass that reproduces transformers' roundings step for
// step: values are rounded to the model dtype exactly where transformers rounds them.
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

// round(silu(gate)) * up, where gate and up are [..., d_mlp] views with unit stride in the last dimension
// (the two halves of the fused gate/up projection).
at::Tensor silu_mul(const at::Tensor& gate, const at::Tensor& up);

// Rotate-half RoPE: x * cos + rotate_half(x) * sin with transformers' roundings. x [batch, pos, heads, head_dim]
// with unit stride in head_dim (a view into the fused qkv projection); cos/sin [batch, pos, 1, head_dim] in x's
// dtype. Returns a contiguous tensor.
at::Tensor rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

// Attention probabilities from raw scores: softmax(round(round(scores / divisor) + bias)) in float32, rounded to
// the scores' dtype. scores [batch, heads, query, key] contiguous; bias [batch or 1, 1, query, key] or undefined.
// When given, `masked_scores` receives round(round(scores / divisor) + bias), the attention scores hook's value.
at::Tensor scaled_masked_softmax(const at::Tensor& scores, double divisor, const at::Tensor& bias,
                                 at::Tensor* masked_scores = nullptr);

}  // namespace moulin::cpu
