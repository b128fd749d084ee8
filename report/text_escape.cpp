#include "report/text_escape.h"

#include <cstdint>
#include <cstring>

namespace moulin::report {
namespace {

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

// What Unicode table 3-7 allows after a lead byte: the sequence length (0 for a byte that cannot lead) and the
// range of the second byte, narrower than 80..BF where overlong forms, surrogates or values past U+10FFFF start.
struct SequenceRule {
  std::size_t length = 0;
  std::uint8_t second_low = 0x80;
  std::uint8_t second_high = 0xBF;
};

SequenceRule sequence_rule(std::uint8_t lead) {
  if (lead < 0x80) return {1};
  if (lead >= 0xC2 && lead <= 0xDF) return {2};
  if (lead == 0xE0) return {3, 0xA0, 0xBF};
  if (lead == 0xED) return {3, 0x80, 0x9F};
  if (lead >= 0xE1 && lead <= 0xEF) return {3};
  if (lead == 0xF0) return {4, 0x90, 0xBF};
  if (lead >= 0xF1 && lead <= 0xF3) return {4};
  if (lead == 0xF4) return {4, 0x80, 0x8F};
  return {};
}

bool is_continuation(std::uint8_t byte) { return byte >= 0x80 && byte <= 0xBF; }

// The bytes the sequence at text[at] spans: its length when well-formed (`well_formed` set), else its maximal
// ill-formed subpart (at least 1 byte), so that a truncated character becomes one U+FFFD rather than several.
std::size_t sequence_length(std::string_view text, std::size_t at, bool& well_formed) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(text[i]); };
  const SequenceRule rule = sequence_rule(byte(at));
  well_formed = false;
  if (rule.length == 1) {
    well_formed = true;
    return 1;
  }
  if (rule.length == 0 || at + 1 >= text.size() || byte(at + 1) < rule.second_low || byte(at + 1) > rule.second_high)
    return 1;
  std::size_t length = 2;
  while (length < rule.length && at + length < text.size() && is_continuation(byte(at + length))) ++length;
  well_formed = length == rule.length;
  return length;
}

// Calls visit(code_point_bytes) for each code point of the repaired text.
template <typename Visit>
void for_each_code_point(std::string_view text, Visit visit) {
  std::size_t at = 0;
  while (at < text.size()) {
    bool well_formed = false;
    const std::size_t length = sequence_length(text, at, well_formed);
    visit(well_formed ? text.substr(at, length) : kReplacementCharacter);
    at += length;
  }
}

// Code points XML 1.0 forbids or that no reader expects: C0 controls but tab, line feed and carriage return,
// DEL, and the noncharacters U+FFFE and U+FFFF.
bool forbidden_in_xml(std::string_view code_point) {
  if (code_point.size() == 1) {
    const auto c = static_cast<unsigned char>(code_point[0]);
    return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F;
  }
  return code_point == "\xEF\xBF\xBE" || code_point == "\xEF\xBF\xBF";
}

// Escaped anywhere: emphasis, code spans, links and images, raw HTML and entities, ATX headings, tables and
// strikethrough. CommonMark lets any ASCII punctuation be backslash-escaped, so over-escaping is harmless.
bool is_inline_markup(char c) { return c != '\0' && std::strchr("\\`*_[]<>#|~&!", c) != nullptr; }

}  // namespace

std::string utf8_repaired(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for_each_code_point(text, [&](std::string_view code_point) { out += code_point; });
  return out;
}

std::size_t utf8_length(std::string_view text) {
  std::size_t count = 0;
  for_each_code_point(text, [&](std::string_view) { ++count; });
  return count;
}

std::string utf8_truncated(std::string_view text, std::size_t max_code_points) {
  if (utf8_length(text) <= max_code_points) return utf8_repaired(text);
  std::string out;
  std::size_t count = 0;
  const std::size_t keep = max_code_points > 0 ? max_code_points - 1 : 0;
  for_each_code_point(text, [&](std::string_view code_point) {
    if (count++ < keep) out += code_point;
  });
  if (max_code_points > 0) out += "\xE2\x80\xA6";  // …
  return out;
}

std::string utf8_truncated_middle(std::string_view text, std::size_t max_code_points) {
  const std::size_t length = utf8_length(text);
  if (length <= max_code_points) return utf8_repaired(text);
  if (max_code_points < 3) return utf8_truncated(text, max_code_points);
  // The start of a label usually identifies it best, so it keeps the larger share.
  const std::size_t kept = max_code_points - 1;
  const std::size_t head = (kept * 3 + 4) / 5;
  const std::size_t tail_start = length - (kept - head);
  std::string out;
  std::size_t index = 0;
  for_each_code_point(text, [&](std::string_view code_point) {
    if (index < head) out += code_point;
    if (index == head) out += "\xE2\x80\xA6";
    if (index >= tail_start) out += code_point;
    ++index;
  });
  return out;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for_each_code_point(text, [&](std::string_view code_point) {
    if (forbidden_in_xml(code_point)) {
      out += kReplacementCharacter;
      return;
    }
    switch (code_point[0]) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += code_point;
    }
  });
  return out;
}

std::string markdown_escape_inline(std::string_view text) {
  const std::string clean = utf8_repaired(single_line(text));
  std::string out;
  out.reserve(clean.size() + clean.size() / 4);
  for (const char c : clean) {
    if (is_inline_markup(c)) out += '\\';
    out += c;
  }
  return out;
}

std::string markdown_escape(std::string_view text) {
  const std::string clean = utf8_repaired(text);
  std::string out;
  out.reserve(clean.size() + clean.size() / 4);
  bool at_line_start = true;
  for (std::size_t i = 0; i < clean.size(); ++i) {
    const char c = clean[i];
    if (c == '\r') continue;
    if (c == '\n') {
      out += '\n';
      at_line_start = true;
      continue;
    }
    if (at_line_start) {
      // Leading indentation would start an indented code block; a leading -, + or = a list item, a thematic
      // break or a setext heading underline; "12." or "12)" an ordered list item.
      if (c == ' ' || c == '\t') continue;
      at_line_start = false;
      if (c == '-' || c == '+' || c == '=') {
        out += '\\';
      } else if (c >= '0' && c <= '9') {
        std::size_t end = i;
        while (end < clean.size() && clean[end] >= '0' && clean[end] <= '9') ++end;
        out.append(clean, i, end - i);
        i = end - 1;
        if (end < clean.size() && (clean[end] == '.' || clean[end] == ')')) {
          out += '\\';
          out += clean[end];
          i = end;
        }
        continue;
      }
    }
    if (is_inline_markup(c)) out += '\\';
    out += c;
  }
  return out;
}

std::string single_line(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool in_break = false;
  for (const char c : text) {
    if (c == '\n' || c == '\r' || c == '\t') {
      if (!in_break) out += ' ';
      in_break = true;
    } else {
      out += c;
      in_break = false;
    }
  }
  return out;
}

}  // namespace moulin::report
