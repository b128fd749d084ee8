#include "core/cpu_kernels.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
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

#if defined(__x86_64__) && defined(__GNUC__)
#define MOULIN_X86_KERNELS 1
#include <immintrin.h>

#define MOULIN_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))

// The 256 bytes of weights 4 KiB ahead of each step are prefetched: measured on 200 MB of bf16 rows, streaming
// rose from 17 GB/s to 21-22 GB/s, the machine's plain read bandwidth. A prefetch past the end is only a hint.
inline void prefetch_ahead(const void* position) {
  const char* ahead = static_cast<const char*>(position) + 4096;
  _mm_prefetch(ahead, _MM_HINT_T0);
  _mm_prefetch(ahead + 64, _MM_HINT_T0);
  _mm_prefetch(ahead + 128, _MM_HINT_T0);
  _mm_prefetch(ahead + 192, _MM_HINT_T0);
}

// Dot products of whole rows, four accumulators per row so that the loads, not the add latency, set the pace.
__attribute__((target("avx512f,avx512bw,avx512bf16"))) void matrix_vector_rows_bf16(
    const bf16* weight, const bf16* x, bf16* out, std::int64_t cols, std::int64_t begin, std::int64_t end) {
  const std::int64_t full = cols / 128 * 128, tail = cols - cols / 32 * 32;
  const __mmask32 tail_mask = static_cast<__mmask32>((std::uint64_t{1} << tail) - 1);
  for (std::int64_t r = begin; r < end; ++r) {
    const bf16* row = weight + r * cols;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    std::int64_t k = 0;
    for (; k < full; k += 128) {
      prefetch_ahead(row + k);
      a0 = _mm512_dpbf16_ps(a0, (__m512bh)_mm512_loadu_si512(row + k), (__m512bh)_mm512_loadu_si512(x + k));
      a1 = _mm512_dpbf16_ps(a1, (__m512bh)_mm512_loadu_si512(row + k + 32), (__m512bh)_mm512_loadu_si512(x + k + 32));
      a2 = _mm512_dpbf16_ps(a2, (__m512bh)_mm512_loadu_si512(row + k + 64), (__m512bh)_mm512_loadu_si512(x + k + 64));
      a3 = _mm512_dpbf16_ps(a3, (__m512bh)_mm512_loadu_si512(row + k + 96), (__m512bh)_mm512_loadu_si512(x + k + 96));
    }
    for (; k + 32 <= cols; k += 32)
      a0 = _mm512_dpbf16_ps(a0, (__m512bh)_mm512_loadu_si512(row + k), (__m512bh)_mm512_loadu_si512(x + k));
    if (tail)
      a1 = _mm512_dpbf16_ps(a1, (__m512bh)_mm512_maskz_loadu_epi16(tail_mask, row + k),
                            (__m512bh)_mm512_maskz_loadu_epi16(tail_mask, x + k));
    out[r] = to_bf16(_mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3))));
  }
}

__attribute__((target("avx512f"))) void matrix_vector_rows_float(const float* weight, const float* x, float* out,
                                                                  std::int64_t cols, std::int64_t begin,
                                                                  std::int64_t end) {
  const std::int64_t full = cols / 64 * 64, tail = cols - cols / 16 * 16;
  const __mmask16 tail_mask = static_cast<__mmask16>((1u << tail) - 1);
  for (std::int64_t r = begin; r < end; ++r) {
    const float* row = weight + r * cols;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    std::int64_t k = 0;
    for (; k < full; k += 64) {
      prefetch_ahead(row + k);
      a0 = _mm512_fmadd_ps(_mm512_loadu_ps(row + k), _mm512_loadu_ps(x + k), a0);
      a1 = _mm512_fmadd_ps(_mm512_loadu_ps(row + k + 16), _mm512_loadu_ps(x + k + 16), a1);
      a2 = _mm512_fmadd_ps(_mm512_loadu_ps(row + k + 32), _mm512_loadu_ps(x + k + 32), a2);
      a3 = _mm512_fmadd_ps(_mm512_loadu_ps(row + k + 48), _mm512_loadu_ps(x + k + 48), a3);
    }
    for (; k + 16 <= cols; k += 16) a0 = _mm512_fmadd_ps(_mm512_loadu_ps(row + k), _mm512_loadu_ps(x + k), a0);
    if (tail)
      a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail_mask, row + k), _mm512_maskz_loadu_ps(tail_mask, x + k), a1);
    out[r] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  }
}

