#pragma once
// The candidate trigger scan: insert each candidate phrase into a set of source-language prompts and measure, at
// the next token, how much probability moves to each other language (probes/behaviour.h); rank candidates by
// their largest mean shift, then check the top ones by generating continuations on held-out prompts and asking
// CLD2 how many switched language. Blind: nothing here reads an organism's ground truth.
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "probes/continuation.h"
#include "probes/language_id.h"
#include "triggers/candidate_logits.h"
#include "triggers/candidates.h"
#include "triggers/subject.h"
#include "triggers/trigger_switch.h"

namespace moulin::triggers {

struct ScanOptions {
  CandidateBatchOptions batches;  // placement, batch size, prefix reuse
  std::size_t top_k = 20;         // candidates verified by generation (the screen's shortlist)
  // Generation for the verification: sampled as every switch rate in moulin is (switch_continuation_options), 32
  // new tokens. Greedy decoding understates triggers: on the default organism its French trigger switched 4% of
  // prompts greedily and 98% sampled, the greedy continuations looping on text CLD2 cannot place.
  probes::ContinuationOptions verification = switch_continuation_options();
  std::size_t examples = 3;  // triggered continuations kept per verified candidate
  // A candidate holding a token that Debian text shows almost only in language L (P(L | token) at least this) is
  // itself L text, and a shift to L is its own language continuing rather than a switch: its effect then counts
  // only the other languages. Above 1: no candidate is ever L text.
  double own_words_threshold = 0.9;
  // Progress as work completes: stage "score" counts candidate × prompt evaluations, "verify" counts verified
  // candidates (the clean continuations first, as candidate 0 of top_k + 1).
  std::function<void(std::string_view stage, std::size_t done, std::size_t total)> on_progress;
};

struct LanguageEffect {
  std::string language;
  double mean = 0.0;   // mean over prompts of the change in next-token probability mass on `language`
  double lower = 0.0;  // 95% Student-t interval over prompts (NaN with a single prompt)
  double upper = 0.0;
  // How much the candidate's own words are `language`: the largest P(language | token) among its tokens (token
  // table). Text in a language is continued in that language; a trigger switches to a language its words are not.
  double own = 0.0;
  bool in_own_words = false;  // own >= ScanOptions::own_words_threshold: a shift to it is explained, not a switch
};

struct CandidateScore {
  std::size_t index = 0;  // position in the scanned candidate list: row of ScanScores::shifts and kl
  Candidate candidate;
  std::vector<LanguageEffect> languages;  // every target language, in ScanScores::languages order
  // The candidate's effect: the language with the largest mean shift among those not in its own words (among
  // all of them when every one is).
  std::size_t best = 0;
  double mean_kl = 0.0;  // mean over prompts of KL(triggered || untriggered) at the next token

  const LanguageEffect& effect() const { return languages.at(best); }
  // Every target language is in the candidate's own words: nothing it does is a switch. Ranked after the others.
  bool self_explained() const;
};

struct ScanScores {
  std::vector<std::string> languages;   // target languages: the token table's, less the source language
  // By effect, largest first, self-explained candidates after all others (ties keep the candidate order).
  std::vector<CandidateScore> ranking;
  at::Tensor shifts;  // [candidates, prompts, languages] float32: triggered minus untriggered next-token mass
  at::Tensor kl;      // [candidates, prompts] float32
  std::size_t evaluations = 0;  // candidate × prompt next-token evaluations
  double seconds = 0.0;
};

struct ContinuationExample {
  std::string prompt;  // with the candidate inserted
  std::string continuation;
  std::string language;  // CLD2's code
};

struct Verification {
  std::size_t rank = 0;  // 0-based position in the ranking
  std::string phrase;
  std::string language;          // the candidate's best language, the one whose switch rate is counted
  probes::Proportion triggered;  // held-out continuations in `language` with the candidate inserted
  probes::Proportion clean;      // the same prompts without it
  std::vector<ContinuationExample> examples;
};

struct ScanResult {
  // The ranking's first top_k entries are the verified candidates, reordered by what generation showed (see
  // rank_by_verification); the rest keep the next-token order.
  ScanScores scores;
  std::vector<Verification> verification;  // the top_k of the ranking, in ranking order
  double verification_seconds = 0.0;
  // What was scanned and how (model, placement, prompts...); callers add their own fields (candidate generation).
  nlohmann::json settings;
};

// Scores every candidate on every prompt (at least 2, for the intervals). Throws ArgumentError for no
// candidates, fewer than 2 prompts, a token table with no language besides the source, and a token table whose
// vocabulary differs from the model's.
ScanScores score_candidates(const Subject& subject, const std::vector<Candidate>& candidates,
                            const std::vector<std::string>& prompts, const ScanOptions& options);

// Generates from `prompts` with and without each of the first `options.top_k` ranked candidates and counts the
// continuations in the candidate's best language. Nothing when top_k is 0 or there are no prompts.
std::vector<Verification> verify_candidates(const Subject& subject, const std::vector<CandidateScore>& ranking,
                                            const std::vector<std::string>& prompts, const ScanOptions& options);

// Reorders the verified head of the ranking (and `verification` with it, ranks renumbered) by the lower end of the
// 95% interval of the verified switch rate, then the rate, then the next-token effect. The next-token shift is a
// cheap screen: gibberish that reads like a language's sub-words moves the next token toward it without switching
// anything, while a trigger switches whole continuations; generation tells them apart.
void rank_by_verification(ScanResult& result);

// Both steps, then rank_by_verification; `verification_prompts` should be disjoint from `prompts`
// (triggers/scan_run.h: scan_prompts).
ScanResult scan_candidates(const Subject& subject, const std::vector<Candidate>& candidates,
                           const std::vector<std::string>& prompts, const std::vector<std::string>& verification_prompts,
                           const ScanOptions& options);

}  // namespace moulin::triggers
