#include "core/tokenizer_utf8.h"

#include <cstdint>
#include <cstring>

namespace moulin::tokenizer_detail {
namespace {

bool is_continuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

// How many bytes of a sequence starting at `text[pos]` are a well-formed prefix (1 to 4), and whether they form a
// complete character. The allowed second-byte ranges are those of the Unicode table "Well-Formed UTF-8 Byte
// Sequences", which exclude overlong forms, surrogates and code points above U+10FFFF.
struct SequenceCheck {
  std::size_t length = 1;
  bool complete = false;
};

SequenceCheck check_sequence(std::string_view text, std::size_t pos) {
  const auto lead = static_cast<unsigned char>(text[pos]);
  if (lead < 0x80) return {1, true};
  std::size_t width = 0;
  unsigned char second_low = 0x80, second_high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    width = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    width = 3;
    if (lead == 0xE0) second_low = 0xA0;
    if (lead == 0xED) second_high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    width = 4;
    if (lead == 0xF0) second_low = 0x90;
    if (lead == 0xF4) second_high = 0x8F;
  } else {
    return {1, false};
  }
  if (pos + 1 >= text.size()) return {1, false};
  const auto second = static_cast<unsigned char>(text[pos + 1]);
  if (second < second_low || second > second_high) return {1, false};
  std::size_t length = 2;
  while (length < width) {
    if (pos + length >= text.size() || !is_continuation(static_cast<unsigned char>(text[pos + length])))
      return {length, false};
    ++length;
  }
  return {length, true};
}

}  // namespace

std::size_t find_invalid_utf8(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    // ASCII runs are the common case; skip them eight bytes at a time.
    while (pos + 8 <= text.size()) {
      std::uint64_t chunk;
      std::memcpy(&chunk, text.data() + pos, 8);
      if (chunk & 0x8080808080808080ull) break;
      pos += 8;
    }
    if (pos >= text.size()) break;
    const auto check = check_sequence(text, pos);
    if (!check.complete) return pos;
    pos += check.length;
  }
  return std::string_view::npos;
}

char32_t next_code_point(std::string_view text, std::size_t& pos) {
  const auto lead = static_cast<unsigned char>(text[pos]);
  if (lead < 0x80) {
    ++pos;
    return lead;
  }
  const std::size_t width = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
  char32_t code_point = lead & (0x7F >> width);
  for (std::size_t i = 1; i < width; ++i) code_point = (code_point << 6) | (text[pos + i] & 0x3F);
  pos += width;
  return code_point;
}

char32_t previous_code_point(std::string_view text, std::size_t& end) {
  std::size_t start = end - 1;
  while (start > 0 && is_continuation(static_cast<unsigned char>(text[start]))) --start;
  std::size_t pos = start;
  const char32_t code_point = next_code_point(text, pos);
  end = start;
  return code_point;
}

void append_utf8(std::string& out, char32_t code_point) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

void append_utf8_lossy(std::string& out, std::string_view bytes) {
  std::size_t valid_from = 0, pos = 0;
  while (pos < bytes.size()) {
    const auto check = check_sequence(bytes, pos);
    if (check.complete) {
      pos += check.length;
      continue;
    }
    out.append(bytes.data() + valid_from, pos - valid_from);
    append_utf8(out, kReplacementCharacter);
    pos += check.length;
    valid_from = pos;
  }
  out.append(bytes.data() + valid_from, pos - valid_from);
}

bool is_unicode_whitespace(char32_t c) {
  if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D);
  if (c < 0x85) return false;
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
         c == 0x202F || c == 0x205F || c == 0x3000;
}

}  // namespace moulin::tokenizer_detail