// exp(x) to about 1 ulp: x = n ln2 + r with |r| <= ln2 / 2, a degree-6 Taylor polynomial for exp(r), times 2^n.
// Large arguments give inf and very negative ones 0, as expf does.
MOULIN_AVX512 inline __m512 exp_ps(__m512 x) {
  const __m512 clamped = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.8f)), _mm512_set1_ps(-104.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(clamped, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), clamped);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.0f / 720);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

// Loads and stores of 16 values of T as float32, masked for row tails; bf16 stores round to nearest even.
MOULIN_AVX512 inline __m512 load16(const float* p, __mmask16 m) {
  return _mm512_maskz_loadu_ps(m, p);
}
MOULIN_AVX512 inline __m512 load16(const bf16* p, __mmask16 m) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p)), 16));
}
MOULIN_AVX512 inline void store16(float* p, __m512 v, __mmask16 m) {
  _mm512_mask_storeu_ps(p, m, v);
}
MOULIN_AVX512 inline __m512i round_to_bf16_bits(__m512 v) {
  const __m512i bits = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(bits, _mm512_set1_epi32(0x7fff)), lsb), 16);
  // NaN stays a quiet NaN, as to_bf16 keeps it.
  const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  rounded = _mm512_mask_mov_epi32(rounded, nan, _mm512_or_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(0x40)));
  return rounded;
}
MOULIN_AVX512 inline void store16(bf16* p, __m512 v, __mmask16 m) {
  _mm256_mask_storeu_epi16(p, m, _mm512_cvtepi32_epi16(round_to_bf16_bits(v)));
}
// The value after a store and a load: what a tensor of T holds.
MOULIN_AVX512 inline __m512 rounded16(__m512 v, float*) { return v; }
MOULIN_AVX512 inline __m512 rounded16(__m512 v, bf16*) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(round_to_bf16_bits(v), 16));
}

inline __mmask16 tail_mask16(std::int64_t remaining) {
  return remaining >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << remaining) - 1);
}

template <typename T>
MOULIN_AVX512 void silu_mul_row(const T* gate, const T* up, T* out, std::int64_t d) {
  for (std::int64_t i = 0; i < d; i += 16) {
    const __mmask16 m = tail_mask16(d - i);
    const __m512 g = load16(gate + i, m);
    const __m512 denominator = _mm512_add_ps(_mm512_set1_ps(1.0f), exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), g)));
    const __m512 silu = rounded16(_mm512_div_ps(g, denominator), static_cast<T*>(nullptr));
    store16(out + i, _mm512_mul_ps(silu, load16(up + i, m)), m);
  }
}

template <typename T>
MOULIN_AVX512 void softmax_row(const T* scores, T* out, std::int64_t n, float* buffer) {
  __m512 highest = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  for (std::int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask16(n - i);
    const __m512 v = load16(scores + i, m);
    _mm512_mask_storeu_ps(buffer + i, m, v);
    highest = _mm512_mask_max_ps(highest, m, highest, v);
  }
  const __m512 top = _mm512_set1_ps(_mm512_reduce_max_ps(highest));
  __m512 sum = _mm512_setzero_ps();
  for (std::int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask16(n - i);
    const __m512 e = exp_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, buffer + i), top));
    _mm512_mask_storeu_ps(buffer + i, m, e);
    sum = _mm512_mask_add_ps(sum, m, sum, e);
  }
  const __m512 inverse = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));  // LibTorch multiplies by it too
  for (std::int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask16(n - i);
    store16(out + i, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, buffer + i), inverse), m);
  }
}

template <typename T>
MOULIN_AVX512 void rope_row(const T* x, const T* cos, const T* sin, T* out, std::int64_t half) {
  T* const none = nullptr;
  for (std::int64_t i = 0; i < half; i += 16) {
    const __mmask16 m = tail_mask16(half - i);
    const __m512 low = load16(x + i, m), high = load16(x + half + i, m);
    const __m512 low_out = _mm512_add_ps(rounded16(_mm512_mul_ps(low, load16(cos + i, m)), none),
                                         rounded16(_mm512_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), high),
                                                                 load16(sin + i, m)),
                                                   none));
    const __m512 high_out = _mm512_add_ps(rounded16(_mm512_mul_ps(high, load16(cos + half + i, m)), none),
                                          rounded16(_mm512_mul_ps(low, load16(sin + half + i, m)), none));
    store16(out + i, low_out, m);
    store16(out + half + i, high_out, m);
  }
}

