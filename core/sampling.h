#pragma once
// Choosing the next token from logits: the repetition penalty, then (when sampling) temperature, top-k and top-p,
// in the order and with the semantics of transformers' generate (4.44). Stateless functions over [batch, vocab]
// tensors, so each rule can be checked on hand-made logits.
#include <ATen/ATen.h>

#include <cstdint>

namespace moulin {

struct SamplingOptions {
  // false: greedy (argmax after the repetition penalty); temperature, top_k and top_p are then ignored.
  bool do_sample = false;
  // Logits are divided by it before sampling; must be > 0 when sampling. 1 leaves them as they are.
  double temperature = 1.0;
  // Keep only the k most likely tokens (ties with the k-th are kept, as in HF). 0 disables it.
  std::int64_t top_k = 0;
  // Nucleus: keep the smallest set of most likely tokens whose probability sums to >= top_p (never fewer than
  // one token). In (0, 1]; 1 disables it.
  double top_p = 1.0;
  // CTRL / HF: for every token already in the sequence (prompt and generated), a positive logit is divided by
  // the penalty and a negative one multiplied by it. > 0; 1 disables it, > 1 discourages repeats. Applies to
  // greedy decoding too.
  double repetition_penalty = 1.0;
};

// Throws ArgumentError for out-of-range values (temperature <= 0 while sampling, top_p outside (0, 1], top_k < 0,
// repetition_penalty <= 0), naming the option and its value.
void sampling_validate(const SamplingOptions& options);

// bool [batch, vocab]: true for the ids of `ids` [batch, pos] int64 at positions where `mask` [batch, pos] is
// non-zero (undefined mask: every position), on ids' device. The token memory of the repetition penalty.
at::Tensor sampling_token_presence(const at::Tensor& ids, const at::Tensor& mask, std::int64_t vocab_size);

// The logit transforms, out of place: `logits` [batch, vocab] float may be a tensor a hook has also seen.
// `seen` is sampling_token_presence's mask. Filtered tokens get -inf.
at::Tensor sampling_repetition_penalty(const at::Tensor& logits, const at::Tensor& seen, double penalty);
at::Tensor sampling_top_k(const at::Tensor& logits, std::int64_t top_k);
at::Tensor sampling_top_p(const at::Tensor& logits, double top_p);

// Next token per row, int64 [batch] on the CPU, from `logits` [batch, vocab] float. `seen` is needed only with a
// repetition penalty (undefined otherwise). Sampling runs on the CPU with `generator` (a CPU generator), so a seed
// gives the same tokens whatever device the model is on.
at::Tensor sampling_next_tokens(const at::Tensor& logits, const SamplingOptions& options, const at::Tensor& seen,
                                at::Generator& generator);

}  // namespace moulin
