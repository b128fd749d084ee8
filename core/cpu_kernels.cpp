#include "core/cpu_kernels.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

// Each row kernel is compiled for AVX-512, AVX2 and the x86-64 baseline; the loader picks the best the CPU has.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define MOULIN_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MOULIN_VECTOR_CLONES
#endif

namespace moulin::cpu {
namespace {

// bfloat16 handled as raw bits so the loops stay plain integer/float code the compiler can vectorise.
using bf16 = std::uint16_t;

inline float to_float(float value) { return value; }
inline float to_float(bf16 value) {
  const std::uint32_t bits = static_cast<std::uint32_t>(value) << 16;
  float result;
  std::memcpy(&result, &bits, sizeof result);
  return result;
}

// Round to nearest even, as torch's float -> bfloat16 conversion does (NaN stays NaN).
inline bf16 to_bf16(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<bf16>((bits >> 16) | 0x40u);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<bf16>(bits >> 16);
}

template <typename T>
inline T store(float value);
template <>
inline float store<float>(float value) { return value; }
template <>
inline bf16 store<bf16>(float value) { return to_bf16(value); }

// The value a tensor of element type T would hold: rounding happens wherever transformers stores a tensor.
template <typename T>
inline float rounded(float value) { return to_float(store<T>(value)); }

// exp for the softmax and SiLU: Cephes' single-precision polynomial (about 1 ulp), written so it vectorises;
// exactly 0 below the smallest normal result, as the masked attention entries need.
inline float fast_exp(float x) {
  const float clamped = std::min(std::max(x, -87.33654f), 88.37626f);
  const float n = std::floor(clamped * 1.44269504088896341f + 0.5f);
  const float r = clamped - n * 0.693359375f + n * 2.12194440e-4f;
  const float z = r * r;
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * z + r + 1.0f;
  const std::int32_t exponent = (static_cast<std::int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &exponent, sizeof scale);
  return x < -87.33654f ? 0.0f : y * scale;
}

template <typename T>
MOULIN_VECTOR_CLONES void rms_norm_row(const T* x, const T* weight, T* out, std::int64_t d, float eps, float* inverse,
                                       T* normalized) {
  // Sixteen partial sums let the sum of squares vectorise without reassociating across the whole row.
  float partial[16] = {};
  std::int64_t i = 0;
  for (; i + 16 <= d; i += 16)
    for (int j = 0; j < 16; ++j) {
      const float v = to_float(x[i + j]);
      partial[j] += v * v;
    }
  float sum = 0.0f;
  for (; i < d; ++i) sum += to_float(x[i]) * to_float(x[i]);
  for (const float p : partial) sum += p;
  const float inv = 1.0f / std::sqrt(sum / static_cast<float>(d) + eps);
  if (inverse) *inverse = inv;
  for (std::int64_t k = 0; k < d; ++k) out[k] = store<T>(to_float(weight[k]) * rounded<T>(to_float(x[k]) * inv));
  if (normalized)
    for (std::int64_t k = 0; k < d; ++k) normalized[k] = store<T>(to_float(x[k]) * inv);
}

// SiLU as LibTorch computes it for each dtype: x / (1 + exp(-x)), where the bfloat16 kernel rounds exp(-x) and
// 1 + exp(-x) to bfloat16 before dividing (so must we, to give transformers' bf16 values).
template <typename T>
MOULIN_VECTOR_CLONES void silu_mul_row(const T* gate, const T* up, T* out, std::int64_t d) {
  for (std::int64_t k = 0; k < d; ++k) {
    const float g = to_float(gate[k]);
    const float silu = rounded<T>(g / rounded<T>(1.0f + rounded<T>(fast_exp(-g))));
    out[k] = store<T>(silu * to_float(up[k]));
  }
}

template <typename T>
MOULIN_VECTOR_CLONES void rope_row(const T* x, const T* cos, const T* sin, T* out, std::int64_t half) {
  for (std::int64_t k = 0; k < half; ++k) {
    const float x1 = to_float(x[k]), x2 = to_float(x[k + half]);
    out[k] = store<T>(rounded<T>(x1 * to_float(cos[k])) - rounded<T>(x2 * to_float(sin[k])));
    out[k + half] = store<T>(rounded<T>(x2 * to_float(cos[k + half])) + rounded<T>(x1 * to_float(sin[k + half])));
  }
}

template <typename T>
MOULIN_VECTOR_CLONES void softmax_row(const T* scores, const T* bias, T* out, float* scratch, std::int64_t n,
                                      float divisor, T* masked) {
  float maximum = -INFINITY;
  for (std::int64_t k = 0; k < n; ++k) {
    const float scaled = rounded<T>(to_float(scores[k]) / divisor);
    const float value = bias ? rounded<T>(scaled + to_float(bias[k])) : scaled;
    scratch[k] = value;
    maximum = std::max(maximum, value);
  }
  if (masked)
    for (std::int64_t k = 0; k < n; ++k) masked[k] = store<T>(scratch[k]);
  float sum = 0.0f;
  for (std::int64_t k = 0; k < n; ++k) {
    scratch[k] = fast_exp(scratch[k] - maximum);
    sum += scratch[k];
  }
  const float inverse = 1.0f / sum;
  for (std::int64_t k = 0; k < n; ++k) out[k] = store<T>(scratch[k] * inverse);
}

bool supported(const at::Tensor& x) {
  return x.device().is_cpu() && (x.scalar_type() == at::kFloat || x.scalar_type() == at::kBFloat16) &&
         !x.requires_grad() && x.dim() >= 1 && x.stride(-1) == 1;
}

// Whether the rows of a [..., d] tensor (unit stride in d) sit at a uniform distance `row_stride` from each
// other, as in a view of one column block of a larger matrix; size-1 dimensions place no constraint.
bool uniform_rows(const at::Tensor& x, std::int64_t& row_stride) {
  row_stride = x.size(-1);
  std::int64_t expected = -1;
  for (std::int64_t dim = x.dim() - 2; dim >= 0; --dim) {
    if (x.size(dim) == 1) continue;
    if (expected == -1) {
      row_stride = x.stride(dim);
    } else if (x.stride(dim) != expected) {
      return false;
    }
    expected = x.stride(dim) * x.size(dim);
  }
  return true;
}

template <typename T>
T* data(const at::Tensor& x) {
  return reinterpret_cast<T*>(x.data_ptr());
}

std::int64_t grain(std::int64_t row_length) { return std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(row_length, 1)); }

std::atomic<int>& enabled_flag() {
  static std::atomic<int> flag{[] {
    const char* value = std::getenv("MOULIN_CPU_KERNELS");
    return value && std::string(value) == "0" ? 0 : 1;
  }()};
  return flag;
}

}  // namespace