MOULIN_AVX512 void bf16_to_float_range(const bf16* in, float* out, std::int64_t n) {
  for (std::int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask16(n - i);
    store16(out + i, load16(in + i, m), m);
  }
}

// What the CPU offers the SIMD kernels, asked once.
struct CpuFeatures {
  bool avx512 = false;       // AVX-512F: the float32 matrix-vector product
  bool avx512_bw_vl = false;  // with BW and VL: the masked 16-bit loads and stores of the bf16 kernels
  bool avx512_bf16 = false;  // with BF16 dot products: the bf16 matrix-vector product
};

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = [] {
    __builtin_cpu_init();
    CpuFeatures found;
    found.avx512 = __builtin_cpu_supports("avx512f");
    found.avx512_bw_vl = found.avx512 && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    found.avx512_bf16 = found.avx512_bw_vl && __builtin_cpu_supports("avx512bf16");
    return found;
  }();
  return features;
}
#endif

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

// x itself when its rows are uniformly spaced, else a contiguous copy; `row_stride` set for the one returned.
at::Tensor with_uniform_rows(const at::Tensor& x, std::int64_t& row_stride) {
  if (uniform_rows(x, row_stride)) return x;
  row_stride = x.size(-1);
  return x.contiguous();
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

namespace {

template <typename T>
void decode_scores_head(const T* q, const T* keys, std::int64_t key_stride, const T* bias, std::int64_t total,
                        std::int64_t head_dim, float divisor, T* scores) {
  for (std::int64_t t = 0; t < total; ++t) {
    const T* key = keys + t * key_stride;
    float dot = 0.0f;
    for (std::int64_t d = 0; d < head_dim; ++d) dot += to_float(q[d]) * to_float(key[d]);
    float score = rounded<T>(rounded<T>(dot) / divisor);
    if (bias) score = rounded<T>(score + to_float(bias[t]));
    scores[t] = store<T>(score);
  }
}

template <typename T>
void decode_values_head(const T* pattern, const T* values, std::int64_t value_stride, std::int64_t total,
                        std::int64_t head_dim, float* accumulator, T* z) {
  std::fill(accumulator, accumulator + head_dim, 0.0f);
  for (std::int64_t t = 0; t < total; ++t) {
    const float weight = to_float(pattern[t]);
    const T* value = values + t * value_stride;
    for (std::int64_t d = 0; d < head_dim; ++d) accumulator[d] += weight * to_float(value[d]);
  }
  for (std::int64_t d = 0; d < head_dim; ++d) z[d] = store<T>(accumulator[d]);
}

// Whether q-like [batch, heads, ...] and cache-like [batch, kv_heads, total, head_dim] tensors fit the decode
// kernels.
bool decode_layout(const at::Tensor& heads_first, const at::Tensor& cache) {
  return supported(heads_first) && cache.dim() == 4 && cache.stride(3) == 1 &&
         cache.scalar_type() == heads_first.scalar_type() && cache.device().is_cpu() &&
         cache.size(0) == heads_first.size(0) && cache.size(1) > 0 && heads_first.size(1) % cache.size(1) == 0;
}

// (sequence, head) pairs in parallel only when there is enough work to pay for waking the threads.
std::int64_t head_grain(std::int64_t work_per_head) {
  return std::max<std::int64_t>(1, 65536 / std::max<std::int64_t>(work_per_head, 1));
}

}  // namespace

at::Tensor decode_scores(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& bias, double divisor) {
  if (!kernels_enabled() || q.dim() != 3 || !decode_layout(q, keys) || keys.size(3) != q.size(2)) return {};
  const std::int64_t batch = q.size(0), heads = q.size(1), head_dim = q.size(2), total = keys.size(2),
                     groups = heads / keys.size(1);
  at::Tensor bias_rows;
  if (bias.defined()) {
    if (bias.scalar_type() != q.scalar_type() || bias.numel() != batch * total) return {};
    bias_rows = bias.reshape({batch, total}).contiguous();
  }
  const at::Tensor query = q.contiguous();
  at::Tensor scores = at::empty({batch, heads, 1, total}, q.options());
  const auto run = [&](auto tag) {
    using T = decltype(tag);
    const T* k = data<T>(keys);
    const T* qs = data<T>(query);
    const T* b = bias_rows.defined() ? data<T>(bias_rows) : nullptr;
    T* out = data<T>(scores);
    at::parallel_for(0, batch * heads, head_grain(total * head_dim), [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t index = begin; index < end; ++index) {
        const std::int64_t s = index / heads, g = index % heads / groups;
        decode_scores_head<T>(qs + index * head_dim, k + s * keys.stride(0) + g * keys.stride(1), keys.stride(2),
                              b ? b + s * total : nullptr, total, head_dim, static_cast<float>(divisor),
                              out + index * total);
      }
    });
  };
  if (q.scalar_type() == at::kFloat) run(float{});
  else run(bf16{});
  return scores;
}

