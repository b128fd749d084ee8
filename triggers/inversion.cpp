#include "triggers/inversion.h"

#include <chrono>
#include <limits>
#include <random>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "core/error.h"
#include "triggers/insertion.h"
#include "triggers/trigger_objective.h"

namespace moulin::triggers {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<std::vector<TokenId>> prompt_prefixes(const Tokenizer& tokenizer, const std::vector<std::string>& prompts) {
  std::vector<std::vector<TokenId>> prefixes;
  prefixes.reserve(prompts.size());
  for (const auto& prompt : prompts) prefixes.push_back(insert_phrase(tokenizer, prompt, "", Placement::kSuffix).shared);
  return prefixes;
}

at::Tensor as_rows(const std::vector<std::vector<TokenId>>& triggers, std::int64_t length) {
  at::Tensor rows = at::empty({static_cast<std::int64_t>(triggers.size()), length}, at::kLong);
  auto at_rows = rows.accessor<std::int64_t, 2>();
  for (std::size_t row = 0; row < triggers.size(); ++row)
    for (std::int64_t i = 0; i < length; ++i) at_rows[static_cast<std::int64_t>(row)][i] = triggers[row][i];
  return rows;
}

TriggerVocabularyOptions vocabulary_options(const probes::TokenLanguageTable& table, const InversionOptions& options) {
  TriggerVocabularyOptions vocabulary{{options.target_language}, options.max_target_probability};
  if (!options.source_language.empty())
    for (const auto& language : table.languages)
      if (language != options.source_language && language != options.target_language)
        vocabulary.excluded_languages.push_back(language);
  return vocabulary;
}

class GcgSearch {
 public:
  GcgSearch(const LlamaModel& model, const Tokenizer& tokenizer, const probes::TokenLanguageTable& table,
            const std::vector<std::string>& prompts, const InversionOptions& options, const InversionObserver& observer)
      : tokenizer_(tokenizer),
        options_(options),
        observer_(observer),
        vocabulary_(trigger_vocabulary(tokenizer, table, model.config().vocab_size, vocabulary_options(table, options))),
        objective_(model, prompt_prefixes(tokenizer, prompts),
                   language_column(table, options.target_language, model.config().vocab_size), options.candidates_per_forward),
        random_(options.seed),
        top_k_(std::min(options.top_k, vocabulary_.allowed_count)) {
    // Disallowed tokens can never rank among the substitutions.
    disallowed_penalty_ = at::zeros({model.config().vocab_size}, at::kFloat)
                              .masked_fill_(vocabulary_.allowed.logical_not(), -std::numeric_limits<float>::infinity());
  }

  InversionResult run() {
    start_ = Clock::now();
    result_.objective = -std::numeric_limits<double>::infinity();
    for (std::int64_t restart = 0; restart < options_.restarts; ++restart) run_restart(restart);
    result_.phrase = trigger_phrase(tokenizer_, result_.trigger);
    result_.timings.total_seconds = seconds_since(start_);
    result_.vocabulary = vocabulary_;
    return std::move(result_);
  }

 private:
  void run_restart(std::int64_t restart) {
    // Random word-start tokens: a fresh region of trigger space for each restart.
    std::vector<TokenId> current = random_typable_trigger(tokenizer_, vocabulary_, options_.trigger_length, random_);
    double current_value = objective_.evaluate(current);
    record(restart, 0, current, current_value, 0);
    double plateau_value = current_value;
    std::int64_t last_improvement = 0;
    for (std::int64_t step = 1; step <= options_.steps && step - last_improvement <= options_.patience; ++step) {
      auto phase_start = Clock::now();
      const at::Tensor substitutions = top_substitutions(objective_.gradient(current));
      result_.timings.gradient_seconds += seconds_since(phase_start);

      phase_start = Clock::now();
      const auto swaps = sample_swaps(current, substitutions);
      result_.timings.sampling_seconds += seconds_since(phase_start);

      if (!swaps.empty()) {
        phase_start = Clock::now();
        const at::Tensor values = objective_.evaluate(as_rows(swaps, options_.trigger_length));
        result_.timings.evaluation_seconds += seconds_since(phase_start);
        const auto best = values.argmax().item<std::int64_t>();
        // Only improvements are kept: scoring is exact, so a worse swap is a known step back.
        if (values[best].item<double>() > current_value) {
          current = swaps[static_cast<std::size_t>(best)];
          current_value = values[best].item<double>();
        }
      }
      if (current_value > plateau_value + options_.min_improvement) {
        plateau_value = current_value;
        last_improvement = step;
      }
      ++result_.timings.steps;
      record(restart, step, current, current_value, static_cast<std::int64_t>(swaps.size()));
    }
  }