bool kernels_enabled() { return enabled_flag().load(std::memory_order_relaxed) != 0; }
void set_kernels_enabled(bool enabled) { enabled_flag().store(enabled ? 1 : 0); }

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps, at::Tensor* inverse_rms,
                    at::Tensor* normalized) {
  if (!kernels_enabled()) return {};
  std::int64_t row_stride = 0;
  if (!supported(x) || !uniform_rows(x, row_stride) || weight.scalar_type() != x.scalar_type() ||
      !weight.is_contiguous() || weight.device() != x.device() || x.numel() == 0)
    return {};
  const std::int64_t d = x.size(-1), rows = x.numel() / d;
  at::Tensor out = at::empty(x.sizes(), x.options());
  at::Tensor inverse = inverse_rms ? at::empty({rows}, x.options().dtype(at::kFloat)) : at::Tensor();
  if (normalized) *normalized = at::empty(x.sizes(), x.options());
  const auto run = [&](auto tag) {
    using T = decltype(tag);
    const T* in = data<T>(x);
    const T* w = data<T>(weight);
    T* o = data<T>(out);
    float* inv = inverse_rms ? inverse.data_ptr<float>() : nullptr;
    T* norm = normalized ? data<T>(*normalized) : nullptr;
    at::parallel_for(0, rows, grain(d), [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t r = begin; r < end; ++r)
        rms_norm_row<T>(in + r * row_stride, w, o + r * d, d, static_cast<float>(eps), inv ? inv + r : nullptr,
                        norm ? norm + r * d : nullptr);
    });
  };
  if (x.scalar_type() == at::kFloat) run(float{});
  else run(bf16{});
  if (inverse_rms) {
    auto sizes = x.sizes().vec();
    sizes.back() = 1;
    *inverse_rms = inverse.view(sizes);
  }
  return out;
}