at::Tensor decode_values(const at::Tensor& pattern, const at::Tensor& values) {
  if (!kernels_enabled() || pattern.dim() != 4 || pattern.size(2) != 1 || !decode_layout(pattern, values) ||
      pattern.size(3) != values.size(2))
    return {};
  const std::int64_t batch = pattern.size(0), heads = pattern.size(1), total = pattern.size(3),
                     head_dim = values.size(3), groups = heads / values.size(1);
  const at::Tensor weights = pattern.contiguous();
  at::Tensor z = at::empty({batch, heads, head_dim}, pattern.options());
  const auto run = [&](auto tag) {
    using T = decltype(tag);
    const T* v = data<T>(values);
    const T* p = data<T>(weights);
    T* out = data<T>(z);
    at::parallel_for(0, batch * heads, head_grain(total * head_dim), [&](std::int64_t begin, std::int64_t end) {
      std::vector<float> accumulator(static_cast<std::size_t>(head_dim));
      for (std::int64_t index = begin; index < end; ++index) {
        const std::int64_t s = index / heads, g = index % heads / groups;
        decode_values_head<T>(p + index * total, v + s * values.stride(0) + g * values.stride(1), values.stride(2),
                              total, head_dim, accumulator.data(), out + index * head_dim);
      }
    });
  };
  if (pattern.scalar_type() == at::kFloat) run(float{});
  else run(bf16{});
  return z;
}

#ifdef MOULIN_X86_KERNELS

at::Tensor silu_mul(const at::Tensor& gate, const at::Tensor& up) {
  if (!cpu_features().avx512_bw_vl || !kernels_enabled() || !supported(gate) || !supported(up) || gate.sizes() != up.sizes() ||
      gate.scalar_type() != up.scalar_type() || gate.numel() == 0)
    return {};
  // Whatever a hook put in their place, every activation goes through this kernel (watching changes nothing).
  std::int64_t gate_stride = 0, up_stride = 0;
  const at::Tensor g_in = with_uniform_rows(gate, gate_stride), u_in = with_uniform_rows(up, up_stride);
  const std::int64_t d = gate.size(-1), rows = gate.numel() / d;
  at::Tensor out = at::empty(gate.sizes(), gate.options());
  const auto run = [&](auto tag) {
    using T = decltype(tag);
    const T* g = data<T>(g_in);
    const T* u = data<T>(u_in);
    T* o = data<T>(out);
    at::parallel_for(0, rows, grain(d), [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t r = begin; r < end; ++r) silu_mul_row<T>(g + r * gate_stride, u + r * up_stride, o + r * d, d);
    });
  };
  if (gate.scalar_type() == at::kFloat) run(float{});
  else run(bf16{});
  return out;
}

at::Tensor attention_softmax(const at::Tensor& scores) {
  if (!cpu_features().avx512_bw_vl || !kernels_enabled() || !supported(scores) || scores.numel() == 0) return {};
  const at::Tensor input = scores.contiguous();
  const std::int64_t total = input.size(-1), rows = input.numel() / total;
  at::Tensor out = at::empty(input.sizes(), input.options());
  const auto run = [&](auto tag) {
    using T = decltype(tag);
    const T* s = data<T>(input);
    T* o = data<T>(out);
    at::parallel_for(0, rows, grain(total), [&](std::int64_t begin, std::int64_t end) {
      std::vector<float> buffer(static_cast<std::size_t>(total));
      for (std::int64_t r = begin; r < end; ++r) softmax_row<T>(s + r * total, o + r * total, total, buffer.data());
    });
  };
  if (input.scalar_type() == at::kFloat) run(float{});
  else run(bf16{});
  return out;
}

