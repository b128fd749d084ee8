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

}  // namespace moulin::cpu
