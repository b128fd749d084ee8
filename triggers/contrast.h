#pragma once
// A triggered prompt and what it is compared with. Localisation patches activations between the two runs, so
// their positions must line up; probes and mitigation only compare last tokens, so the contrast may simply be the
// prompt without the trigger.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <ATen/ATen.h>

#include "core/tokenizer.h"
#include "triggers/insertion.h"

namespace moulin::triggers {

enum class ContrastKind {
  kClean,         // the prompt without the trigger
  kRandomTokens,  // each trigger token replaced by a seeded random token: positions align with the triggered run
  kPhrase,        // another phrase in the trigger's place (a near miss); aligned when it has as many tokens
};
// "clean", "random", "phrase".
const char* contrast_kind_name(ContrastKind kind);
// Throws ArgumentError naming the accepted names.
ContrastKind parse_contrast_kind(std::string_view name);

struct ContrastOptions {
  ContrastKind kind = ContrastKind::kClean;
  std::string phrase;  // for kPhrase
  std::uint64_t seed = 0;
  // For kRandomTokens: [vocab] bool, the tokens a replacement may be (e.g. TriggerVocabulary::allowed, which
  // leaves out target-language tokens that would push the contrast toward the target by themselves). Undefined:
  // every token the tokenizer does not mark special.
  at::Tensor replacement_tokens;
};

struct PromptPair {
  std::string prompt;              // the prompt before insertion
  std::vector<TokenId> triggered;  // BOS, prompt and trigger
  std::vector<TokenId> contrast;
  std::int64_t trigger_begin = 0;  // the trigger's tokens in `triggered`: [trigger_begin, trigger_end)
  std::int64_t trigger_end = 0;

  // Position p of one run corresponds to position p of the other.
  bool aligned() const { return triggered.size() == contrast.size(); }
  std::int64_t length() const { return static_cast<std::int64_t>(triggered.size()); }
};

// The trigger inserted in every prompt at `placement`, with its contrast. Throws ArgumentError for an empty
// trigger, an empty kPhrase phrase, no token a random replacement may be, and a trigger whose tokens merge with
// the text after it (its positions would not be its own).
std::vector<PromptPair> prompt_pairs(const Tokenizer& tokenizer, const std::vector<std::string>& prompts,
                                     const std::string& trigger, Placement placement, const ContrastOptions& options = {});

// Throws ArgumentError, naming the first prompt whose contrast has another length and the two token counts, when
// a pair is not aligned (a kClean contrast, or a kPhrase of another token count); `purpose` says what needs it.
void require_aligned(const std::vector<PromptPair>& pairs, std::string_view purpose);

std::vector<std::vector<TokenId>> triggered_ids(const std::vector<PromptPair>& pairs);
std::vector<std::vector<TokenId>> contrast_ids(const std::vector<PromptPair>& pairs);

}  // namespace moulin::triggers
