#include "core/rope.h"

#include <cmath>

#include "core/cpu_kernels.h"

namespace moulin {
namespace {

// transformers' _compute_llama3_parameters, op for op (the same fp32 roundings): long wavelengths are divided
// by `factor`, short ones kept, and the band between them interpolated smoothly.
at::Tensor llama3_rescale(const at::Tensor& inv_freq, const RopeScaling& scaling) {
  const double old_context = static_cast<double>(scaling.original_max_position_embeddings);
  const double low_freq_wavelen = old_context / scaling.low_freq_factor;
  const double high_freq_wavelen = old_context / scaling.high_freq_factor;
  const at::Tensor wavelen = at::reciprocal(inv_freq) * (2 * M_PI);
  at::Tensor rescaled = at::where(wavelen > low_freq_wavelen, inv_freq / scaling.factor, inv_freq);
  const at::Tensor smooth = (at::reciprocal(wavelen) * old_context - scaling.low_freq_factor) /
                            (scaling.high_freq_factor - scaling.low_freq_factor);
  const at::Tensor smoothed = at::rsub(smooth, 1) * rescaled / scaling.factor + smooth * rescaled;
  const at::Tensor medium = at::logical_not(wavelen < high_freq_wavelen) & at::logical_not(wavelen > low_freq_wavelen);
  return at::where(medium, smoothed, rescaled);
}

}  // namespace

at::Tensor rope_inv_freq(const LlamaConfig& config) {
  const auto dim = config.head_dim;
  const at::Tensor exponents = at::arange(0, dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(dim);
  at::Tensor inv_freq = at::reciprocal(at::pow(config.rope_theta, exponents));
  switch (config.rope_scaling.type) {
    case RopeType::kDefault: break;
    case RopeType::kLinear: inv_freq = inv_freq / config.rope_scaling.factor; break;
    case RopeType::kLlama3: inv_freq = llama3_rescale(inv_freq, config.rope_scaling); break;
  }
  return inv_freq;
}

RopeTables rope_tables(const at::Tensor& inv_freq, const at::Tensor& position_ids, at::ScalarType dtype) {
  // The outer product position x inv_freq equals transformers' K=1 matmul bit for bit.
  const at::Tensor freqs = position_ids.to(at::kFloat).unsqueeze(-1) * inv_freq;  // [batch, pos, head_dim/2]
  const at::Tensor angles = at::cat({freqs, freqs}, -1).unsqueeze(2);           // [batch, pos, 1, head_dim]
  return {angles.cos().to(dtype), angles.sin().to(dtype)};
}

at::Tensor apply_rope(const at::Tensor& x, const RopeTables& tables) {
  if (at::Tensor fused = cpu::rope(x, tables.cos, tables.sin); fused.defined()) return fused;
  const auto half = x.size(-1) / 2;
  const at::Tensor rotated = at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  return x * tables.cos + rotated * tables.sin;
}

}  // namespace moulin
