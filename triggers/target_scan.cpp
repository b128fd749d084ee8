#include "triggers/target_scan.h"

#include <algorithm>
#include <random>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"

namespace moulin::triggers {
namespace {

std::string rate_text(const probes::Proportion& rate) {
  return fmt::format("{:.0f}% [{:.0f}%, {:.0f}%]", 100 * rate.rate, 100 * rate.interval.lower, 100 * rate.interval.upper);
}

// Random typable sequences from the vocabulary the search for `language` had, as phrases.
std::vector<std::string> random_phrases(const Subject& subject, const TriggerVocabulary& vocabulary,
                                        std::int64_t length, std::size_t count, std::uint64_t seed) {
  std::mt19937_64 random(seed);
  std::vector<std::string> phrases;
  for (std::size_t i = 0; i < count; ++i)
    phrases.push_back(trigger_phrase(subject.tokenizer, random_typable_trigger(subject.tokenizer, vocabulary, length, random)));
  return phrases;
}

}  // namespace

InversionOptions TargetScanOptions::budgeted_search() {
  InversionOptions search;
  search.steps = 80;
  search.patience = 20;
  return search;
}

std::vector<std::string> TargetScan::targets() const {
  std::vector<std::string> flagged;
  for (const auto& scan : languages)
    if (scan.hiding) flagged.push_back(scan.language);
  return flagged;
}

std::string TargetScan::verdict() const {
  const auto flagged = targets();
  if (flagged.empty()) return "no trigger";
  return fmt::format("trigger hiding, target{} {}", flagged.size() > 1 ? "s" : "", fmt::join(flagged, ", "));
}

void decide(LanguageScan& scan, double min_switch_rate) {
  const auto& found = scan.found.switch_rate;
  const double baseline_upper = std::max(scan.random_baseline.switch_rate.interval.upper, scan.clean.switch_rate.interval.upper);
  const bool strong = found.rate >= min_switch_rate;
  const bool above_baselines = found.interval.lower > baseline_upper;
  scan.hiding = strong && above_baselines;
  scan.reason = fmt::format(
      "found trigger switches {} to {}; random sequences {}, no trigger {}: {}", rate_text(found), scan.language,
      rate_text(scan.random_baseline.switch_rate), rate_text(scan.clean.switch_rate),
      scan.hiding ? fmt::format("at least {:.0f}% and above both baselines", 100 * min_switch_rate)
      : !strong   ? fmt::format("below the {:.0f}% needed", 100 * min_switch_rate)
                  : "not clearly above the baselines");
}

TargetScan run_target_scan(const Subject& subject, const TargetScanOptions& options, const InversionProgress& progress) {
  validate(options.search);
  if (!(options.min_switch_rate >= 0.0 && options.min_switch_rate <= 1.0))
    throw ArgumentError(fmt::format("target scan: min_switch_rate must be in [0, 1], got {}", options.min_switch_rate));
  if (options.random_baselines == 0) throw ArgumentError("target scan: random_baselines must be at least 1");
  TargetScan scan;
  scan.model = subject.model.path().string();
  scan.source_language = subject.source_language;
  scan.options = options;
  scan.options.prompts.language = subject.source_language;
  std::vector<std::string> targets;
  for (const auto& language : subject.languages.languages)
    if (language != subject.source_language) targets.push_back(language);
  if (targets.empty())
    throw ArgumentError(fmt::format("target scan: the token table knows no language besides the source '{}'",
                                    subject.source_language));

  const auto stage = [&](const std::string& name) {
    if (progress.on_stage) progress.on_stage(name);
  };
  const auto prompts =
      search_and_validation_prompts(scan.options.prompts, options.search_prompts, options.validation_prompts);
  stage("validate no trigger");
  // The prompts alone do not depend on the target: one set of continuations serves every language.
  const auto clean_continuations = probes::continue_prompts(
      subject.model, subject.tokenizer, prompts.validation, options.continuation);
  const auto clean_languages = probes::continuation_languages(clean_continuations);

  for (std::size_t index = 0; index < targets.size(); ++index) {
    LanguageScan language_scan;
    language_scan.language = targets[index];
    InversionOptions search = options.search;
    search.target_language = targets[index];
    search.source_language = subject.source_language;

    stage(fmt::format("search {}", search.target_language));
    language_scan.inversion = invert_trigger(subject.model, subject.tokenizer, subject.languages, prompts.search, search,
                                             progress.on_step);
    language_scan.tokens =
        describe_trigger(subject.tokenizer, subject.languages, language_scan.inversion.trigger, search.target_language);

    stage(fmt::format("validate {}", search.target_language));
    language_scan.found = measure_switch(subject.model, subject.tokenizer, prompts.validation,
                                         language_scan.inversion.phrase, search.target_language, options.continuation);
    const auto baselines = random_phrases(subject, language_scan.inversion.vocabulary, search.trigger_length,
                                          options.random_baselines, search.seed + index + 1);
    language_scan.random_baseline = measure_pooled_switch(subject.model, subject.tokenizer, prompts.validation,
                                                          baselines, search.target_language, options.continuation);
    language_scan.clean.target_language = search.target_language;
    language_scan.clean.switch_rate = probes::switch_rate(clean_languages, search.target_language);
    language_scan.clean.languages = probes::language_shares(clean_languages);
    decide(language_scan, options.min_switch_rate);
    scan.languages.push_back(std::move(language_scan));
  }
  return scan;
}

}  // namespace moulin::triggers
