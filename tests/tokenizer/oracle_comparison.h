#pragma once
// Encodes texts with moulin and with the oracle and reports every difference (gtest failures, first few shown).
#include <filesystem>
#include <string>
#include <vector>

#include "core/tokenizer.h"
#include "tests/tokenizer/oracle.h"

namespace moulin::test {

// The text with control and non-ASCII characters escaped, so a failure message shows what was encoded.
std::string escaped(const std::string& text, std::size_t max_bytes = 300);

// Expects identical ids for every text; prints "<label>: N texts, B bytes, M mismatches".
// Returns the number of mismatches.
std::size_t expect_same_ids(const Oracle& oracle, const Tokenizer& tokenizer, const std::filesystem::path& tokenizer_json,
                            const std::vector<std::string>& texts, Oracle::EncodeFlags flags, const std::string& label);

// Expects decode(encode(text)) == text for every text (without added template tokens).
std::size_t expect_round_trip(const Tokenizer& tokenizer, const std::vector<std::string>& texts,
                              const std::string& label);

}  // namespace moulin::test
