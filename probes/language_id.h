#pragma once
// Which language a text is in (Google's CLD2 on plain text), and how often a set of continuations is in a given
// language, with a Wilson score interval so small evaluation sets report their uncertainty. Torch-free.
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace moulin::probes {

// CLD2's code for "no language identified".
inline constexpr std::string_view kUnknownLanguage = "un";

struct LanguageGuess {
  // CLD2's code: ISO 639-1 where the language has one ("en", "fr", "de"), else CLD2's longer code ("zh-Hant",
  // "haw"); kUnknownLanguage for text CLD2 cannot place (empty, too short, no letters).
  std::string language = std::string(kUnknownLanguage);
  bool is_reliable = false;
  int percent = 0;     // percent (0-100) of the scored text that is in `language`
  int text_bytes = 0;  // bytes of text CLD2 scored: letters and the spaces between them, markup and digits aside

  bool is_known() const { return language != kUnknownLanguage; }
};

// Never throws on content: ill-formed UTF-8 becomes U+FFFD and the code points CLD2 refuses to read (controls
// other than tab/newline/form feed/carriage return, noncharacters) become spaces before detection, since CLD2
// gives up on a whole text that holds one of them. Throws ArgumentError for a text over 2 GB (CLD2 takes an int).
LanguageGuess detect_language(std::string_view text);
std::vector<LanguageGuess> detect_languages(const std::vector<std::string>& texts);
// The `language` field of each guess, for language_shares and switch_rate.
std::vector<std::string> language_codes(const std::vector<LanguageGuess>& guesses);

struct ConfidenceInterval {
  double lower = 0.0;
  double upper = 1.0;
};

// The Wilson score interval for `successes` out of `total` Bernoulli trials at `z` standard deviations (1.96:
// 95%). Unlike the normal approximation it stays inside [0, 1] and is not degenerate at 0 or `total` successes.
// total == 0 gives [0, 1]. Throws ArgumentError when successes > total or z is not a positive finite number.
ConfidenceInterval wilson_interval(std::size_t successes, std::size_t total, double z = 1.96);

struct Proportion {
  std::size_t count = 0;
  std::size_t total = 0;
  double rate = 0.0;  // count / total; NaN when total is 0, so an empty evaluation cannot pass for a 0% rate
  ConfidenceInterval interval;
};

// count / total with its Wilson interval. Throws as wilson_interval.
Proportion proportion(std::size_t count, std::size_t total, double z = 1.96);

// The share of each language code among `languages` (kUnknownLanguage included: it counts in every total).
std::map<std::string, Proportion> language_shares(const std::vector<std::string>& languages, double z = 1.96);
// The share of `target_language` among `languages`: the rate at which continuations switched to it. Unknown
// continuations count as not switched.
Proportion switch_rate(const std::vector<std::string>& languages, std::string_view target_language, double z = 1.96);

}  // namespace moulin::probes
