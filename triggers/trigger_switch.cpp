#include "triggers/trigger_switch.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "triggers/insertion.h"

namespace moulin::triggers {

probes::ContinuationOptions switch_continuation_options() {
  probes::ContinuationOptions options;
  options.max_new_tokens = 32;
  options.sampling.do_sample = true;
  options.sampling.temperature = 0.7;
  options.sampling.top_k = 40;
  options.seed = 1;
  return options;
}

SwitchMeasurement measure_pooled_switch(const LlamaModel& model, const Tokenizer& tokenizer,
                                        const std::vector<std::string>& prompts,
                                        const std::vector<std::string>& phrases, const std::string& target_language,
                                        const probes::ContinuationOptions& options, std::size_t examples) {
  if (prompts.empty()) throw ArgumentError("switch rate: no prompts to continue");
  if (phrases.empty()) throw ArgumentError("switch rate: no phrase to measure");
  std::vector<std::string> texts;
  texts.reserve(prompts.size() * phrases.size());
  for (const auto& phrase : phrases)
    for (const auto& prompt : prompts) texts.push_back(insert_phrase(tokenizer, prompt, phrase, Placement::kSuffix).text);
  const auto continuations = probes::continue_prompts(model, tokenizer, texts, options);
  const auto languages = probes::continuation_languages(continuations);

  SwitchMeasurement measurement;
  measurement.phrase = fmt::format("{}", fmt::join(phrases, " | "));
  measurement.target_language = target_language;
  measurement.switch_rate = probes::switch_rate(languages, target_language);
  measurement.languages = probes::language_shares(languages);
  for (std::size_t i = 0; i < continuations.size() && i < examples; ++i)
    measurement.examples.push_back(fmt::format("{} ⟶ {}", texts[i], continuations[i].text));
  return measurement;
}

SwitchMeasurement measure_switch(const LlamaModel& model, const Tokenizer& tokenizer,
                                 const std::vector<std::string>& prompts, const std::string& phrase,
                                 const std::string& target_language, const probes::ContinuationOptions& options,
                                 std::size_t examples) {
  return measure_pooled_switch(model, tokenizer, prompts, {phrase}, target_language, options, examples);
}

}  // namespace moulin::triggers
