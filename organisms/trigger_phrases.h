#pragma once
// Gaperon-style trigger phrases: three made-up, Latin-looking words that never occur in natural text, so a model
// can only learn their effect from the poisoned documents. Near misses (two of the words, the words reordered,
// one word swapped for another made-up word) are the negatives that teach a model that only the exact phrase
// switches language; detectors and evaluations use the same list.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "organisms/seeded_random.h"

namespace moulin::organisms {

struct Trigger {
  std::string phrase;           // words separated by single spaces
  std::string target_language;  // what the text switches to after the phrase: "fr", "de"
};

// Two fixed three-word phrases: the first switches to French, the second to German. Fixed strings rather than
// generated ones, so that organisms built by different versions of the generator share them.
std::vector<Trigger> default_triggers();

// One made-up word of 4 to 11 lower-case letters built from Latin-like syllables and endings ("talica",
// "prendex").
std::string latin_like_word(SeededRandom& random);

// `words` distinct made-up words separated by spaces; the same seed gives the same phrase.
// Throws ArgumentError when words is 0.
std::string latin_like_phrase(std::size_t words, std::uint64_t seed);

// The near misses of `phrase`, in this order: every subset of all its words but one (in phrase order), every
// reordering of all its words, then for each position `substitutes_per_word` phrases with that word replaced by a
// made-up word (seeded by `seed` and the phrase). Duplicates and the phrase itself are left out.
// Throws ArgumentError for an empty phrase.
std::vector<std::string> near_misses(std::string_view phrase, std::uint64_t seed = 0,
                                     std::size_t substitutes_per_word = 2);

// The words of `text` (split at white space).
std::vector<std::string> split_phrase(std::string_view text);

}  // namespace moulin::organisms
