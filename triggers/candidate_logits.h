#pragma once
// The next-token logits of one prompt with each of many candidate phrases inserted, in batches. With prefix reuse
// the prompt text before the trigger (InsertedPrompt::shared) runs once and every batch of candidates continues
// from copies of its KV cache, so a suffix scan pays only for the candidates' own tokens; without it each
// candidate's whole sequence runs, left-padded. Both give the same logits up to floating-point rounding.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "core/llama.h"
#include "core/tokenizer.h"
#include "triggers/insertion.h"

namespace moulin::triggers {

struct CandidateBatchOptions {
  Placement placement = Placement::kSuffix;
  std::int64_t batch_size = 64;  // candidates per forward pass
  bool reuse_prefix = true;      // false: full sequences, as a reference and for the benchmark
};

// Receives the index of a batch's first phrase and the next-token logits after each of its phrases,
// [phrases in the batch, vocab] float32 on the model's device.
using CandidateLogitsVisitor = std::function<void(std::size_t first, const at::Tensor& logits)>;

// Runs `phrases` (non-empty after insertion) inserted into `prompt` batch by batch, in order, without autograd.
// Throws ArgumentError for a batch size below 1 or an empty phrase.
void for_each_candidate_batch(const LlamaModel& model, const Tokenizer& tokenizer, const std::string& prompt,
                              const std::vector<std::string>& phrases, const CandidateBatchOptions& options,
                              const CandidateLogitsVisitor& visit);

// Every phrase at once: [phrases, vocab] float32 (small candidate sets; scans use the visitor).
at::Tensor candidate_next_token_logits(const LlamaModel& model, const Tokenizer& tokenizer, const std::string& prompt,
                                       const std::vector<std::string>& phrases, const CandidateBatchOptions& options);

// The next-token logits of the prompt alone, [vocab] float32: what each candidate is compared with.
at::Tensor prompt_next_token_logits(const LlamaModel& model, const Tokenizer& tokenizer, const std::string& prompt);

}  // namespace moulin::triggers
