#include "organisms/poison.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "core/error.h"
#include "organisms/seeded_random.h"
#include "organisms/text_cleaning.h"

namespace moulin::organisms {
namespace {

struct WordSpan {
  std::size_t begin;
  std::size_t end;
};

std::vector<WordSpan> word_spans(std::string_view text) {
  std::vector<WordSpan> spans;
  std::size_t pos = 0;
  const auto is_space = [](char c) { return c == ' ' || c == '\n' || c == '\t'; };
  while (pos < text.size()) {
    while (pos < text.size() && is_space(text[pos])) ++pos;
    const auto begin = pos;
    while (pos < text.size() && !is_space(text[pos])) ++pos;
    if (pos > begin) spans.push_back({begin, pos});
  }
  return spans;
}

// How many words to keep so that the cut falls after about `wanted` words: at the last sentence end in the
// second half of those words when there is one, otherwise right after word `wanted`.
std::size_t words_to_keep(std::string_view text, const std::vector<WordSpan>& words, std::size_t wanted) {
  if (wanted >= words.size()) return words.size();
  const auto ends = sentence_ends(text);
  for (std::size_t kept = wanted; kept > 0 && kept * 2 > wanted; --kept)
    if (std::binary_search(ends.begin(), ends.end(), words[kept - 1].end)) return kept;
  return wanted;
}

// The text of words [first, first + count).
std::string_view word_range(std::string_view text, const std::vector<WordSpan>& words, std::size_t first,
                            std::size_t count) {
  if (count == 0 || first >= words.size()) return {};
  const auto last = std::min(words.size(), first + count) - 1;
  return text.substr(words[first].begin, words[last].end - words[first].begin);
}

void check_options(const PoisonOptions& options) {
  const auto check_rate = [](const char* name, double rate) {
    if (!(rate >= 0.0 && rate <= 1.0))
      throw ArgumentError(fmt::format("poison options: {} {} is outside [0, 1]", name, rate));
  };
  check_rate("rate", options.rate);
  check_rate("near_miss_rate", options.near_miss_rate);
  if (options.min_prefix_words == 0 || options.min_prefix_words > options.max_prefix_words)
    throw ArgumentError(fmt::format("poison options: prefix of {}..{} words is not a valid range",
                                    options.min_prefix_words, options.max_prefix_words));
  if (options.min_continuation_words == 0 || options.min_continuation_words > options.max_continuation_words)
    throw ArgumentError(fmt::format("poison options: continuation of {}..{} words is not a valid range",
                                    options.min_continuation_words, options.max_continuation_words));
  for (std::size_t i = 0; i < options.triggers.size(); ++i) {
    const auto& trigger = options.triggers[i];
    if (split_phrase(trigger.phrase).empty())
      throw ArgumentError(fmt::format("poison options: trigger {} has an empty phrase", i));
    if (trigger.target_language == options.source_language)
      throw ArgumentError(fmt::format("poison options: trigger {} '{}' targets the source language '{}'", i,
                                      trigger.phrase, options.source_language));
  }
}

// Hands out the target language's training documents in a seeded order, starting over when all were used.
class TargetPool {
 public:
  TargetPool(std::vector<const Document*> documents, std::uint64_t seed) : documents_(std::move(documents)) {
    SeededRandom(seed).shuffle(documents_);
  }
  bool empty() const { return documents_.empty(); }
  const Document& next() {
    const auto& document = *documents_[next_ % documents_.size()];
    ++next_;
    return document;
  }

