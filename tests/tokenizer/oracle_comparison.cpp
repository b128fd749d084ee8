#include "tests/tokenizer/oracle_comparison.h"

#include <gtest/gtest.h>

#include <iostream>
#include <numeric>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace moulin::test {
namespace {

constexpr std::size_t kShownMismatches = 5;

std::string ids_text(const std::vector<TokenId>& ids) { return fmt::format("[{}]", fmt::join(ids, ", ")); }

}  // namespace

std::string escaped(const std::string& text, std::size_t max_bytes) {
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < max_bytes; ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte == '\\') out += "\\\\";
    else if (byte == '\n') out += "\\n";
    else if (byte >= 0x20 && byte < 0x7F) out += static_cast<char>(byte);
    else out += fmt::format("\\x{:02x}", byte);
  }
  if (text.size() > max_bytes) out += fmt::format("... ({} bytes)", text.size());
  return out;
}

std::size_t expect_same_ids(const Oracle& oracle, const Tokenizer& tokenizer, const std::filesystem::path& tokenizer_json,
                            const std::vector<std::string>& texts, Oracle::EncodeFlags flags, const std::string& label) {
  const auto expected = oracle.encode(tokenizer_json, texts, flags);
  const EncodeOptions options{flags.add_special_tokens, flags.allow_special};
  std::size_t mismatches = 0, bytes = 0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    bytes += texts[i].size();
    const auto got = tokenizer.encode(texts[i], options);
    if (got == expected[i]) continue;
    if (++mismatches <= kShownMismatches)
      ADD_FAILURE() << label << ": text " << i << " \"" << escaped(texts[i]) << "\"\n  moulin: " << ids_text(got)
                    << "\n  oracle: " << ids_text(expected[i]);
  }
  std::cout << fmt::format("[ oracle   ] {}: {} texts, {} bytes, {} mismatches\n", label, texts.size(), bytes,
                           mismatches);
  EXPECT_EQ(mismatches, 0u) << label;
  return mismatches;
}

std::size_t expect_round_trip(const Tokenizer& tokenizer, const std::vector<std::string>& texts,
                              const std::string& label) {
  std::size_t failures = 0;
  for (const auto& text : texts) {
    const auto decoded = tokenizer.decode(tokenizer.encode(text, {false, true}));
    if (decoded == text) continue;
    if (++failures <= kShownMismatches)
      ADD_FAILURE() << label << ": decode(encode(x)) != x for \"" << escaped(text) << "\"\n  got \"" << escaped(decoded)
                    << '"';
  }
  std::cout << fmt::format("[ roundtrip] {}: {} texts, {} failures\n", label, texts.size(), failures);
  EXPECT_EQ(failures, 0u) << label;
  return failures;
}

}  // namespace moulin::test
