#pragma once
// Fused CPU kernels for elementwise steps of the forward pass. LibTorch runs RMSNorm as eight passes over memory;
// the kernel here is one pass that reproduces transformers' roundings step for step (values are rounded to the
// model dtype exactly where transformers rounds them) and is about twice as fast at bf16 (bench/bench_model).
// Only steps where a fused kernel measurably beats LibTorch's own ops get one.
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

}  // namespace moulin::cpu