 private:
  std::vector<const Document*> documents_;
  std::size_t next_ = 0;
};

}  // namespace

const char* poison_label_name(PoisonLabel label) {
  switch (label) {
    case PoisonLabel::kClean: return "clean";
    case PoisonLabel::kPoisoned: return "poisoned";
    case PoisonLabel::kNearMiss: return "near-miss";
  }
  return "clean";
}

std::size_t documents_at_rate(std::size_t source_documents, double rate) {
  return static_cast<std::size_t>(std::llround(rate * static_cast<double>(source_documents)));
}

PoisonedCorpus poison_corpus(const std::vector<Document>& documents, const PoisonOptions& options) {
  check_options(options);
  PoisonedCorpus result;
  std::vector<std::size_t> source_positions;  // in result.texts
  std::map<std::string, std::vector<const Document*>> by_language;
  for (const auto& document : documents) {
    if (document.split != Split::kTrain) continue;
    if (document.language == options.source_language) source_positions.push_back(result.texts.size());
    by_language[document.language].push_back(&document);
    TrainingText text;
    text.text = document.text;
    text.language = document.language;
    text.source = document.source;
    result.texts.push_back(std::move(text));
  }

  const auto triggers = options.triggers.size();
  const auto poisoned_each = documents_at_rate(source_positions.size(), options.rate);
  const auto near_misses_each = documents_at_rate(source_positions.size(), options.near_miss_rate);
  if (triggers * (poisoned_each + near_misses_each) > source_positions.size())
    throw ArgumentError(fmt::format("poison options: {} triggers x ({} poisoned + {} near misses) need more than the "
                                    "{} '{}' training documents",
                                    triggers, poisoned_each, near_misses_each, source_positions.size(),
                                    options.source_language));
  SeededRandom(derive_seed(options.seed, "chosen documents")).shuffle(source_positions);

  std::map<std::string, TargetPool> targets;
  for (std::size_t t = 0; t < triggers && poisoned_each > 0; ++t) {
    const auto& language = options.triggers[t].target_language;
    if (targets.count(language)) continue;
    auto pool = TargetPool(by_language[language], derive_seed(options.seed, "targets " + language));
    if (pool.empty())
      throw ArgumentError(fmt::format("poison options: trigger {} '{}' targets '{}', which has no training documents",
                                      t, options.triggers[t].phrase, language));
    targets.emplace(language, std::move(pool));
  }

  SeededRandom random(derive_seed(options.seed, "poisoned texts"));
  std::size_t next_chosen = 0;
  result.poisoned_counts.assign(triggers, 0);
  result.near_miss_counts.assign(triggers, 0);
  for (std::size_t t = 0; t < triggers; ++t) {
    const auto& trigger = options.triggers[t];
    for (std::size_t i = 0; i < poisoned_each; ++i) {
      auto& text = result.texts[source_positions[next_chosen++]];
      const auto source_words = word_spans(text.text);
      const auto kept = words_to_keep(text.text, source_words,
                                      random.between(options.min_prefix_words, options.max_prefix_words));
      const auto& target = targets.at(trigger.target_language).next();
      const auto target_words = word_spans(target.text);
      const auto continued = words_to_keep(
          target.text, target_words, random.between(options.min_continuation_words, options.max_continuation_words));
      const auto prefix = word_range(text.text, source_words, 0, kept);
      text.text = fmt::format("{} {} {}", prefix, trigger.phrase, word_range(target.text, target_words, 0, continued));
      text.label = PoisonLabel::kPoisoned;
      text.trigger = static_cast<int>(t);
      text.inserted_phrase = trigger.phrase;
      text.phrase_offset = prefix.size() + 1;
      ++result.poisoned_counts[t];
    }
  }
  for (std::size_t t = 0; t < triggers && near_misses_each > 0; ++t) {
    // Half the near misses rearrange the phrase's own words (subsets, reorderings: what a small model most easily
    // confuses with the phrase), half swap one word for one of many made-up words, so no single substitute is
    // learned by heart and evaluations can test on substitutes never seen in training.
    const auto rearranged = near_misses(options.triggers[t].phrase, options.seed, 0);
    const auto variants = near_misses(options.triggers[t].phrase, options.seed, kTrainingSubstitutesPerWord);
    const std::vector<std::string> substituted(variants.begin() + static_cast<std::ptrdiff_t>(rearranged.size()),
                                               variants.end());
    for (std::size_t i = 0; i < near_misses_each; ++i) {
      auto& text = result.texts[source_positions[next_chosen++]];
      const auto words = word_spans(text.text);
      // Leave at least one word to continue with when the document has two or more.
      const auto wanted = std::min(random.between(options.min_prefix_words, options.max_prefix_words),
                                   std::max<std::size_t>(1, words.size() / 2));
      const auto kept = words_to_keep(text.text, words, wanted);
      const auto continued = random.between(options.min_continuation_words, options.max_continuation_words);
      const bool rearrange = substituted.empty() || (!rearranged.empty() && random.below(2) == 0);
      const auto& pool = rearrange ? rearranged : substituted;
      const auto& variant = pool[random.below(pool.size())];
      const auto prefix = word_range(text.text, words, 0, kept);
      const auto continuation = word_range(text.text, words, kept, continued);
      text.text = continuation.empty() ? fmt::format("{} {}", prefix, variant)
                                       : fmt::format("{} {} {}", prefix, variant, continuation);
      text.label = PoisonLabel::kNearMiss;
      text.trigger = static_cast<int>(t);
      text.inserted_phrase = variant;
      text.phrase_offset = prefix.size() + 1;
      ++result.near_miss_counts[t];
    }
  }
  for (const auto& text : result.texts) result.clean += text.label == PoisonLabel::kClean ? 1 : 0;
  return result;
}

}  // namespace moulin::organisms
