#include "triggers/scan.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <optional>

#include <fmt/format.h>

#include "core/error.h"
#include "core/torch_dtype.h"
#include "probes/behaviour.h"
#include "triggers/mean_interval.h"

namespace moulin::triggers {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void report(const ScanOptions& options, std::string_view stage, std::size_t done, std::size_t total) {
  if (options.on_progress) options.on_progress(stage, done, total);
}

std::vector<std::string> phrases_of(const std::vector<Candidate>& candidates) {
  std::vector<std::string> phrases;
  phrases.reserve(candidates.size());
  for (const auto& candidate : candidates) phrases.push_back(candidate.phrase);
  return phrases;
}

// Columns of the token table a trigger could switch to: every language but the source.
std::vector<std::int64_t> target_columns(const Subject& subject) {
  std::vector<std::int64_t> columns;
  for (std::size_t i = 0; i < subject.languages.languages.size(); ++i)
    if (subject.languages.languages[i] != subject.source_language) columns.push_back(static_cast<std::int64_t>(i));
  if (columns.empty())
    throw ArgumentError(fmt::format("the token language table has no language besides the source '{}': nothing for "
                                    "a trigger to switch to",
                                    subject.source_language));
  return columns;
}

// [candidates, target languages]: the largest P(language | token) among each candidate's tokens, as inserted after
// a word (with its leading space): one word of a language is enough to make the phrase text in it.
at::Tensor own_language_shares(const Subject& subject, const std::vector<Candidate>& candidates,
                               const at::Tensor& column_index) {
  const at::Tensor columns = subject.languages.probabilities.index_select(1, column_index);
  at::Tensor shares = at::zeros({static_cast<std::int64_t>(candidates.size()), column_index.size(0)}, at::kDouble);
  for (std::size_t c = 0; c < candidates.size(); ++c) {
    const auto ids = subject.tokenizer.encode(" " + candidates[c].phrase, EncodeOptions{false, false});
    if (ids.empty()) continue;
    const at::Tensor rows = at::tensor(std::vector<std::int64_t>(ids.begin(), ids.end()), at::kLong);
    shares[static_cast<std::int64_t>(c)] = std::get<0>(columns.index_select(0, rows).to(at::kDouble).max(0));
  }
  return shares;
}

// The language with the largest mean shift among those not in the candidate's own words, or among all of them.
std::size_t best_language(const std::vector<LanguageEffect>& languages) {
  const bool all_own = std::all_of(languages.begin(), languages.end(), [](const auto& l) { return l.in_own_words; });
  std::optional<std::size_t> best;
  for (std::size_t l = 0; l < languages.size(); ++l)
    if ((all_own || !languages[l].in_own_words) && (!best || languages[l].mean > languages[*best].mean)) best = l;
  return best.value_or(0);
}

std::vector<CandidateScore> ranked_scores(const std::vector<Candidate>& candidates,
                                          const std::vector<std::string>& languages, const at::Tensor& shifts,
                                          const at::Tensor& kl, const at::Tensor& own_shares, double own_words_threshold) {
  const MeanIntervals effects = mean_intervals(shifts, 1);  // [candidates, languages]
  const at::Tensor mean_kl = kl.to(at::kDouble).mean(1);
  const auto mean = effects.mean.accessor<double, 2>();
  const auto lower = effects.lower.accessor<double, 2>();
  const auto upper = effects.upper.accessor<double, 2>();
  const auto kl_at = mean_kl.accessor<double, 1>();
  const auto own = own_shares.accessor<double, 2>();
  std::vector<CandidateScore> scores(candidates.size());
  for (std::size_t c = 0; c < candidates.size(); ++c) {
    auto& score = scores[c];
    const auto row = static_cast<std::int64_t>(c);
    score.index = c;
    score.candidate = candidates[c];
    for (std::size_t l = 0; l < languages.size(); ++l) {
      const auto column = static_cast<std::int64_t>(l);
      score.languages.push_back({languages[l], mean[row][column], lower[row][column], upper[row][column],
                                 own[row][column], own[row][column] >= own_words_threshold});
    }
    score.best = best_language(score.languages);
    score.mean_kl = kl_at[row];
  }
  std::stable_sort(scores.begin(), scores.end(), [](const CandidateScore& a, const CandidateScore& b) {
    if (a.self_explained() != b.self_explained()) return b.self_explained();
    return a.effect().mean > b.effect().mean;
  });
  return scores;
}

std::vector<std::string> continuation_languages_of(const Subject& subject, const std::vector<std::string>& texts,
                                                   const ScanOptions& options,
                                                   std::vector<probes::Continuation>* continuations = nullptr) {
  auto generated = probes::continue_prompts(subject.model, subject.tokenizer, texts, options.verification);
  auto languages = probes::continuation_languages(generated);
  if (continuations) *continuations = std::move(generated);
  return languages;
}

}  // namespace

