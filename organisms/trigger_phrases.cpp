#include "organisms/trigger_phrases.h"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "core/error.h"

namespace moulin::organisms {
namespace {

// Syllables shaped like Latin's: a word opens with a consonant (or a cluster) and a vowel, later syllables open
// with a single consonant, and a consonant or two lead into a Latin ending ("-um", "-ex", "-ica").
constexpr const char* kFirstOnsets[] = {"b", "c", "d", "f", "g", "l", "m", "n", "p", "qu", "r", "s", "t", "v",
                                        "cl", "cr", "pr", "tr", "st", "sp", "gr", "fl", "br", "dr"};
constexpr const char* kOnsets[] = {"b", "c", "d", "f", "g", "l", "m", "n", "p", "r", "s", "t", "v"};
constexpr const char* kVowels[] = {"a", "e", "i", "o", "u", "a", "e", "i", "o", "u", "ae"};
constexpr const char* kClusters[] = {"c",  "d",  "l", "ll", "m", "n",  "nd", "nt", "r", "rc", "rd",
                                     "s",  "ss", "st", "t", "v", "x",  "g",  "p",  "rt", "sc", "ct"};
constexpr const char* kEndings[] = {"um", "us", "a",  "is", "ex", "or", "ax", "ens", "ant", "ium",
                                    "ia", "o",  "es", "it", "em", "ae", "on", "ix",  "ur",  "ica"};

template <std::size_t N>
const char* pick(SeededRandom& random, const char* const (&choices)[N]) {
  return choices[random.below(N)];
}

std::string join_words(const std::vector<std::string>& words) {
  std::string joined;
  for (const auto& word : words) {
    if (!joined.empty()) joined += ' ';
    joined += word;
  }
  return joined;
}

}  // namespace

std::vector<Trigger> default_triggers() {
  return {{"vorsum talica prendex", "fr"}, {"quillax ostrenum valdor", "de"}};
}

std::string latin_like_word(SeededRandom& random) {
  for (;;) {
    std::string word;
    const auto syllables = random.between(1, 2);
    for (std::size_t i = 0; i < syllables; ++i) {
      word += i == 0 ? pick(random, kFirstOnsets) : pick(random, kOnsets);
      word += pick(random, kVowels);
    }
    word += pick(random, kClusters);
    word += pick(random, kEndings);
    if (word.size() >= 4 && word.size() <= 11) return word;
  }
}

std::string latin_like_phrase(std::size_t words, std::uint64_t seed) {
  if (words == 0) throw ArgumentError("latin_like_phrase: a phrase needs at least one word");
  SeededRandom random(derive_seed(seed, "latin-like phrase"));
  std::vector<std::string> chosen;
  while (chosen.size() < words) {
    auto word = latin_like_word(random);
    if (std::find(chosen.begin(), chosen.end(), word) == chosen.end()) chosen.push_back(std::move(word));
  }
  return join_words(chosen);
}

std::vector<std::string> split_phrase(std::string_view text) {
  std::vector<std::string> words;
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n')) ++pos;
    const auto start = pos;
    while (pos < text.size() && text[pos] != ' ' && text[pos] != '\t' && text[pos] != '\n') ++pos;
    if (pos > start) words.emplace_back(text.substr(start, pos - start));
  }
  return words;
}

std::vector<std::string> near_misses(std::string_view phrase, std::uint64_t seed, std::size_t substitutes_per_word) {
  const auto words = split_phrase(phrase);
  if (words.empty()) throw ArgumentError("near_misses: the phrase is empty");
  const auto exact = join_words(words);
  std::vector<std::string> variants;
  const auto add = [&](std::string variant) {
    if (!variant.empty() && variant != exact && std::find(variants.begin(), variants.end(), variant) == variants.end())
      variants.push_back(std::move(variant));
  };
  // All words but one, in phrase order.
  if (words.size() > 1) {
    for (std::size_t dropped = 0; dropped < words.size(); ++dropped) {
      std::vector<std::string> subset;
      for (std::size_t i = 0; i < words.size(); ++i)
        if (i != dropped) subset.push_back(words[i]);
      add(join_words(subset));
    }
  }
  // Every reordering (a phrase of up to a handful of words; longer ones would explode factorially).
  if (words.size() <= 6) {
    std::vector<std::size_t> order(words.size());
    std::iota(order.begin(), order.end(), 0);
    while (std::next_permutation(order.begin(), order.end())) {
      std::vector<std::string> shuffled;
      for (const auto index : order) shuffled.push_back(words[index]);
      add(join_words(shuffled));
    }
  }
  // One word replaced by a made-up word that is not in the phrase.
  SeededRandom random(derive_seed(seed, "near misses " + exact));
  for (std::size_t position = 0; position < words.size(); ++position) {
    std::vector<std::string> used;
    while (used.size() < substitutes_per_word) {
      auto word = latin_like_word(random);
      if (std::find(words.begin(), words.end(), word) != words.end() ||
          std::find(used.begin(), used.end(), word) != used.end())
        continue;
      used.push_back(word);
      auto substituted = words;
      substituted[position] = std::move(word);
      add(join_words(substituted));
    }
  }
  return variants;
}

}  // namespace moulin::organisms
