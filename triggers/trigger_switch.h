#pragma once
// Whether a trigger really switches languages: held-out prompts are continued with the trigger typed after them
// and CLD2 judges each continuation (probes/continuation.h). This is the measure that decides, not the search
// objective, which only sees the next-token distribution.
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "core/llama.h"
#include "core/tokenizer.h"
#include "probes/continuation.h"
#include "probes/language_id.h"

namespace moulin::triggers {

// Seeded sampling at temperature 0.7 among the top 40 tokens, as organisms/evaluation.h measures organisms: small
// models decode greedily into loops ("the the the") no language identifier can place.
probes::ContinuationOptions switch_continuation_options();

struct SwitchMeasurement {
  std::string phrase;  // typed after every prompt; empty: the prompts alone
  std::string target_language;
  probes::Proportion switch_rate;  // continuations CLD2 places in the target language
  std::map<std::string, probes::Proportion> languages;
  std::vector<std::string> examples;  // the first few "prompt phrase ⟶ continuation"
};

// Continues each prompt with `phrase` appended (insert_phrase, suffix placement). Throws ArgumentError for no
// prompts.
SwitchMeasurement measure_switch(const LlamaModel& model, const Tokenizer& tokenizer,
                                 const std::vector<std::string>& prompts, const std::string& phrase,
                                 const std::string& target_language,
                                 const probes::ContinuationOptions& options = switch_continuation_options(),
                                 std::size_t examples = 3);

// Several phrases measured together and pooled into one rate over every (phrase, prompt) pair: the switch rate of
// "a phrase of this kind" rather than of one phrase (e.g. random token sequences as a baseline).
SwitchMeasurement measure_pooled_switch(const LlamaModel& model, const Tokenizer& tokenizer,
                                        const std::vector<std::string>& prompts,
                                        const std::vector<std::string>& phrases, const std::string& target_language,
                                        const probes::ContinuationOptions& options = switch_continuation_options(),
                                        std::size_t examples = 3);

}  // namespace moulin::triggers