bool CandidateScore::self_explained() const {
  return std::all_of(languages.begin(), languages.end(), [](const LanguageEffect& l) { return l.in_own_words; });
}

ScanScores score_candidates(const Subject& subject, const std::vector<Candidate>& candidates,
                            const std::vector<std::string>& prompts, const ScanOptions& options) {
  if (candidates.empty()) throw ArgumentError("a scan needs at least one candidate");
  if (prompts.size() < 2)
    throw ArgumentError(fmt::format("a scan needs at least 2 prompts for its intervals, got {}", prompts.size()));
  if (subject.languages.vocab_size() != subject.model.config().vocab_size)
    throw ArgumentError(fmt::format("the token language table covers {} tokens but the model has a vocabulary of {}",
                                    subject.languages.vocab_size(), subject.model.config().vocab_size));
  const auto start = std::chrono::steady_clock::now();
  const auto columns = target_columns(subject);
  const at::Tensor column_index = at::tensor(columns, at::kLong);
  ScanScores scores;
  for (const auto column : columns) scores.languages.push_back(subject.languages.languages[static_cast<std::size_t>(column)]);

  const auto count = static_cast<std::int64_t>(candidates.size());
  const auto prompt_count = static_cast<std::int64_t>(prompts.size());
  scores.shifts = at::zeros({count, prompt_count, static_cast<std::int64_t>(columns.size())}, at::kFloat);
  scores.kl = at::zeros({count, prompt_count}, at::kFloat);
  const auto phrases = phrases_of(candidates);
  const std::size_t total = candidates.size() * prompts.size();
  for (std::int64_t p = 0; p < prompt_count; ++p) {
    const auto& prompt = prompts[static_cast<std::size_t>(p)];
    const at::Tensor untriggered = prompt_next_token_logits(subject.model, subject.tokenizer, prompt);
    const at::Tensor untriggered_mass =
        probes::language_masses(untriggered, subject.languages).index_select(-1, column_index.to(untriggered.device()));
    for_each_candidate_batch(
        subject.model, subject.tokenizer, prompt, phrases, options.batches,
        [&](std::size_t first, const at::Tensor& logits) {
          const auto rows = logits.size(0);
          const at::Tensor mass =
              probes::language_masses(logits, subject.languages).index_select(-1, column_index.to(logits.device()));
          scores.shifts.narrow(0, static_cast<std::int64_t>(first), rows).select(1, p).copy_(mass - untriggered_mass);
          scores.kl.narrow(0, static_cast<std::int64_t>(first), rows)
              .select(1, p)
              .copy_(probes::next_token_kl(logits, untriggered.expand_as(logits)));
          scores.evaluations += static_cast<std::size_t>(rows);
          report(options, "score", scores.evaluations, total);
        });
  }
  scores.ranking = ranked_scores(candidates, scores.languages, scores.shifts, scores.kl,
                                 own_language_shares(subject, candidates, column_index), options.own_words_threshold);
  scores.seconds = seconds_since(start);
  return scores;
}

