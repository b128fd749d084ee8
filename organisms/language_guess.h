#pragma once
// A quick English / French / German guess from function words, used to keep untranslated paragraphs out of a
// language's corpus (translations of Debian documentation are incomplete; French man pages quote English).
// Function words are frequent, short and nearly disjoint between the three languages, which is all that is needed
// to tell them apart on a paragraph; anything subtler is the job of probes' language identifier.
#include <cstddef>
#include <string>
#include <string_view>

namespace moulin::organisms {

struct LanguageVotes {
  std::size_t english = 0;
  std::size_t french = 0;
  std::size_t german = 0;
};

// How many words of `text` are function words of each language (ASCII case-insensitive).
LanguageVotes count_function_words(std::string_view text);

// "en", "fr" or "de" when one language has at least `min_votes` function words and at least twice as many as
// either other; "" when the text is too short or too mixed to tell.
std::string guess_language(std::string_view text, std::size_t min_votes = 2);

}  // namespace moulin::organisms
