#pragma once
// The first step of BPE training (internal to organisms/bpe_trainer): the corpus as distinct pre-tokens ("words")
// spelled in byte tokens, each with how often it occurs.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "organisms/bpe_trainer.h"

namespace moulin::organisms::bpe_detail {

inline constexpr std::size_t kByteTokens = 256;

// Words only shrink as merges apply, so they stay in place in one flat array.
struct Words {
  std::vector<std::int32_t> symbols;  // all words back to back, as token ids
  std::vector<std::uint32_t> start;   // per word: index of its first symbol
  std::vector<std::uint32_t> length;  // per word: symbols still live
  std::vector<std::int64_t> frequency;
  std::size_t pre_token_count = 0;
  std::size_t bytes = 0;

  std::size_t size() const { return frequency.size(); }
};

struct ByteTokens {
  std::array<std::int32_t, kByteTokens> id_of_byte{};
  std::vector<std::string> spellings;  // by id
};

// The 256 byte tokens. Llama 3 orders them by the code point of their byte-level spelling, so the printable ASCII
// bytes come first ("!" is id 0) and the remapped control bytes (Ā, ā, ...) last.
ByteTokens byte_tokens();

// Cuts the special tokens out of each text (as the encoder does before pre-tokenizing), splits the rest with
// Llama 3's regex and counts the distinct pre-tokens. Throws ArgumentError for a text that is not valid UTF-8 and
// when no pre-token is left.
Words count_words(const std::vector<std::string>& texts, const std::vector<std::string>& special_tokens,
                  const ByteTokens& byte_tokens);

}  // namespace moulin::organisms::bpe_detail
