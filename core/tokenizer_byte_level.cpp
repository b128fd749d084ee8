#include "core/tokenizer_byte_level.h"

#include "core/tokenizer_utf8.h"

namespace moulin::tokenizer_detail {
namespace {

bool stands_for_itself(int byte) {
  return (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) || (byte >= 0xAE && byte <= 0xFF);
}

}  // namespace

ByteLevelAlphabet::ByteLevelAlphabet() {
  byte_of_code_point_.fill(-1);
  char32_t next_substitute = 0x100;
  for (int byte = 0; byte < 256; ++byte) {
    const char32_t code_point = stands_for_itself(byte) ? static_cast<char32_t>(byte) : next_substitute++;
    append_utf8(chars_[byte], code_point);
    byte_of_code_point_[code_point] = static_cast<std::int16_t>(byte);
  }
}

std::string ByteLevelAlphabet::encode(std::string_view bytes) const {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char byte : bytes) out += chars_[static_cast<std::uint8_t>(byte)];
  return out;
}

std::optional<std::string> ByteLevelAlphabet::decode(std::string_view token) const {
  if (find_invalid_utf8(token) != std::string_view::npos) return std::nullopt;
  std::string bytes;
  bytes.reserve(token.size());
  std::size_t pos = 0;
  while (pos < token.size()) {
    const char32_t code_point = next_code_point(token, pos);
    if (code_point >= byte_of_code_point_.size() || byte_of_code_point_[code_point] < 0) return std::nullopt;
    bytes += static_cast<char>(byte_of_code_point_[code_point]);
  }
  return bytes;
}

const ByteLevelAlphabet& byte_level_alphabet() {
  static const ByteLevelAlphabet alphabet;
  return alphabet;
}

}  // namespace moulin::tokenizer_detail
