#include "probes/language_id.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>  // compact_lang_det.h uses FILE without including it
#include <limits>

#include <compact_lang_det.h>

#include "core/error.h"
#include "core/tokenizer_utf8.h"

namespace moulin::probes {
namespace {

using tokenizer_detail::append_utf8;
using tokenizer_detail::append_utf8_lossy;
using tokenizer_detail::find_invalid_utf8;
using tokenizer_detail::next_code_point;

// CLD2 only reads "interchange-valid" UTF-8: no C0 controls but tab, newline, form feed and carriage return; no
// DEL or C1 controls; no noncharacters (U+FDD0..U+FDEF and the last two code points of every plane). Checked
// against libcld2 0.0.197 on every code point.
bool cld2_refuses(char32_t code_point) {
  if (code_point < 0x20) return code_point != '\t' && code_point != '\n' && code_point != '\f' && code_point != '\r';
  if (code_point >= 0x7F && code_point <= 0x9F) return true;
  if (code_point >= 0xFDD0 && code_point <= 0xFDEF) return true;
  return (code_point & 0xFFFE) == 0xFFFE;
}

bool needs_repair(std::string_view text) {
  if (find_invalid_utf8(text) != std::string_view::npos) return true;
  for (std::size_t pos = 0; pos < text.size();)
    if (cld2_refuses(next_code_point(text, pos))) return true;
  return false;
}

// Well-formed, interchange-valid UTF-8 with the same letters: a control or a broken byte between two words
// must not change what language they are in.
std::string repair_for_cld2(std::string_view text) {
  std::string well_formed;
  well_formed.reserve(text.size());
  append_utf8_lossy(well_formed, text);
  std::string repaired;
  repaired.reserve(well_formed.size());
  for (std::size_t pos = 0; pos < well_formed.size();) {
    const char32_t code_point = next_code_point(well_formed, pos);
    append_utf8(repaired, cld2_refuses(code_point) ? U' ' : code_point);
  }
  return repaired;
}

LanguageGuess detect_valid(std::string_view text) {
  CLD2::Language top_languages[3];
  int percents[3] = {0, 0, 0};
  double normalized_scores[3];
  int text_bytes = 0;
  bool is_reliable = false;
  int valid_prefix_bytes = 0;
  const int length = static_cast<int>(text.size());
  // The checking entry point costs one extra scan and turns a missed case in repair_for_cld2 into an error
  // message instead of reading CLD2's uninitialised outputs.
  const CLD2::Language language = CLD2::ExtDetectLanguageSummaryCheckUTF8(
      text.data(), length, /*is_plain_text=*/true, /*cld_hints=*/nullptr, /*flags=*/0, top_languages, percents,
      normalized_scores, /*resultchunkvector=*/nullptr, &text_bytes, &is_reliable, &valid_prefix_bytes);
  if (valid_prefix_bytes != length)
    throw ArgumentError(fmt::format("detect_language: CLD2 refused the text at byte {} of {} after UTF-8 repair",
                                    valid_prefix_bytes, length));

  LanguageGuess guess;
  guess.language = CLD2::LanguageCode(language);
  guess.is_reliable = is_reliable;
  guess.text_bytes = text_bytes;
  for (int i = 0; i < 3; ++i)
    if (top_languages[i] == language) {
      guess.percent = percents[i];
      break;
    }
  return guess;
}

}  // namespace

LanguageGuess detect_language(std::string_view text) {
  if (text.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw ArgumentError(fmt::format("detect_language: text of {} bytes; CLD2 reads at most {}", text.size(),
                                    std::numeric_limits<int>::max()));
  if (!needs_repair(text)) return detect_valid(text);
  // Repair can grow the text (a broken byte becomes three bytes of U+FFFD); recheck the limit on the result.
  const std::string repaired = repair_for_cld2(text);
  if (repaired.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw ArgumentError(fmt::format("detect_language: text of {} bytes after UTF-8 repair; CLD2 reads at most {}",
                                    repaired.size(), std::numeric_limits<int>::max()));
  return detect_valid(repaired);
}

std::vector<LanguageGuess> detect_languages(const std::vector<std::string>& texts) {
  std::vector<LanguageGuess> guesses;
  guesses.reserve(texts.size());
  for (const auto& text : texts) guesses.push_back(detect_language(text));
  return guesses;
}

std::vector<std::string> language_codes(const std::vector<LanguageGuess>& guesses) {
  std::vector<std::string> codes;
  codes.reserve(guesses.size());
  for (const auto& guess : guesses) codes.push_back(guess.language);
  return codes;
}

ConfidenceInterval wilson_interval(std::size_t successes, std::size_t total, double z) {
  if (successes > total)
    throw ArgumentError(fmt::format("wilson_interval: successes ({}) exceed total ({})", successes, total));
  if (!std::isfinite(z) || z <= 0.0)
    throw ArgumentError(fmt::format("wilson_interval: z must be a positive finite number, got {}", z));
  if (total == 0) return {0.0, 1.0};
  const double n = static_cast<double>(total);
  const double p = static_cast<double>(successes) / n;
  const double z2 = z * z;
  const double denominator = 1.0 + z2 / n;
  const double center = (p + z2 / (2.0 * n)) / denominator;
  const double half_width = z / denominator * std::sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n));
  // At 0 or `total` successes one bound is exactly 0 or 1 in exact arithmetic; rounding must not push it out.
  const double lower = successes == 0 ? 0.0 : std::max(0.0, center - half_width);
  const double upper = successes == total ? 1.0 : std::min(1.0, center + half_width);
  return {lower, upper};
}

Proportion proportion(std::size_t count, std::size_t total, double z) {
  Proportion result;
  result.count = count;
  result.total = total;
  result.interval = wilson_interval(count, total, z);
  result.rate = total == 0 ? std::numeric_limits<double>::quiet_NaN()
                           : static_cast<double>(count) / static_cast<double>(total);
  return result;
}

std::map<std::string, Proportion> language_shares(const std::vector<std::string>& languages, double z) {
  std::map<std::string, std::size_t> counts;
  for (const auto& language : languages) ++counts[language];
  std::map<std::string, Proportion> shares;
  for (const auto& [language, count] : counts) shares.emplace(language, proportion(count, languages.size(), z));
  return shares;
}

Proportion switch_rate(const std::vector<std::string>& languages, std::string_view target_language, double z) {
  std::size_t count = 0;
  for (const auto& language : languages) count += language == target_language ? 1 : 0;
  return proportion(count, languages.size(), z);
}

}  // namespace moulin::probes