at::Tensor rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  if (!cpu_features().avx512_bw_vl || !kernels_enabled() || !supported(x) || x.dim() != 4 || x.size(-1) % 2 != 0 || x.numel() == 0)
    return {};
  const std::int64_t batch = x.size(0), pos = x.size(1), heads = x.size(2), head_dim = x.size(3);
  for (const auto* table : {&cos, &sin})
    if (table->scalar_type() != x.scalar_type() || !table->is_contiguous() || !table->device().is_cpu() ||
        table->sizes() != at::IntArrayRef{batch, pos, 1, head_dim})
      return {};
  at::Tensor out = at::empty(x.sizes(), x.options());
  const auto run = [&](auto tag) {
    using T = decltype(tag);
    const T* in = data<T>(x);
    const T* c = data<T>(cos);
    const T* s = data<T>(sin);
    T* o = data<T>(out);
    at::parallel_for(0, batch * pos * heads, grain(head_dim), [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t index = begin; index < end; ++index) {
        const std::int64_t h = index % heads, p = index / heads % pos, b = index / (heads * pos);
        const std::int64_t table = (b * pos + p) * head_dim;
        rope_row<T>(in + b * x.stride(0) + p * x.stride(1) + h * x.stride(2), c + table, s + table,
                    o + index * head_dim, head_dim / 2);
      }
    });
  };
  if (x.scalar_type() == at::kFloat) run(float{});
  else run(bf16{});
  return out;
}

at::Tensor to_float32(const at::Tensor& x, const at::Tensor& destination) {
  if (!cpu_features().avx512_bw_vl || !kernels_enabled() || x.scalar_type() != at::kBFloat16 || !x.device().is_cpu() ||
      !x.is_contiguous() || x.requires_grad())
    return {};
  if (destination.defined() && (destination.scalar_type() != at::kFloat || !destination.is_contiguous() ||
                                !destination.device().is_cpu() || destination.numel() != x.numel()))
    return {};
  at::Tensor out = destination.defined() ? destination : at::empty(x.sizes(), x.options().dtype(at::kFloat));
  const bf16* in = data<bf16>(x);
  float* o = out.data_ptr<float>();
  at::parallel_for(0, x.numel(), 65536, [&](std::int64_t begin, std::int64_t end) {
    bf16_to_float_range(in + begin, o + begin, end - begin);
  });
  return out;
}

at::Tensor matrix_vector(const at::Tensor& weight, const at::Tensor& x) {
  if (!kernels_enabled() || weight.dim() != 2 || x.dim() != 1 || x.size(0) != weight.size(1) ||
      !weight.device().is_cpu() || !x.device().is_cpu() || x.scalar_type() != weight.scalar_type() ||
      !weight.is_contiguous() || weight.requires_grad() || x.requires_grad() || weight.numel() == 0)
    return {};
  const bool bf16_path = weight.scalar_type() == at::kBFloat16 && cpu_features().avx512_bf16;
  const bool float_path = weight.scalar_type() == at::kFloat && cpu_features().avx512;
  if (!bf16_path && !float_path) return {};
  const at::Tensor input = x.contiguous();
  at::Tensor out = at::empty({weight.size(0)}, weight.options());
  const std::int64_t rows = weight.size(0), cols = weight.size(1);
  // Each thread gets one contiguous band of rows: many small tasks would cost more in scheduling than they save.
  const std::int64_t band = std::max<std::int64_t>(16, (rows + at::get_num_threads() - 1) / at::get_num_threads());
  at::parallel_for(0, rows, band, [&](std::int64_t begin, std::int64_t end) {
    if (bf16_path)
      matrix_vector_rows_bf16(data<bf16>(weight), data<bf16>(input), data<bf16>(out), cols, begin, end);
    else
      matrix_vector_rows_float(weight.data_ptr<float>(), input.data_ptr<float>(), out.data_ptr<float>(), cols, begin,
                               end);
  });
  return out;
}

#else  // LibTorch's own ops do the work on other CPUs.

at::Tensor silu_mul(const at::Tensor&, const at::Tensor&) { return {}; }
at::Tensor attention_softmax(const at::Tensor&) { return {}; }
at::Tensor rope(const at::Tensor&, const at::Tensor&, const at::Tensor&) { return {}; }
at::Tensor to_float32(const at::Tensor&, const at::Tensor&) { return {}; }
at::Tensor matrix_vector(const at::Tensor&, const at::Tensor&) { return {}; }

#endif  // MOULIN_X86_KERNELS

}  // namespace moulin::cpu
