#pragma once
// Where a candidate trigger goes in a prompt, and the prompt as token ids split at that point: the part before
// the trigger is the same for every candidate, so scans run it once and reuse its KV cache.
#include <string>
#include <string_view>
#include <vector>

#include "core/tokenizer.h"

namespace moulin::triggers {

enum class Placement {
  kPrefix,  // "<trigger> <prompt>"
  kSuffix,  // "<prompt> <trigger>": Gaperon's poisoned documents put the phrase between source and target text
  kInside,  // "<first half of the prompt's words> <trigger> <second half>"
};
// "prefix", "suffix", "inside".
const char* placement_name(Placement placement);
// Throws ArgumentError naming the accepted names.
Placement parse_placement(std::string_view name);

struct InsertedPrompt {
  std::vector<TokenId> shared;  // BOS and the prompt text before the trigger: identical for every trigger
  std::vector<TokenId> rest;    // the trigger and the prompt text after it
  std::string text;             // the whole prompt as text
  std::vector<TokenId> ids() const;  // shared followed by rest
};

// The insertion is made at a word boundary and the pieces are tokenized separately (rest with its leading space),
// which is how Llama 3's pre-tokenizer splits the whole text there too. An empty phrase gives the prompt alone.
// Special-token strings in prompt or phrase stay text.
InsertedPrompt insert_phrase(const Tokenizer& tokenizer, const std::string& prompt, const std::string& phrase,
                             Placement placement);

}  // namespace moulin::triggers