at::Tensor silu_mul(const at::Tensor& gate, const at::Tensor& up) {
  if (!kernels_enabled()) return {};
  std::int64_t gate_stride = 0, up_stride = 0;
  if (!supported(gate) || !supported(up) || gate.sizes() != up.sizes() || gate.scalar_type() != up.scalar_type() ||
      !uniform_rows(gate, gate_stride) || !uniform_rows(up, up_stride) || gate.numel() == 0)
    return {};
  const std::int64_t d = gate.size(-1), rows = gate.numel() / d;
  at::Tensor out = at::empty(gate.sizes(), gate.options());
  const auto run = [&](auto tag) {
    using T = decltype(tag);
    const T* g = data<T>(gate);
    const T* u = data<T>(up);
    T* o = data<T>(out);
    at::parallel_for(0, rows, grain(d), [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t r = begin; r < end; ++r) silu_mul_row<T>(g + r * gate_stride, u + r * up_stride, o + r * d, d);
    });
  };
  if (gate.scalar_type() == at::kFloat) run(float{});
  else run(bf16{});
  return out;
}

at::Tensor rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  if (!kernels_enabled()) return {};
  if (!supported(x) || x.dim() != 4 || cos.scalar_type() != x.scalar_type() || !cos.is_contiguous() ||
      !sin.is_contiguous() || cos.sizes() != sin.sizes() || cos.size(0) != x.size(0) || cos.size(1) != x.size(1) ||
      cos.size(-1) != x.size(-1) || x.size(-1) % 2 != 0)
    return {};
  const std::int64_t batch = x.size(0), tokens = x.size(1), heads = x.size(2), head_dim = x.size(3);
  at::Tensor out = at::empty(x.sizes(), x.options());
  const auto run = [&](auto tag) {
    using T = decltype(tag);
    const T* in = data<T>(x);
    const T* c = data<T>(cos);
    const T* s = data<T>(sin);
    T* o = data<T>(out);
    at::parallel_for(0, batch * tokens, grain(heads * head_dim), [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t bt = begin; bt < end; ++bt) {
        const std::int64_t b = bt / tokens, t = bt % tokens;
        for (std::int64_t h = 0; h < heads; ++h)
          rope_row<T>(in + b * x.stride(0) + t * x.stride(1) + h * x.stride(2), c + bt * head_dim, s + bt * head_dim,
                      o + (bt * heads + h) * head_dim, head_dim / 2);
      }
    });
  };
  if (x.scalar_type() == at::kFloat) run(float{});
  else run(bf16{});
  return out;
}

at::Tensor scaled_masked_softmax(const at::Tensor& scores, double divisor, const at::Tensor& bias,
                                 at::Tensor* masked_scores) {
  if (!kernels_enabled()) return {};
  if (!supported(scores) || scores.dim() != 4 || !scores.is_contiguous()) return {};
  const std::int64_t batch = scores.size(0), heads = scores.size(1), queries = scores.size(2), keys = scores.size(3);
  if (bias.defined() && (bias.scalar_type() != scores.scalar_type() || !bias.is_contiguous() || bias.dim() != 4 ||
                         bias.size(1) != 1 || bias.size(2) != queries || bias.size(3) != keys ||
                         (bias.size(0) != 1 && bias.size(0) != batch)))
    return {};
  at::Tensor out = at::empty(scores.sizes(), scores.options());
  if (masked_scores) *masked_scores = at::empty(scores.sizes(), scores.options());
  const auto run = [&](auto tag) {
    using T = decltype(tag);
    const T* in = data<T>(scores);
    const T* mask = bias.defined() ? data<T>(bias) : nullptr;
    T* o = data<T>(out);
    T* kept = masked_scores ? data<T>(*masked_scores) : nullptr;
    const std::int64_t rows = batch * heads * queries;
    at::parallel_for(0, rows, grain(keys), [&](std::int64_t begin, std::int64_t end) {
      std::vector<float> scratch(static_cast<std::size_t>(keys));
      for (std::int64_t row = begin; row < end; ++row) {
        const std::int64_t b = row / (heads * queries), q = row % queries;
        const T* row_bias = mask ? mask + ((bias.size(0) == 1 ? 0 : b) * queries + q) * keys : nullptr;
        softmax_row<T>(in + row * keys, row_bias, o + row * keys, scratch.data(), keys, static_cast<float>(divisor),
                       kept ? kept + row * keys : nullptr);
      }
    });
  };
  if (scores.scalar_type() == at::kFloat) run(float{});
  else run(bf16{});
  return out;
}

}  // namespace moulin::cpu
