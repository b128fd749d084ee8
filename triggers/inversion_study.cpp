#include "triggers/inversion_study.h"

#include <fmt/format.h>

#include "core/error.h"

namespace moulin::triggers {

PromptSplit search_and_validation_prompts(const PromptOptions& prompts, std::size_t search_count,
                                          std::size_t validation_count) {
  if (search_count == 0) throw ArgumentError("the number of search prompts must be at least 1");
  if (validation_count == 0) throw ArgumentError("the number of validation prompts must be at least 1");
  PromptOptions both = prompts;
  both.count = search_count + validation_count;
  auto all = debian_prompts(both);
  PromptSplit split;
  split.search.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(search_count));
  split.validation.assign(all.begin() + static_cast<std::ptrdiff_t>(search_count), all.end());
  return split;
}

std::vector<TriggerToken> describe_trigger(const Tokenizer& tokenizer, const probes::TokenLanguageTable& table,
                                           const std::vector<TokenId>& trigger, const std::string& language) {
  const at::Tensor column = table.column(language);
  std::vector<TriggerToken> tokens;
  for (const TokenId id : trigger) {
    const bool in_table = id >= 0 && id < table.vocab_size();
    const double probability = in_table ? column[id].item<double>()
                                        : table.prior[static_cast<std::int64_t>(table.index_of(language))].item<double>();
    tokens.push_back(TriggerToken{id, tokenizer.decode({id}), probability});
  }
  return tokens;
}

InversionStudy run_inversion_study(const Subject& subject, const InversionStudyOptions& options,
                                   const InversionProgress& progress) {
  validate(options.search);
  const auto stage = [&](const std::string& name) {
    if (progress.on_stage) progress.on_stage(name);
  };
  InversionStudy study;
  study.model = subject.model.path().string();
  study.source_language = subject.source_language;
  study.options = options;
  study.options.prompts.language = subject.source_language;
  study.options.search.source_language = subject.source_language;
  const auto prompts =
      search_and_validation_prompts(study.options.prompts, options.search_prompts, options.validation_prompts);

  const auto& target = options.search.target_language;
  stage(fmt::format("search {}", target));
  study.inversion = invert_trigger(subject.model, subject.tokenizer, subject.languages, prompts.search,
                                   study.options.search, progress.on_step);
  study.tokens = describe_trigger(subject.tokenizer, subject.languages, study.inversion.trigger, target);

  stage(fmt::format("validate {}", target));
  study.triggered = measure_switch(subject.model, subject.tokenizer, prompts.validation, study.inversion.phrase, target,
                                   options.continuation);
  study.clean = measure_switch(subject.model, subject.tokenizer, prompts.validation, "", target, options.continuation);
  return study;
}

}  // namespace moulin::triggers
