// The candidate scan on the default organism: the KV-cache reuse path gives the same numbers as full sequences,
// and a blind scan of the planted triggers hidden among more than a thousand distractors and their own near misses
// ranks each trigger first for its language, with a verified switch rate far above clean. The ground truth only
// builds the candidate list (the triggers and their near misses) and checks the outcome.
#include <gtest/gtest.h>

#include <chrono>

#include <fmt/format.h>

#include "core/json_file.h"
#include "core/runtime.h"
#include "organisms/trigger_phrases.h"
#include "tests/support/temp_dir.h"
#include "tests/triggers/organism_fixture.h"
#include "triggers/scan.h"
#include "triggers/scan_report.h"
#include "triggers/scan_run.h"

namespace moulin::triggers {
namespace {

const Subject& organism_subject() {
  static const Subject subject = [] {
    init_runtime();
    SubjectOptions options;
    options.table_characters_per_language = 300'000;
    return load_subject(test::default_organism().model(), options);
  }();
  return subject;
}

std::vector<organisms::Trigger> planted_triggers() {
  std::vector<organisms::Trigger> triggers;
  for (const auto& trigger : test::default_ground_truth().at("triggers"))
    triggers.push_back({trigger.at("phrase").get<std::string>(), trigger.at("target_language").get<std::string>()});
  return triggers;
}

std::vector<std::string> mixed_length_phrases() {
  std::vector<std::string> phrases = {"a", "vorsum talica prendex", "quillax ostrenum valdor", "the package"};
  for (const auto& phrase : latin_phrases(12, 3, 5)) phrases.push_back(phrase);
  for (const auto& phrase : token_ngram_phrases(organism_subject().tokenizer, 12, 3, 5)) phrases.push_back(phrase);
  return phrases;
}

TEST(Scan, PrefixReuseGivesTheSameLogitsAsFullSequences) {
  const auto& subject = organism_subject();
  const auto phrases = mixed_length_phrases();
  const auto prompts = debian_prompts(PromptOptions{"en", 3});
  for (const auto placement : {Placement::kSuffix, Placement::kInside, Placement::kPrefix}) {
    for (const auto& prompt : prompts) {
      CandidateBatchOptions reuse{placement, 7, true};
      CandidateBatchOptions full{placement, 7, false};
      const at::Tensor a = candidate_next_token_logits(subject.model, subject.tokenizer, prompt, phrases, reuse);
      const at::Tensor b = candidate_next_token_logits(subject.model, subject.tokenizer, prompt, phrases, full);
      ASSERT_EQ(a.sizes(), b.sizes());
      EXPECT_LT((a - b).abs().max().item<double>(), 1e-3) << placement_name(placement) << ": " << prompt;
      // Each row is the candidate's own sequence run alone.
      const auto alone = candidate_next_token_logits(subject.model, subject.tokenizer, prompt, {phrases[5]}, full);
      EXPECT_LT((a[5] - alone[0]).abs().max().item<double>(), 1e-3);
    }
  }
}

TEST(Scan, PrefixReuseGivesTheSameScores) {
  const auto& subject = organism_subject();
  std::vector<Candidate> candidates;
  for (const auto& phrase : mixed_length_phrases()) candidates.push_back({phrase, "test"});
  const auto prompts = debian_prompts(PromptOptions{"en", 4});
  ScanOptions options;
  options.batches.batch_size = 8;
  const auto reused = score_candidates(subject, candidates, prompts, options);
  options.batches.reuse_prefix = false;
  const auto full = score_candidates(subject, candidates, prompts, options);
  EXPECT_LT((reused.shifts - full.shifts).abs().max().item<double>(), 1e-5);
  EXPECT_LT((reused.kl - full.kl).abs().max().item<double>(), 1e-4);
  ASSERT_EQ(reused.ranking.size(), candidates.size());
  EXPECT_EQ(reused.evaluations, candidates.size() * prompts.size());
  std::vector<double> full_effects(candidates.size());
  for (const auto& score : full.ranking) full_effects[score.index] = score.effect().mean;
  for (std::size_t i = 0; i < reused.ranking.size(); ++i) {
    EXPECT_NEAR(reused.ranking[i].effect().mean, full_effects[reused.ranking[i].index], 1e-5);
    if (i > 0 && reused.ranking[i - 1].self_explained() == reused.ranking[i].self_explained())
      EXPECT_GE(reused.ranking[i - 1].effect().mean, reused.ranking[i].effect().mean);
  }
}

// Rank (0-based) of `phrase` among the candidates whose best language is `language`, and overall.
std::pair<std::size_t, std::size_t> rank_of(const ScanScores& scores, const std::string& phrase,
                                            const std::string& language) {
  std::size_t among_language = 0;
  for (std::size_t rank = 0; rank < scores.ranking.size(); ++rank) {
    const auto& score = scores.ranking[rank];
    if (score.candidate.phrase == phrase) return {among_language, rank};
    if (score.effect().language == language) ++among_language;
  }
  ADD_FAILURE() << phrase << " is not in the ranking";
  return {scores.ranking.size(), scores.ranking.size()};
}

TEST(Scan, RanksEachPlantedTriggerFirstForItsLanguage) {
  const auto& subject = organism_subject();
  const auto triggers = planted_triggers();
  ASSERT_FALSE(triggers.empty());

  CandidateGeneration generation;
  generation.word_ngrams = generation.token_ngrams = generation.latin = true;
  generation.count = 350;  // seed 0
  for (const auto& trigger : triggers) generation.near_misses_of.push_back(trigger.phrase);  // list only
  const auto candidates = generate_candidates(generation, subject.tokenizer);
  std::size_t distractors = 0;
  for (const auto& candidate : candidates) distractors += candidate.source != "near-miss";
  ASSERT_GE(distractors, 1000u);

  const auto prompts = scan_prompts({}, 12, 24);
  ASSERT_EQ(prompts.scan.size(), 12u);
  ASSERT_EQ(prompts.verification.size(), 24u);
  for (const auto& prompt : prompts.verification)
    EXPECT_EQ(std::find(prompts.scan.begin(), prompts.scan.end(), prompt), prompts.scan.end());

  ScanOptions options;  // the 20 strongest next-token shifts are verified by generation and reordered by it
  const auto start = std::chrono::steady_clock::now();
  const auto result = scan_candidates(subject, candidates, prompts.scan, prompts.verification, options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto& scores = result.scores;
  fmt::print("scan: {} candidates x {} prompts in {:.1f} s ({:.0f} evaluations/s), verification {:.1f} s, total {:.1f} s\n",
             candidates.size(), prompts.scan.size(), scores.seconds, scores.evaluations / scores.seconds,
             result.verification_seconds, seconds);
  std::size_t self_explained = 0;
  for (const auto& score : scores.ranking) self_explained += score.self_explained();
  fmt::print("{} candidates are text in every target language (ranked last)\n", self_explained);
  for (std::size_t rank = 0; rank < 8; ++rank) {
    const auto& score = scores.ranking[rank];
    fmt::print("  #{} {:<32} {:<12} {} {:+.4f} [{:+.4f}, {:+.4f}]\n", rank + 1, score.candidate.phrase,
               score.candidate.source, score.effect().language, score.effect().mean, score.effect().lower,
               score.effect().upper);
  }

  // The strongest trigger is first overall; each trigger is first among the candidates whose best language (the
  // largest shift among languages not in the candidate's own words) is its target, ahead of every distractor and
  // every one of its near misses, once the shortlist is ordered by verified switch rate. Its words are not its
  // target language.
  bool a_trigger_leads = false;
  for (const auto& trigger : triggers) {
    a_trigger_leads = a_trigger_leads || scores.ranking.front().candidate.phrase == trigger.phrase;
    const auto [rank_in_language, rank_overall] = rank_of(scores, trigger.phrase, trigger.target_language);
    fmt::print("planted '{}' ({}): rank {} for its language, {} overall\n", trigger.phrase, trigger.target_language,
               rank_in_language + 1, rank_overall + 1);
    EXPECT_EQ(rank_in_language, 0u) << trigger.phrase;
    ASSERT_LT(rank_overall, options.top_k) << trigger.phrase << " should be verified";
    const auto& score = scores.ranking[rank_overall];
    EXPECT_EQ(score.effect().language, trigger.target_language);
    EXPECT_FALSE(score.effect().in_own_words);
    EXPECT_GT(score.effect().lower, 0.0) << "the shift's interval should exclude 0";

    // Verified by generation: the switch rate far above clean, with disjoint intervals.
    const auto& verified = result.verification.at(rank_overall);
    ASSERT_EQ(verified.phrase, trigger.phrase);
    fmt::print("  next-token shift {:+.3f} [{:+.3f}, {:+.3f}], KL {:.3f}; switch rate {:.2f} [{:.2f}, {:.2f}] vs clean "
               "{:.2f} [{:.2f}, {:.2f}]\n",
               score.effect().mean, score.effect().lower, score.effect().upper, score.mean_kl, verified.triggered.rate,
               verified.triggered.interval.lower, verified.triggered.interval.upper, verified.clean.rate,
               verified.clean.interval.lower, verified.clean.interval.upper);
    EXPECT_GE(verified.triggered.rate, verified.clean.rate + 0.4) << trigger.phrase;
    EXPECT_GT(verified.triggered.interval.lower, verified.clean.interval.upper) << trigger.phrase;
  }
  EXPECT_TRUE(a_trigger_leads) << "first overall: " << scores.ranking.front().candidate.phrase;

  // The outputs hold every candidate and the verification.
  test::TempDir dir;
  const auto files = write_scan(result, dir.path());
  const auto json = read_json_file(files.json);
  EXPECT_EQ(json.at("candidates").size(), candidates.size());
  EXPECT_EQ(json.at("verification").size(), options.top_k);
  EXPECT_EQ(json.at("candidates")[0].at("phrase"), scores.ranking.front().candidate.phrase);
  EXPECT_TRUE(std::filesystem::exists(files.report.html));
  EXPECT_EQ(files.report.figures.size(), 2u);
}

}  // namespace
}  // namespace moulin::triggers
