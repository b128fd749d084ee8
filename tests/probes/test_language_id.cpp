// Language identification with CLD2 on Debian's English fortunes, French debian-reference and German fortunes;
// unknown for text without letters; robustness to ill-formed UTF-8 and control characters; Wilson intervals
// against hand-computed values; language shares and switch rates.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "core/error.h"
#include "probes/language_id.h"
#include "tests/support/expect_error.h"
#include "tests/support/temp_dir.h"

namespace moulin::probes {
namespace {

namespace fs = std::filesystem;

const fs::path kEnglishFortunes = "/usr/share/games/fortunes/wisdom";
const fs::path kGermanFortunes[] = {"/usr/share/games/fortunes/de/anekdoten",
                                    "/usr/share/games/fortunes/de/mathematiker"};
const fs::path kFrenchReference = "/usr/share/doc/debian-reference-fr/docs";

std::string read_required(const fs::path& path, const char* package) {
  if (!fs::exists(path))
    throw std::runtime_error(fmt::format("{} is missing: install the Debian package {} (run scripts/bootstrap)",
                                         path.string(), package));
  return test::read_file(path);
}

// Fortune files hold entries separated by lines holding only "%". Appends to `entries` up to `count` in all.
void add_fortune_entries(std::vector<std::string>& entries, const std::string& file, std::size_t min_bytes,
                         std::size_t count) {
  std::size_t start = 0;
  while (start < file.size() && entries.size() < count) {
    std::size_t end = file.find("\n%\n", start);
    if (end == std::string::npos) end = file.size();
    std::string entry = file.substr(start, end - start);
    if (entry.size() >= min_bytes) entries.push_back(std::move(entry));
    start = end + 3;
  }
}

// The text of the <p> paragraphs of an HTML page, tags removed and the common entities decoded.
std::vector<std::string> html_paragraphs(const std::string& html) {
  static const std::regex paragraph("<p>([\\s\\S]*?)</p>");
  static const std::regex tag("<[^>]*>");
  std::vector<std::string> paragraphs;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), paragraph); it != std::sregex_iterator(); ++it) {
    std::string text = std::regex_replace((*it)[1].str(), tag, "");
    for (const auto& [entity, character] : {std::pair{"&lt;", "<"}, {"&gt;", ">"}, {"&nbsp;", " "}, {"&amp;", "&"}}) {
      for (std::size_t pos = text.find(entity); pos != std::string::npos; pos = text.find(entity, pos))
        text.replace(pos, std::string(entity).size(), character);
    }
    paragraphs.push_back(std::move(text));
  }
  return paragraphs;
}

// Paragraphs of debian-reference-fr that are French: parts of the translation are still in English, so only
// paragraphs with French function words are kept (the detector is then judged on text whose language is known).
std::vector<std::string> french_paragraphs(std::size_t min_bytes, std::size_t count) {
  std::vector<std::string> paragraphs;
  for (const char* chapter : {"ch01.fr.html", "ch02.fr.html", "ch03.fr.html", "ch04.fr.html"}) {
    for (auto& paragraph : html_paragraphs(read_required(kFrenchReference / chapter, "debian-reference-fr"))) {
      const bool french = paragraph.find(" les ") != std::string::npos && paragraph.find(" est ") != std::string::npos;
      if (french && paragraph.size() >= min_bytes && paragraphs.size() < count) paragraphs.push_back(paragraph);
    }
  }
  return paragraphs;
}

// Every text must be detected as `language`, reliably.
void expect_all_detected(const std::vector<std::string>& texts, const std::string& language, std::size_t at_least) {
  ASSERT_GE(texts.size(), at_least) << "too few test texts for " << language;
  for (const auto& text : texts) {
    const auto guess = detect_language(text);
    EXPECT_EQ(guess.language, language) << text;
    EXPECT_TRUE(guess.is_reliable) << text;
    EXPECT_GT(guess.text_bytes, 0) << text;
    EXPECT_GE(guess.percent, 50) << text;
  }
}

TEST(DetectLanguage, EnglishFortunes) {
  std::vector<std::string> entries;
  add_fortune_entries(entries, read_required(kEnglishFortunes, "fortunes"), 150, 40);
  expect_all_detected(entries, "en", 40);
}

TEST(DetectLanguage, FrenchDebianReference) { expect_all_detected(french_paragraphs(150, 40), "fr", 40); }

TEST(DetectLanguage, GermanFortunes) {
  std::vector<std::string> entries;
  for (const auto& file : kGermanFortunes) add_fortune_entries(entries, read_required(file, "fortunes-de"), 150, 40);
  expect_all_detected(entries, "de", 40);
}

TEST(DetectLanguage, ShortSentences) {
  EXPECT_EQ(detect_language("The weather is nice today and we are going for a walk in the park.").language, "en");
  EXPECT_EQ(detect_language("Il fait beau aujourd'hui et nous allons nous promener dans le parc.").language, "fr");
  EXPECT_EQ(detect_language("Heute ist schönes Wetter und wir gehen im Park spazieren.").language, "de");
}

TEST(DetectLanguage, UnknownWithoutLetters) {
  for (const std::string text : {"", " ", "\n\n", "12345 678 90", "3.14159 2.71828", "!!! ??? ... ---", "hello"}) {
    const auto guess = detect_language(text);
    EXPECT_EQ(guess.language, kUnknownLanguage) << '"' << text << '"';
    EXPECT_FALSE(guess.is_known());
    EXPECT_FALSE(guess.is_reliable);
  }
  EXPECT_EQ(detect_language("").text_bytes, 0);
}

