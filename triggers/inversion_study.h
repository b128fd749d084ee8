#pragma once
// One trigger inversion end to end, as `moulin invert --target fr` runs it: Debian search prompts for the search
// (inversion.h), then the found trigger's switch rate on held-out prompts disjoint from them, next to the same
// prompts without a trigger. JSON and a Markdown/HTML report come from inversion_report.h.
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "probes/continuation.h"
#include "triggers/inversion.h"
#include "triggers/subject.h"
#include "triggers/trigger_switch.h"

namespace moulin::triggers {

// Progress of a study: a stage starting ("search fr", "validate fr"...) and every search step.
struct InversionProgress {
  std::function<void(const std::string& stage)> on_stage;
  InversionObserver on_step;
};

struct PromptSplit {
  std::vector<std::string> search;
  std::vector<std::string> validation;  // disjoint from `search`
};

// `search_count` then `validation_count` held-out Debian prompts in `prompts.language` (prompts.count ignored).
// Throws as debian_prompts, and ArgumentError when either count is 0.
PromptSplit search_and_validation_prompts(const PromptOptions& prompts, std::size_t search_count,
                                          std::size_t validation_count);

struct TriggerToken {
  TokenId id = 0;
  std::string text;                 // the token decoded on its own
  double target_probability = 0.0;  // P(target | token) in the token table
};

// Each token of `trigger` with its text and P(language | token).
std::vector<TriggerToken> describe_trigger(const Tokenizer& tokenizer, const probes::TokenLanguageTable& table,
                                           const std::vector<TokenId>& trigger, const std::string& language);

struct InversionStudyOptions {
  InversionOptions search;
  std::size_t search_prompts = 16;
  std::size_t validation_prompts = 60;
  PromptOptions prompts;  // where the prompts come from; the language is the subject's source language
  probes::ContinuationOptions continuation = switch_continuation_options();
};

struct InversionStudy {
  std::string model;  // the model folder
  std::string source_language;
  InversionStudyOptions options;
  InversionResult inversion;
  std::vector<TriggerToken> tokens;  // the found trigger, token by token
  SwitchMeasurement triggered;       // held-out prompts with the found trigger
  SwitchMeasurement clean;           // the same prompts alone
};

// Throws as invert_trigger, search_and_validation_prompts and measure_switch.
InversionStudy run_inversion_study(const Subject& subject, const InversionStudyOptions& options,
                                   const InversionProgress& progress = {});

}  // namespace moulin::triggers
