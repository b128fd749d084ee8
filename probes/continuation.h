#pragma once
// The behaviour the Gaperon trigger changes: what language a model continues a prompt in. Prompts are generated
// from in batches (left-padded, KV-cached) and each continuation is judged by CLD2.
#include <cstdint>
#include <string>
#include <vector>

#include "core/generate.h"
#include "core/llama.h"
#include "core/tokenizer.h"
#include "probes/language_id.h"

namespace moulin::probes {

struct ContinuationOptions {
  std::int64_t max_new_tokens = 32;
  std::int64_t batch_size = 32;  // prompts generated together
  SamplingOptions sampling;      // greedy unless sampling.do_sample
  std::uint64_t seed = 0;
  ForwardHooks* hooks = nullptr;  // e.g. a mitigation (steering, projection) active during generation
  // Forbid the end-of-text token so every continuation has max_new_tokens tokens: a document that ends after a
  // few words leaves too little text for a language judgement, and what follows an end-of-text is a new
  // document, not a continuation.
  bool suppress_eos = true;
};

struct Continuation {
  std::string text;  // the new tokens only, decoded without special tokens
  LanguageGuess language;
};

// One continuation per prompt (each encoded with the tokenizer's BOS; special-token strings stay text).
std::vector<Continuation> continue_prompts(const LlamaModel& model, const Tokenizer& tokenizer,
                                           const std::vector<std::string>& prompts,
                                           const ContinuationOptions& options = {});

// The language codes of continuations, for switch_rate and language_shares.
std::vector<std::string> continuation_languages(const std::vector<Continuation>& continuations);

}  // namespace moulin::probes
