// The building blocks of the reports: UTF-8 repair and escaping for XML and Markdown, number formatting, axis
// ticks and colour scales (exact colours at the ends and the centre).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/error.h"
#include "report/axis.h"
#include "report/colour_scale.h"
#include "report/number_format.h"
#include "report/text_escape.h"
#include "tests/support/expect_error.h"

namespace moulin::report {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInfinity = std::numeric_limits<double>::infinity();
const std::string kReplacement = "\xEF\xBF\xBD";

TEST(Utf8, KeepsWellFormedText) {
  const std::string text = "caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80";
  EXPECT_EQ(utf8_repaired(text), text);
  EXPECT_EQ(utf8_length(text), 8u);
}

TEST(Utf8, ReplacesEachMaximalIllFormedSubpartOnce) {
  // A character cut by a byte-level BPE token boundary gives one U+FFFD, not one per byte.
  EXPECT_EQ(utf8_repaired("a\xE2\x82"), "a" + kReplacement);
  EXPECT_EQ(utf8_repaired("\xF0\x9F\x98z"), kReplacement + "z");
  // Overlong forms and surrogates are not characters: each byte is replaced (Unicode's recommended practice).
  EXPECT_EQ(utf8_repaired("\xC0\xAF"), kReplacement + kReplacement);
  EXPECT_EQ(utf8_repaired("\xED\xA0\x80"), kReplacement + kReplacement + kReplacement);
  EXPECT_EQ(utf8_repaired("\xFF"), kReplacement);
}

TEST(Utf8, TruncatesOnCharacterBoundariesWithAnEllipsis) {
  EXPECT_EQ(utf8_truncated("abcdef", 4), "abc\xE2\x80\xA6");
  EXPECT_EQ(utf8_truncated("abcd", 4), "abcd");
  EXPECT_EQ(utf8_truncated("\xC3\xA9\xC3\xA9\xC3\xA9", 2), "\xC3\xA9\xE2\x80\xA6");
}

TEST(Utf8, MiddleTruncationKeepsBothEnds) {
  EXPECT_EQ(utf8_truncated_middle("a long trigger phrase #12", 11),
            "a long\xE2\x80\xA6"
            " #12");
  EXPECT_EQ(utf8_truncated_middle("short", 11), "short");
  EXPECT_EQ(utf8_length(utf8_truncated_middle("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 4)), 4u);
}

TEST(XmlEscape, EscapesMarkupCharacters) {
  EXPECT_EQ(xml_escape("<a href=\"x\"> & 'b'"), "&lt;a href=&quot;x&quot;&gt; &amp; &#39;b&#39;");
  EXPECT_EQ(xml_escape("&amp;"), "&amp;amp;");
}

TEST(XmlEscape, ReplacesWhatXmlForbidsAndKeepsWhitespace) {
  EXPECT_EQ(xml_escape(std::string("a\x01"
                                   "b\x7F",
                                   4)),
            "a" + kReplacement + "b" + kReplacement);
  EXPECT_EQ(xml_escape(std::string("nul\0", 4)), "nul" + kReplacement);
  EXPECT_EQ(xml_escape("\xEF\xBF\xBE"), kReplacement);  // U+FFFE
  EXPECT_EQ(xml_escape("a\tb\nc"), "a\tb\nc");
  EXPECT_EQ(xml_escape("\xC3"), kReplacement);
}

TEST(MarkdownEscape, EscapesInlineMarkup) {
  EXPECT_EQ(markdown_escape("*bold* _it_ `code` [link](x) <b> &amp; a|b ~s~ !x \\"),
            "\\*bold\\* \\_it\\_ \\`code\\` \\[link\\](x) \\<b\\> \\&amp; a\\|b \\~s\\~ \\!x \\\\");
}

TEST(MarkdownEscape, EscapesWhatWouldStartABlock) {
  EXPECT_EQ(markdown_escape("# title"), "\\# title");
  EXPECT_EQ(markdown_escape("- item\n+ item\n= under"), "\\- item\n\\+ item\n\\= under");
  EXPECT_EQ(markdown_escape("12. item\n3) item\n2024 was"), "12\\. item\n3\\) item\n2024 was");
  EXPECT_EQ(markdown_escape("    indented code"), "indented code");
  EXPECT_EQ(markdown_escape("> quote"), "\\> quote");
  EXPECT_EQ(markdown_escape("a - b. 3. c"), "a - b. 3. c");  // only line starts matter
}

TEST(MarkdownEscape, InlineVariantStaysOnOneLine) {
  EXPECT_EQ(markdown_escape_inline("- a\nb|c"), "- a b\\|c");
  EXPECT_EQ(single_line("a\r\n\tb"), "a b");
}

TEST(FormatNumber, FixedScientificAndSpecialValues) {
  EXPECT_EQ(format_number(0.5, 3), "0.500");
  EXPECT_EQ(format_number(-2.26, 1), "-2.3");
  EXPECT_EQ(format_number(12, 0), "12");
  EXPECT_EQ(format_number(-0.0, 2), "0.00");
  EXPECT_EQ(format_number(0.0001, 3), "1.000e-04");
  EXPECT_EQ(format_number(-0.0001, 2), "-1.00e-04");
  EXPECT_EQ(format_number(1234567.0, 2), "1.23e+06");
  EXPECT_EQ(format_number(kNaN, 3), "NaN");
  EXPECT_EQ(format_number(kInfinity, 3), "inf");
  EXPECT_EQ(format_number(-kInfinity, 3), "-inf");
  test::expect_error<ArgumentError>([] { format_number(1.0, -1); }, {"decimals -1"});
}

TEST(FormatNumber, FixedNotationForCells) {
  EXPECT_EQ(format_fixed(-0.00413, 2), "0.00");
  EXPECT_EQ(format_fixed(0.126, 2), "0.13");
  EXPECT_EQ(format_fixed(kNaN, 2), "NaN");
  EXPECT_EQ(format_fixed(2e7, 1), "2.0e+07");
}

TEST(Axis, LinearTicksAreRoundAndCoverTheData) {
  const ValueAxis axis = linear_axis(0.0, 0.93);
  EXPECT_DOUBLE_EQ(axis.min, 0.0);
  EXPECT_DOUBLE_EQ(axis.max, 1.0);
  ASSERT_EQ(axis.ticks.size(), 6u);
  EXPECT_EQ(axis.tick_label(axis.ticks[0]), "0.0");
  EXPECT_EQ(axis.tick_label(axis.ticks[3]), "0.6");
  EXPECT_EQ(axis.tick_label(axis.ticks[5]), "1.0");
  EXPECT_DOUBLE_EQ(axis.fraction(0.5), 0.5);
}

TEST(Axis, LinearTicksAroundZeroAndLargeSteps) {
  const ValueAxis axis = linear_axis(-0.3, 0.7);
  bool has_zero = false;
  for (const double tick : axis.ticks) {
    has_zero = has_zero || tick == 0.0;
    if (tick == 0.0) {
      EXPECT_EQ(axis.tick_label(tick), "0.0");
    }
  }
  EXPECT_TRUE(has_zero);
  const ValueAxis steps = linear_axis(0, 5000);
  EXPECT_EQ(steps.tick_label(steps.ticks.back()), "5000");
}

TEST(Axis, DegenerateRangeIsWidened) {
  const ValueAxis axis = linear_axis(5.0, 5.0);
  EXPECT_LT(axis.min, 5.0);
  EXPECT_GT(axis.max, 5.0);
  EXPECT_GE(axis.ticks.size(), 2u);
  test::expect_error<ArgumentError>([] { linear_axis(kNaN, 1.0); }, {"linear_axis", "range"});
}

TEST(Axis, LogTicksStayInsideAndAreFewEnough) {
  for (const auto& [low, high] : {std::pair{1e-3, 10.0}, std::pair{2.1, 4.5}, std::pair{1e-12, 1e3}}) {
    const ValueAxis axis = log_axis(low, high);
    EXPECT_LE(axis.min, low);
    EXPECT_GE(axis.max, high);
    EXPECT_GE(axis.ticks.size(), 2u) << low << ".." << high;
    EXPECT_LE(axis.ticks.size(), 10u) << low << ".." << high;
    for (const double tick : axis.ticks) {
      EXPECT_GE(axis.fraction(tick), -1e-9);
      EXPECT_LE(axis.fraction(tick), 1 + 1e-9);
    }
  }
  EXPECT_EQ(log_axis(1e-3, 10.0).tick_label(1e-3), "0.001");
  EXPECT_EQ(log_axis(1e-12, 1e3).tick_label(1e-8), "1e-8");
  EXPECT_TRUE(std::isnan(log_axis(1.0, 10.0).fraction(0.0)));
  test::expect_error<ArgumentError>([] { log_axis(0.0, 1.0); }, {"log_axis", "not positive"});
}

TEST(ColourScale, SequentialEndsAndMiddle) {
  const ColourScale scale = ColourScale::sequential(10.0, 20.0);
  EXPECT_EQ(scale.colour(10.0).hex(), "#440154");
  EXPECT_EQ(scale.colour(15.0).hex(), "#21918c");
  EXPECT_EQ(scale.colour(20.0).hex(), "#fde725");
  EXPECT_EQ(scale.colour(-100.0), scale.colour(10.0));  // clamped
  EXPECT_EQ(scale.colour(kNaN), ColourScale::missing_colour());
  EXPECT_EQ(scale.colour(kInfinity), ColourScale::missing_colour());
}

TEST(ColourScale, DivergingIsNeutralAtTheCentreOfAnAsymmetricRange) {
  const ColourScale scale = ColourScale::diverging(-2.0, 0.0, 4.0);
  EXPECT_EQ(scale.colour(-2.0).hex(), "#2166ac");
  EXPECT_EQ(scale.colour(0.0).hex(), "#f7f7f7");
  EXPECT_EQ(scale.colour(4.0).hex(), "#b2182b");
  EXPECT_EQ(scale.colour(2.0).hex(), "#ef8a62");   // halfway up the red half
  EXPECT_EQ(scale.colour(-1.0).hex(), "#67a9cf");  // halfway down the blue half
  test::expect_error<ArgumentError>([] { ColourScale::diverging(1.0, 0.0, 2.0); }, {"colour scale", "ordered"});
}

TEST(ColourScale, TextContrast) {
  EXPECT_EQ((Rgb{0x44, 0x01, 0x54}).contrasting_text().hex(), "#ffffff");
  EXPECT_EQ((Rgb{0xfd, 0xe7, 0x25}).contrasting_text().hex(), "#000000");
}

}  // namespace
}  // namespace moulin::report
