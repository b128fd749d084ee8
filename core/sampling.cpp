#include "core/sampling.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace moulin {

void sampling_validate(const SamplingOptions& options) {
  // Written as negated ranges so NaN fails every check.
  if (options.do_sample && !(options.temperature > 0.0))
    throw ArgumentError(fmt::format("temperature must be > 0 when sampling, got {}", options.temperature));
  if (!(options.top_p > 0.0 && options.top_p <= 1.0))
    throw ArgumentError(fmt::format("top_p must be in (0, 1], got {}", options.top_p));
  if (options.top_k < 0) throw ArgumentError(fmt::format("top_k must be >= 0 (0 disables it), got {}", options.top_k));
  if (!(options.repetition_penalty > 0.0) || std::isinf(options.repetition_penalty))
    throw ArgumentError(fmt::format("repetition_penalty must be a finite number > 0 (1 disables it), got {}",
                                    options.repetition_penalty));
}

at::Tensor sampling_token_presence(const at::Tensor& ids, const at::Tensor& mask, std::int64_t vocab_size) {
  // Counting then comparing (rather than scattering true/false) keeps a padding position that shares an id with
  // a real token from erasing it.
  const at::Tensor weights = mask.defined() ? mask.to(ids.device(), at::kLong) : at::ones_like(ids);
  const at::Tensor counts =
      at::zeros({ids.size(0), vocab_size}, ids.options().dtype(at::kLong)).scatter_add_(1, ids, weights);
  return counts.gt(0);
}

at::Tensor sampling_repetition_penalty(const at::Tensor& logits, const at::Tensor& seen, double penalty) {
  if (!seen.defined() || seen.sizes() != logits.sizes())
    throw ArgumentError(fmt::format("the repetition penalty needs a token presence mask of the logits' shape [{}]",
                                    fmt::join(logits.sizes(), ", ")));
  const at::Tensor penalized = at::where(logits < 0, logits * penalty, logits / penalty);
  return at::where(seen, penalized, logits);
}

at::Tensor sampling_top_k(const at::Tensor& logits, std::int64_t top_k) {
  const std::int64_t k = std::min(top_k, logits.size(-1));
  if (k <= 0) return logits;
  const at::Tensor kth = std::get<0>(logits.topk(k, -1)).narrow(-1, k - 1, 1);  // [batch, 1]
  return logits.masked_fill(logits < kth, -std::numeric_limits<float>::infinity());
}

at::Tensor sampling_top_p(const at::Tensor& logits, double top_p) {
  if (top_p >= 1.0) return logits;
  const auto [sorted, order] = logits.sort(-1, /*descending=*/true);
  const at::Tensor probs = at::softmax(sorted, -1);
  // A token goes when the more likely ones already reach top_p; the most likely one (mass before it: 0) stays.
  const at::Tensor mass_before = probs.cumsum(-1) - probs;
  const at::Tensor sorted_drop = mass_before >= top_p;
  const at::Tensor drop = at::zeros_like(sorted_drop).scatter(-1, order, sorted_drop);
  return logits.masked_fill(drop, -std::numeric_limits<float>::infinity());
}

at::Tensor sampling_next_tokens(const at::Tensor& logits, const SamplingOptions& options, const at::Tensor& seen,
                                at::Generator& generator) {
  at::Tensor scores = logits;
  if (options.repetition_penalty != 1.0) scores = sampling_repetition_penalty(scores, seen, options.repetition_penalty);
  if (!options.do_sample) return scores.argmax(-1).cpu();

  scores = scores.to(at::kCPU, at::kFloat);
  if (options.temperature != 1.0) scores = scores / options.temperature;
  if (options.top_k > 0) scores = sampling_top_k(scores, options.top_k);
  if (options.top_p < 1.0) scores = sampling_top_p(scores, options.top_p);
  return at::multinomial(at::softmax(scores, -1), 1, /*replacement=*/false, generator).squeeze(1);
}

}  // namespace moulin
