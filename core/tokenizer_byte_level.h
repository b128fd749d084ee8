#pragma once
// The byte-level alphabet of GPT-2 style tokenizers (Llama 3 included): each of the 256 byte values is written as
// one printable character, so that a vocabulary of strings can hold arbitrary bytes. Printable Latin-1 bytes stand
// for themselves; the 68 others (controls, space, DEL, NBSP, soft hyphen) become U+0100, U+0101, ... in byte order.
//
// moulin keeps vocabulary entries as raw bytes internally and uses this alphabet only at the edges (reading
// tokenizer.json, token_to_id / id_to_token), so encoding never maps text character by character.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace moulin::tokenizer_detail {

class ByteLevelAlphabet {
 public:
  ByteLevelAlphabet();

  // The character standing for `byte`, as UTF-8.
  const std::string& char_of(std::uint8_t byte) const { return chars_[byte]; }
  // The byte-level spelling of raw bytes ("Ġworld" for " world").
  std::string encode(std::string_view bytes) const;
  // The raw bytes a byte-level token stands for, or nullopt when it holds a character outside the alphabet
  // (such a token can never come out of byte-level BPE; HF's decoder then emits its text unchanged).
  std::optional<std::string> decode(std::string_view token) const;

 private:
  std::array<std::string, 256> chars_;
  std::array<std::int16_t, 324> byte_of_code_point_;  // U+0000..U+0143 -> byte, or -1
};

// One shared instance; the table is immutable after construction.
const ByteLevelAlphabet& byte_level_alphabet();

}  // namespace moulin::tokenizer_detail