std::vector<Verification> verify_candidates(const Subject& subject, const std::vector<CandidateScore>& ranking,
                                            const std::vector<std::string>& prompts, const ScanOptions& options) {
  const std::size_t count = std::min(options.top_k, ranking.size());
  if (count == 0 || prompts.empty()) return {};
  const auto placement = options.batches.placement;
  report(options, "verify", 0, count + 1);
  const auto clean_languages = continuation_languages_of(subject, prompts, options);
  report(options, "verify", 1, count + 1);
  std::vector<Verification> verified;
  for (std::size_t rank = 0; rank < count; ++rank) {
    const auto& score = ranking[rank];
    Verification verification;
    verification.rank = rank;
    verification.phrase = score.candidate.phrase;
    verification.language = score.effect().language;
    std::vector<std::string> texts;
    for (const auto& prompt : prompts)
      texts.push_back(insert_phrase(subject.tokenizer, prompt, verification.phrase, placement).text);
    std::vector<probes::Continuation> continuations;
    const auto languages = continuation_languages_of(subject, texts, options, &continuations);
    verification.triggered = probes::switch_rate(languages, verification.language);
    verification.clean = probes::switch_rate(clean_languages, verification.language);
    for (std::size_t i = 0; i < std::min(options.examples, texts.size()); ++i)
      verification.examples.push_back({texts[i], continuations[i].text, languages[i]});
    verified.push_back(std::move(verification));
    report(options, "verify", rank + 2, count + 1);
  }
  return verified;
}

void rank_by_verification(ScanResult& result) {
  auto& verification = result.verification;
  auto& ranking = result.scores.ranking;
  if (verification.size() > ranking.size())
    throw ArgumentError(fmt::format("rank_by_verification: {} verified candidates for a ranking of {}",
                                    verification.size(), ranking.size()));
  std::vector<std::size_t> order(verification.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const auto& x = verification[a].triggered;
    const auto& y = verification[b].triggered;
    if (x.interval.lower != y.interval.lower) return x.interval.lower > y.interval.lower;
    if (x.rate != y.rate) return x.rate > y.rate;
    return ranking[a].effect().mean > ranking[b].effect().mean;
  });
  std::vector<Verification> verified;
  std::vector<CandidateScore> head;
  for (const auto i : order) {
    verified.push_back(std::move(verification[i]));
    verified.back().rank = verified.size() - 1;
    head.push_back(std::move(ranking[i]));
  }
  std::move(head.begin(), head.end(), ranking.begin());
  verification = std::move(verified);
}

ScanResult scan_candidates(const Subject& subject, const std::vector<Candidate>& candidates,
                           const std::vector<std::string>& prompts, const std::vector<std::string>& verification_prompts,
                           const ScanOptions& options) {
  ScanResult result;
  result.scores = score_candidates(subject, candidates, prompts, options);
  const auto start = std::chrono::steady_clock::now();
  result.verification = verify_candidates(subject, result.scores.ranking, verification_prompts, options);
  result.verification_seconds = seconds_since(start);
  rank_by_verification(result);
  const auto& generation = options.verification;
  result.settings = {
      {"model", subject.model.path().string()},
      {"dtype", std::string(scalar_type_name(subject.model.dtype()))},
      {"device", subject.model.device().str()},
      {"source_language", subject.source_language},
      {"target_languages", result.scores.languages},
      {"token_table_languages", subject.languages.languages},
      {"token_table_prior", std::vector<float>(subject.languages.prior.data_ptr<float>(),
                                               subject.languages.prior.data_ptr<float>() + subject.languages.prior.numel())},
      {"placement", placement_name(options.batches.placement)},
      {"batch_size", options.batches.batch_size},
      {"reuse_prefix", options.batches.reuse_prefix},
      {"candidates", candidates.size()},
      {"prompts", prompts},
      {"verification_prompts", verification_prompts},
      {"top_k", options.top_k},
      {"own_words_threshold", options.own_words_threshold},
      {"verification_generation",
       {{"max_new_tokens", generation.max_new_tokens},
        {"sampling", generation.sampling.do_sample ? "sampled" : "greedy"},
        {"temperature", generation.sampling.temperature},
        {"seed", generation.seed},
        {"suppress_eos", generation.suppress_eos}}},
  };
  return result;
}

}  // namespace moulin::triggers