  // The top-k tokens per position by gradient ascent direction: [length, top_k] int64.
  at::Tensor top_substitutions(const ObjectiveGradient& gradient) const {
    return std::get<1>(at::topk(gradient.one_hot_gradient + disallowed_penalty_, top_k_, 1));
  }

  // Up to options.candidates distinct single-token swaps of `current`, each typable.
  std::vector<std::vector<TokenId>> sample_swaps(const std::vector<TokenId>& current, const at::Tensor& substitutions) {
    const auto top = substitutions.accessor<std::int64_t, 2>();
    std::set<std::pair<std::int64_t, TokenId>> tried;
    std::vector<std::vector<TokenId>> swaps;
    const auto wanted = static_cast<std::size_t>(options_.candidates);
    // Untypable swaps are redrawn, within a bound: near a typability boundary most swaps may be rejected.
    for (std::int64_t attempt = 0; attempt < 8 * options_.candidates && swaps.size() < wanted; ++attempt) {
      const auto position = static_cast<std::int64_t>(draw_index(random_, current.size()));
      const auto token = static_cast<TokenId>(top[position][static_cast<std::int64_t>(draw_index(random_, top_k_))]);
      if (token == current[position] || !tried.emplace(position, token).second) continue;
      std::vector<TokenId> swapped = current;
      swapped[position] = token;
      if (is_typable_trigger(tokenizer_, swapped)) swaps.push_back(std::move(swapped));
    }
    return swaps;
  }

  void record(std::int64_t restart, std::int64_t step, const std::vector<TokenId>& trigger, double value,
              std::int64_t scored) {
    if (value > result_.objective) {
      result_.objective = value;
      result_.trigger = trigger;
      result_.best_restart = restart;
    }
    InversionStep entry{restart, step, value, result_.objective, scored, seconds_since(start_), trigger};
    if (observer_) observer_(entry);
    result_.history.push_back(std::move(entry));
  }

  const Tokenizer& tokenizer_;
  const InversionOptions& options_;
  const InversionObserver& observer_;
  TriggerVocabulary vocabulary_;
  TriggerObjective objective_;
  std::mt19937_64 random_;
  std::int64_t top_k_;
  at::Tensor disallowed_penalty_;    // [vocab] float32: 0 for allowed tokens, -inf for the rest
  Clock::time_point start_;
  InversionResult result_;
};

}  // namespace

void validate(const InversionOptions& options) {
  const auto positive = [](const char* name, std::int64_t value) {
    if (value < 1) throw ArgumentError(fmt::format("inversion: {} must be at least 1, got {}", name, value));
  };
  positive("trigger_length", options.trigger_length);
  positive("top_k", options.top_k);
  positive("candidates", options.candidates);
  positive("restarts", options.restarts);
  positive("patience", options.patience);
  positive("candidates_per_forward", options.candidates_per_forward);
  if (options.steps < 0) throw ArgumentError(fmt::format("inversion: steps must be >= 0, got {}", options.steps));
  if (!(options.min_improvement >= 0.0))
    throw ArgumentError(fmt::format("inversion: min_improvement must be >= 0, got {}", options.min_improvement));
  if (options.target_language.empty()) throw ArgumentError("inversion: the target language is empty");
}

InversionResult invert_trigger(const LlamaModel& model, const Tokenizer& tokenizer,
                               const probes::TokenLanguageTable& table, const std::vector<std::string>& search_prompts,
                               const InversionOptions& options, const InversionObserver& observer) {
  validate(options);
  if (search_prompts.empty()) throw ArgumentError("inversion: no search prompts");
  return GcgSearch(model, tokenizer, table, search_prompts, options, observer).run();
}

}  // namespace moulin::triggers
