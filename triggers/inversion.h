#pragma once
// Trigger inversion from scratch with Greedy Coordinate Gradient (GCG, Zou et al. 2023): a trigger of k tokens is
// appended to each search prompt and improved one token at a time. Each step takes the gradient of the objective
// (trigger_objective.h) with respect to the one-hot trigger, keeps the top-k substitutions per position, samples
// single-token swaps among them, scores every swap exactly and keeps the best one when it improves. Only tokens of
// the trigger vocabulary (trigger_vocabulary.h) and typable sequences are ever tried. Blind: nothing but the model,
// its tokenizer, the token language table and the prompts; seeded and deterministic.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/llama.h"
#include "core/tokenizer.h"
#include "probes/token_language.h"
#include "triggers/trigger_vocabulary.h"

namespace moulin::triggers {

struct InversionOptions {
  std::string target_language = "fr";
  std::int64_t trigger_length = 8;  // tokens; Gaperon's three Latin words are about 9
  std::int64_t steps = 300;         // at most, per restart
  std::int64_t top_k = 64;          // substitutions kept per position from the gradient
  std::int64_t candidates = 128;    // swaps scored exactly per step
  std::int64_t restarts = 1;        // independent searches from different random triggers; the best one wins
  // Early stop: a restart ends after `patience` steps without raising its objective by `min_improvement`.
  std::int64_t patience = 40;
  double min_improvement = 1e-3;
  // Tokens with P(target | token) above this are never tried (TriggerVocabularyOptions::max_language_probability).
  double max_target_probability = 0.5;
  // When set, tokens above that probability in any language of the table other than this one are left out too, not
  // only the target's. A model steered by foreign words continues in a foreign language: on the clean control
  // organism a search toward French that could use German words ("unser") switched 98% of prompts to French.
  std::string source_language;
  std::uint64_t seed = 0;
  std::int64_t candidates_per_forward = 256;  // candidates scored per forward pass (memory bound)
};

// Throws ArgumentError naming the option that is out of range.
void validate(const InversionOptions& options);

struct InversionStep {
  std::int64_t restart = 0;
  std::int64_t step = 0;  // 0: the random starting trigger
  double objective = 0.0;       // of the restart's current trigger after this step
  double best_objective = 0.0;  // over every restart so far
  std::int64_t candidates_scored = 0;
  double seconds = 0.0;  // since the search began
  std::vector<TokenId> trigger;
};

struct InversionTimings {
  double gradient_seconds = 0.0;    // forward and backward through the one-hot, and the top-k
  double sampling_seconds = 0.0;    // drawing swaps and checking that they stay typable
  double evaluation_seconds = 0.0;  // exact scoring of the candidates
  double total_seconds = 0.0;
  std::int64_t steps = 0;  // over every restart, the starting triggers not counted
};

struct InversionResult {
  std::vector<TokenId> trigger;  // the best trigger found
  std::string phrase;            // its text (trigger_phrase)
  double objective = 0.0;        // its objective on the search prompts
  std::int64_t best_restart = 0;
  std::vector<InversionStep> history;  // every step of every restart, in order
  InversionTimings timings;
  TriggerVocabulary vocabulary;  // what the search could use
};

using InversionObserver = std::function<void(const InversionStep& step)>;

// Searches a trigger that switches `search_prompts` (source-language text, BOS-prefixed, trigger as a suffix) to
// options.target_language. Throws ArgumentError for bad options or no prompts, and Error when no typable starting
// trigger can be drawn from the vocabulary.
InversionResult invert_trigger(const LlamaModel& model, const Tokenizer& tokenizer,
                               const probes::TokenLanguageTable& table, const std::vector<std::string>& search_prompts,
                               const InversionOptions& options, const InversionObserver& observer = {});

}  // namespace moulin::triggers