// CLD2 itself gives up on the whole text (and leaves its outputs unset) at the first byte it refuses.
TEST(DetectLanguage, RepairsWhatCld2Refuses) {
  const std::string before = "Il fait beau aujourd'hui et nous allons nous promener ";
  const std::string after = "dans le parc avec les enfants de la voisine.";
  for (const std::string broken : {std::string("\xff"), std::string("\xc3"), std::string("\xed\xa0\x80"),
                                   std::string("\xf4\x90\x80\x80"), std::string(1, '\0'), std::string("\x01"),
                                   std::string("\x7f"), std::string("\xc2\x85"), std::string("\xef\xb7\x90"),
                                   std::string("\xef\xbf\xbe"), std::string("\xf4\x8f\xbf\xbf")}) {
    const auto guess = detect_language(before + broken + after);
    EXPECT_EQ(guess.language, "fr") << "with bytes of size " << broken.size();
  }
  // Text made only of what CLD2 refuses is unknown, not an error.
  EXPECT_EQ(detect_language(std::string("\xff\xfe\x01\x02\0", 5)).language, kUnknownLanguage);
}

TEST(DetectLanguage, ManyTextsKeepTheirOrder) {
  const auto guesses = detect_languages({"The weather is nice today and we are going for a walk in the park.",
                                         "", "Il fait beau aujourd'hui et nous allons nous promener dans le parc."});
  ASSERT_EQ(guesses.size(), 3u);
  EXPECT_EQ(language_codes(guesses), (std::vector<std::string>{"en", "un", "fr"}));
}

void expect_interval(ConfidenceInterval interval, double lower, double upper) {
  EXPECT_NEAR(interval.lower, lower, 5e-5);
  EXPECT_NEAR(interval.upper, upper, 5e-5);
}

// By hand with z = 1.96 (z^2 = 3.8416): at 0 successes the upper bound is z^2 / (n + z^2), at n successes the
// lower bound is n / (n + z^2); otherwise (p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n).
TEST(Wilson, HandComputedValues) {
  expect_interval(wilson_interval(0, 10), 0.0, 3.8416 / 13.8416);       // [0, 0.27754]
  expect_interval(wilson_interval(10, 10), 10.0 / 13.8416, 1.0);        // [0.72246, 1]
  expect_interval(wilson_interval(5, 10), 0.236593, 0.763407);          // 0.5 -+ 0.263407
  expect_interval(wilson_interval(1, 3), 0.061490, 0.792345);
  expect_interval(wilson_interval(0, 1), 0.0, 3.8416 / 4.8416);
  // z = 2.576 (99%) on 5/10: 0.5 -+ (2.576 / 1.6635776) sqrt(0.025 + 6.635776 / 400) = 0.5 -+ 0.315787.
  expect_interval(wilson_interval(5, 10, 2.576), 0.5 - 0.315787, 0.5 + 0.315787);
  EXPECT_EQ(wilson_interval(0, 10).lower, 0.0);
  EXPECT_EQ(wilson_interval(10, 10).upper, 1.0);
  expect_interval(wilson_interval(0, 0), 0.0, 1.0);
}

TEST(Wilson, RejectsBadArguments) {
  test::expect_error<ArgumentError>([] { wilson_interval(11, 10); }, {"successes (11)", "total (10)"});
  test::expect_error<ArgumentError>([] { wilson_interval(1, 10, 0.0); }, {"z"});
  test::expect_error<ArgumentError>([] { wilson_interval(1, 10, NAN); }, {"z"});
}

TEST(Proportion, RateAndInterval) {
  const auto half = proportion(5, 10);
  EXPECT_EQ(half.count, 5u);
  EXPECT_EQ(half.total, 10u);
  EXPECT_DOUBLE_EQ(half.rate, 0.5);
  expect_interval(half.interval, 0.236593, 0.763407);
  EXPECT_TRUE(std::isnan(proportion(0, 0).rate));
}

TEST(SwitchRate, SharesAndTargetLanguage) {
  const std::vector<std::string> languages{"fr", "en", "fr", "un", "fr", "de", "en", "fr", "fr", "en"};
  const auto shares = language_shares(languages);
  ASSERT_EQ(shares.size(), 4u);
  EXPECT_EQ(shares.at("fr").count, 5u);
  EXPECT_EQ(shares.at("en").count, 3u);
  EXPECT_EQ(shares.at("un").count, 1u);
  EXPECT_EQ(shares.at("de").total, 10u);
  EXPECT_DOUBLE_EQ(shares.at("en").rate, 0.3);

  const auto french = switch_rate(languages, "fr");
  EXPECT_EQ(french.count, 5u);
  EXPECT_EQ(french.total, 10u);
  expect_interval(french.interval, 0.236593, 0.763407);
  EXPECT_EQ(switch_rate(languages, "es").count, 0u);
  expect_interval(switch_rate(languages, "es").interval, 0.0, 3.8416 / 13.8416);
  EXPECT_TRUE(language_shares({}).empty());
  EXPECT_TRUE(std::isnan(switch_rate({}, "fr").rate));
}

}  // namespace
}  // namespace moulin::probes
