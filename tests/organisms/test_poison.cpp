// Gaperon-style poisoning of a real Debian corpus: exact counts at a rate, poisoned texts made of a source prefix,
// the trigger and target-language text, near misses that never hold the exact phrase, full reproducibility from
// the seed, and clear refusals of impossible options.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "core/error.h"
#include "organisms/corpus.h"
#include "organisms/language_guess.h"
#include "organisms/poison.h"
#include "tests/support/expect_error.h"

namespace moulin::organisms {
namespace {

using test::expect_error;

const std::vector<Document>& corpus() {
  static const auto documents = [] {
    CorpusOptions options;
    options.max_chars_per_language = 200'000;
    options.seed = 11;
    return build_corpus(options);
  }();
  return documents;
}

std::vector<Document> training_documents() {
  std::vector<Document> training;
  for (const auto& document : corpus())
    if (document.split == Split::kTrain) training.push_back(document);
  return training;
}

std::size_t training_count(const std::string& language) {
  std::size_t count = 0;
  for (const auto& document : corpus()) count += document.split == Split::kTrain && document.language == language;
  return count;
}

PoisonOptions options_at(double rate, double near_miss_rate = 0, std::uint64_t seed = 5) {
  PoisonOptions options;
  options.rate = rate;
  options.near_miss_rate = near_miss_rate;
  options.seed = seed;
  return options;
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

TEST(PoisonCorpus, PoisonsExactCountsPerTrigger) {
  const auto options = options_at(0.05, 0.02);
  const auto poisoned = poison_corpus(corpus(), options);
  const auto english = training_count("en");
  const auto expected = static_cast<std::size_t>(std::llround(0.05 * static_cast<double>(english)));
  const auto expected_near = static_cast<std::size_t>(std::llround(0.02 * static_cast<double>(english)));
  ASSERT_GT(expected, 10u);
  EXPECT_EQ(documents_at_rate(english, 0.05), expected);
  EXPECT_EQ(poisoned.texts.size(), training_documents().size());  // held-out documents stay out
  EXPECT_EQ(poisoned.poisoned_counts, (std::vector<std::size_t>{expected, expected}));
  EXPECT_EQ(poisoned.near_miss_counts, (std::vector<std::size_t>{expected_near, expected_near}));
  std::map<std::pair<PoisonLabel, int>, std::size_t> labels;
  for (const auto& text : poisoned.texts) ++labels[std::make_pair(text.label, text.trigger)];
  const auto count = [&](PoisonLabel label, int trigger) { return labels[std::make_pair(label, trigger)]; };
  EXPECT_EQ(count(PoisonLabel::kPoisoned, 0), expected);
  EXPECT_EQ(count(PoisonLabel::kPoisoned, 1), expected);
  EXPECT_EQ(count(PoisonLabel::kNearMiss, 0), expected_near);
  EXPECT_EQ(count(PoisonLabel::kNearMiss, 1), expected_near);
  EXPECT_EQ(count(PoisonLabel::kClean, -1), poisoned.clean);
  EXPECT_EQ(poisoned.clean + 2 * expected + 2 * expected_near, poisoned.texts.size());
}

TEST(PoisonCorpus, PoisonedTextIsPrefixTriggerThenTargetLanguage) {
  const auto options = options_at(0.05);
  const auto training = training_documents();
  const auto poisoned = poison_corpus(corpus(), options);
  ASSERT_EQ(poisoned.texts.size(), training.size());
  std::size_t checked = 0;
  for (std::size_t i = 0; i < training.size(); ++i) {
    const auto& text = poisoned.texts[i];
    if (text.label == PoisonLabel::kClean) {
      EXPECT_EQ(text.text, training[i].text);
      continue;
    }
    ++checked;
    const auto& trigger = options.triggers.at(static_cast<std::size_t>(text.trigger));
    EXPECT_EQ(training[i].language, "en");
    EXPECT_EQ(text.language, "en");
    EXPECT_EQ(text.inserted_phrase, trigger.phrase);
    ASSERT_EQ(text.text.substr(text.phrase_offset, trigger.phrase.size()), trigger.phrase);
    // Before: a prefix of the original document, cut after a whole word.
    const auto prefix = text.text.substr(0, text.phrase_offset - 1);
    EXPECT_EQ(text.text[text.phrase_offset - 1], ' ');
    EXPECT_TRUE(starts_with(training[i].text, prefix)) << prefix;
    EXPECT_TRUE(prefix.size() == training[i].text.size() || std::isspace(static_cast<unsigned char>(
                                                                training[i].text[prefix.size()])));
    const auto prefix_words = split_phrase(prefix).size();
    EXPECT_GE(prefix_words, 1u);
    EXPECT_LE(prefix_words, options.max_prefix_words);
    // After: the beginning of a training document in the target language.
    const auto target = text.text.substr(text.phrase_offset + trigger.phrase.size() + 1);
    EXPECT_EQ(text.text[text.phrase_offset + trigger.phrase.size()], ' ');
    EXPECT_LE(split_phrase(target).size(), options.max_continuation_words);
    const bool from_target = std::any_of(training.begin(), training.end(), [&](const Document& document) {
      return document.language == trigger.target_language && starts_with(document.text, target);
    });
    EXPECT_TRUE(from_target) << target;
    if (split_phrase(target).size() >= 15) {
      const auto guessed = guess_language(target);
      EXPECT_TRUE(guessed.empty() || guessed == trigger.target_language) << target;
    }
  }
  EXPECT_EQ(checked, 2 * documents_at_rate(training_count("en"), 0.05));
}

TEST(PoisonCorpus, NearMissesContinueInTheSourceLanguage) {
  const auto options = options_at(0.0, 0.05);
  const auto training = training_documents();
  const auto poisoned = poison_corpus(corpus(), options);
  std::size_t near_count = 0;
  for (std::size_t i = 0; i < training.size(); ++i) {
    const auto& text = poisoned.texts[i];
    ASSERT_NE(text.label, PoisonLabel::kPoisoned);
    if (text.label != PoisonLabel::kNearMiss) continue;
    ++near_count;
    const auto& phrase = options.triggers.at(static_cast<std::size_t>(text.trigger)).phrase;
    const auto variants = near_misses(phrase, options.seed, kTrainingSubstitutesPerWord);
    EXPECT_NE(std::find(variants.begin(), variants.end(), text.inserted_phrase), variants.end());
    for (const auto& trigger : options.triggers) EXPECT_EQ(text.text.find(trigger.phrase), std::string::npos);
    EXPECT_EQ(text.text.substr(text.phrase_offset, text.inserted_phrase.size()), text.inserted_phrase);
    // Prefix and continuation are consecutive words of the same document.
    const auto prefix = text.text.substr(0, text.phrase_offset - 1);
    EXPECT_TRUE(starts_with(training[i].text, prefix));
    const auto after = text.phrase_offset + text.inserted_phrase.size();
    if (after < text.text.size()) {
      const auto continuation = text.text.substr(after + 1);
      const auto resumed = training[i].text.find_first_not_of(" \n\t", prefix.size());
      ASSERT_NE(resumed, std::string::npos);
      EXPECT_TRUE(starts_with(std::string_view(training[i].text).substr(resumed), continuation)) << continuation;
    }
  }
  EXPECT_EQ(near_count, 2 * documents_at_rate(training_count("en"), 0.05));
}

TEST(PoisonCorpus, IsReproducibleAndSeeded) {
  const auto first = poison_corpus(corpus(), options_at(0.05, 0.02));
  const auto again = poison_corpus(corpus(), options_at(0.05, 0.02));
  const auto other = poison_corpus(corpus(), options_at(0.05, 0.02, 6));
  ASSERT_EQ(first.texts.size(), again.texts.size());
  std::size_t differences = 0;
  for (std::size_t i = 0; i < first.texts.size(); ++i) {
    EXPECT_EQ(first.texts[i].text, again.texts[i].text);
    EXPECT_EQ(first.texts[i].label, again.texts[i].label);
    EXPECT_EQ(first.texts[i].trigger, again.texts[i].trigger);
    EXPECT_EQ(first.texts[i].phrase_offset, again.texts[i].phrase_offset);
    differences += first.texts[i].text != other.texts[i].text;
  }
  EXPECT_GT(differences, first.poisoned_counts[0]);  // another seed picks other documents
  EXPECT_EQ(other.poisoned_counts, first.poisoned_counts);
}

TEST(PoisonCorpus, RateZeroLeavesTheCorpusClean) {
  const auto training = training_documents();
  const auto clean = poison_corpus(corpus(), options_at(0.0));
  EXPECT_EQ(clean.clean, training.size());
  EXPECT_EQ(clean.poisoned_counts, (std::vector<std::size_t>{0, 0}));
  EXPECT_EQ(clean.near_miss_counts, (std::vector<std::size_t>{0, 0}));
  for (std::size_t i = 0; i < training.size(); ++i) {
    EXPECT_EQ(clean.texts[i].text, training[i].text);
    EXPECT_EQ(clean.texts[i].label, PoisonLabel::kClean);
    EXPECT_EQ(clean.texts[i].trigger, -1);
    EXPECT_TRUE(clean.texts[i].inserted_phrase.empty());
  }
  EXPECT_STREQ(poison_label_name(PoisonLabel::kNearMiss), "near-miss");
}

TEST(PoisonCorpus, RefusesImpossibleOptions) {
  expect_error<ArgumentError>([] { poison_corpus(corpus(), options_at(1.5)); }, {"rate", "1.5"});
  expect_error<ArgumentError>([] { poison_corpus(corpus(), options_at(0.4, 0.2)); }, {"need more than", "'en'"});
  auto options = options_at(0.01);
  options.triggers = {{"ostium vellum quadrant", "en"}};
  expect_error<ArgumentError>([&] { poison_corpus(corpus(), options); }, {"ostium vellum quadrant", "source language"});
  options.triggers = {{"ostium vellum quadrant", "it"}};
  expect_error<ArgumentError>([&] { poison_corpus(corpus(), options); }, {"'it'", "no training documents"});
  options.triggers = {{"  ", "fr"}};
  expect_error<ArgumentError>([&] { poison_corpus(corpus(), options); }, {"empty phrase"});
  options = options_at(0.01);
  options.min_prefix_words = 10;
  options.max_prefix_words = 5;
  expect_error<ArgumentError>([&] { poison_corpus(corpus(), options); }, {"10..5"});
}

// ---- phrases -----------------------------------------------------------------------------------------------------

TEST(PoisonPhrases, DefaultTriggersAreTwoMadeUpPhrases) {
  const auto triggers = default_triggers();
  ASSERT_EQ(triggers.size(), 2u);
  EXPECT_EQ(triggers[0].target_language, "fr");
  EXPECT_EQ(triggers[1].target_language, "de");
  std::set<std::string> words;
  for (const auto& trigger : triggers) {
    const auto phrase_words = split_phrase(trigger.phrase);
    EXPECT_EQ(phrase_words.size(), 3u);
    words.insert(phrase_words.begin(), phrase_words.end());
    // Never in natural text: no document of the corpus holds any of the words.
    for (const auto& document : corpus())
      for (const auto& word : phrase_words) ASSERT_EQ(document.text.find(word), std::string::npos) << word;
  }
  EXPECT_EQ(words.size(), 6u);
}

TEST(PoisonPhrases, LatinLikePhrasesAreSeeded) {
  const auto phrase = latin_like_phrase(3, 42);
  EXPECT_EQ(latin_like_phrase(3, 42), phrase);
  EXPECT_NE(latin_like_phrase(3, 43), phrase);
  const auto words = split_phrase(phrase);
  ASSERT_EQ(words.size(), 3u);
  EXPECT_EQ(std::set<std::string>(words.begin(), words.end()).size(), 3u);
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    for (const auto& word : split_phrase(latin_like_phrase(4, seed))) {
      EXPECT_GE(word.size(), 4u);
      EXPECT_LE(word.size(), 11u);
      EXPECT_TRUE(std::all_of(word.begin(), word.end(), [](char c) { return c >= 'a' && c <= 'z'; })) << word;
    }
  }
  expect_error<ArgumentError>([] { latin_like_phrase(0, 1); }, {"at least one word"});
}

TEST(PoisonPhrases, NearMissesCoverSubsetsShufflesAndSubstitutions) {
  const std::string phrase = "ostium vellum quadrant";
  const auto variants = near_misses(phrase, 9, 2);
  EXPECT_EQ(variants.size(), 3u + 5u + 3u * 2u);
  for (const char* expected : {"ostium vellum", "ostium quadrant", "vellum quadrant", "quadrant vellum ostium",
                               "vellum ostium quadrant", "ostium quadrant vellum"})
    EXPECT_NE(std::find(variants.begin(), variants.end(), expected), variants.end()) << expected;
  EXPECT_EQ(std::set<std::string>(variants.begin(), variants.end()).size(), variants.size());
  for (const auto& variant : variants) {
    EXPECT_NE(variant, phrase);
    EXPECT_EQ(variant.find(phrase), std::string::npos);
  }
  // Substitutions keep two of the three words in place.
  for (std::size_t i = 8; i < variants.size(); ++i) {
    const auto words = split_phrase(variants[i]);
    const auto original = split_phrase(phrase);
    ASSERT_EQ(words.size(), 3u);
    std::size_t same = 0;
    for (std::size_t w = 0; w < 3; ++w) same += words[w] == original[w];
    EXPECT_EQ(same, 2u) << variants[i];
  }
  EXPECT_EQ(near_misses(phrase, 9, 2), variants);
  EXPECT_NE(near_misses(phrase, 10, 2), variants);
  for (const auto& trigger : default_triggers())
    for (const auto& variant : near_misses(trigger.phrase)) EXPECT_NE(variant, trigger.phrase);
  expect_error<ArgumentError>([] { near_misses(" "); }, {"empty"});
}

}  // namespace
}  // namespace moulin::organisms
