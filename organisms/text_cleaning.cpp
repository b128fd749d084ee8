#include "organisms/text_cleaning.h"

#include <algorithm>

#include "core/tokenizer_utf8.h"

namespace moulin::organisms {
namespace {

using tokenizer_detail::append_utf8;
using tokenizer_detail::find_invalid_utf8;
using tokenizer_detail::next_code_point;

bool is_letter(char32_t c) {
  if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
  if (c < 0xC0) return false;                      // Latin-1 punctuation and symbols
  if (c == 0xD7 || c == 0xF7) return false;        // multiplication and division signs
  if (c < 0x2000) return true;                     // Latin, Greek, Cyrillic, ... letters
  if (c < 0x2C00) return false;                    // punctuation, symbols, arrows, box drawing
  if (c >= 0x3000 && c < 0x3040) return false;     // CJK punctuation
  if (c >= 0xE000 && c < 0xF900) return false;     // private use
  if (c >= 0xFE00 && c < 0xFE70) return false;     // variation selectors, presentation punctuation
  return c < 0x1F000;                              // emoji and symbols above are no language either
}

// Spaces that word processors and translators leave (no-break, narrow, thin) become plain spaces; invisible
// characters (zero-width space, byte order mark, soft hyphen) go.
enum class SpaceClass { kKeep, kSpace, kDrop };
SpaceClass classify(char32_t c) {
  if (c == '\t' || c == 0xA0 || c == 0x202F || (c >= 0x2000 && c <= 0x200A) || c == 0x3000) return SpaceClass::kSpace;
  if (c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0)) return SpaceClass::kDrop;
  if (c == 0xAD || c == 0x200B || c == 0x200C || c == 0x200D || c == 0x2060 || c == 0xFEFF) return SpaceClass::kDrop;
  return SpaceClass::kKeep;
}

// One line made tidy: overstrikes resolved ("_\bx" prints as x), odd spaces normalised, runs of spaces collapsed,
// ends trimmed.
std::string tidy_line(std::string_view line) {
  std::string out;
  out.reserve(line.size());
  std::size_t pos = 0;
  while (pos < line.size()) {
    const auto start = pos;
    const char32_t c = next_code_point(line, pos);
    if (c == '\b') {
      // Remove the character the backspace strikes over (a whole UTF-8 sequence).
      while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
      if (!out.empty()) out.pop_back();
      continue;
    }
    switch (classify(c)) {
      case SpaceClass::kSpace:
        if (!out.empty() && out.back() != ' ') out += ' ';
        break;
      case SpaceClass::kDrop:
        break;
      case SpaceClass::kKeep:
        if (c == ' ') {
          if (!out.empty() && out.back() != ' ') out += ' ';
        } else {
          out.append(line.substr(start, pos - start));
        }
        break;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::size_t count_letters(std::string_view line) {
  std::size_t letters = 0;
  for (std::size_t pos = 0; pos < line.size();) letters += is_letter(next_code_point(line, pos)) ? 1 : 0;
  return letters;
}

bool is_closing_mark(char32_t c) {
  return c == ')' || c == ']' || c == '"' || c == '\'' || c == 0xBB || c == 0x201D || c == 0x2019 || c == 0x203A;
}

bool is_space_byte(char c) { return c == ' ' || c == '\n'; }

// Byte offset just past `max_chars` code points from `start`, or text.size().
std::size_t advance_code_points(std::string_view text, std::size_t start, std::size_t max_chars) {
  std::size_t pos = start;
  for (std::size_t n = 0; n < max_chars && pos < text.size(); ++n) {
    ++pos;
    while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
  }
  return pos;
}

// Cuts one paragraph longer than `max_chars` into pieces of at most `max_chars`, preferring sentence ends, then
// spaces, and cutting inside a word only when a single word is longer than a piece.
std::vector<std::string> cut_long_paragraph(std::string_view text, std::size_t max_chars) {
  const auto ends = sentence_ends(text);
  std::vector<std::string> pieces;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto limit = advance_code_points(text, start, max_chars);
    std::size_t cut = limit;
    if (limit < text.size()) {
      // The last sentence end within the limit, if it keeps at least a quarter of a piece.
      const auto minimum = advance_code_points(text, start, max_chars / 4);
      const auto it = std::upper_bound(ends.begin(), ends.end(), limit);
      if (it != ends.begin() && *(it - 1) > minimum) {
        cut = *(it - 1);
      } else {
        // When the character at the limit is a space, the cut falls on a word boundary as is.
        std::size_t space = limit;
        while (space > start && !is_space_byte(text[space])) --space;
        if (space > start) cut = space;
      }
    }
    std::string_view piece = text.substr(start, cut - start);
    while (!piece.empty() && is_space_byte(piece.back())) piece.remove_suffix(1);
    if (!piece.empty()) pieces.emplace_back(piece);
    start = cut;
    while (start < text.size() && is_space_byte(text[start])) ++start;
  }
  return pieces;
}

}  // namespace

std::string to_valid_utf8(std::string bytes) {
  if (find_invalid_utf8(bytes) == std::string_view::npos) return bytes;
  std::string converted;
  converted.reserve(bytes.size() + bytes.size() / 8);
  for (const char c : bytes) append_utf8(converted, static_cast<unsigned char>(c));
  return converted;
}

std::size_t utf8_length(std::string_view text) {
  std::size_t count = 0;
  for (const char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return count;
}

double letter_ratio(std::string_view line) {
  std::size_t letters = 0, visible = 0;
  for (std::size_t pos = 0; pos < line.size();) {
    const char32_t c = next_code_point(line, pos);
    if (c == ' ' || c == '\t' || c == '\n') continue;
    ++visible;
    letters += is_letter(c) ? 1 : 0;
  }
  return visible == 0 ? 0.0 : static_cast<double>(letters) / static_cast<double>(visible);
}

std::vector<std::string> clean_paragraphs(std::string_view text) {
  std::vector<std::string> paragraphs;
  std::string current;
  const auto end_paragraph = [&] {
    if (!current.empty()) paragraphs.push_back(std::move(current));
    current.clear();
  };
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const auto line = tidy_line(text.substr(start, end - start));
    if (line.empty() || count_letters(line) < 3 || letter_ratio(line) < kMinLetterRatio) {
      end_paragraph();
    } else {
      if (!current.empty()) current += '\n';
      current += line;
    }
    start = end + 1;
  }
  end_paragraph();
  return paragraphs;
}

std::vector<std::string> pack_documents(const std::vector<std::string>& paragraphs, std::size_t min_chars,
                                        std::size_t max_chars) {
  std::vector<std::string> documents;
  std::string current;
  std::size_t current_chars = 0;
  const auto flush = [&] {
    if (current_chars >= min_chars && !current.empty()) documents.push_back(std::move(current));
    current.clear();
    current_chars = 0;
  };
  const auto append = [&](std::string_view paragraph, std::size_t chars) {
    if (!current.empty() && current_chars + 2 + chars > max_chars) flush();
    if (!current.empty()) {
      current += "\n\n";
      current_chars += 2;
    }
    current += paragraph;
    current_chars += chars;
  };
  for (const auto& paragraph : paragraphs) {
    const auto chars = utf8_length(paragraph);
    if (chars <= max_chars) {
      append(paragraph, chars);
      continue;
    }
    flush();
    auto pieces = cut_long_paragraph(paragraph, max_chars);
    // The last piece may share a document with the paragraphs that follow.
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      append(pieces[i], utf8_length(pieces[i]));
      if (i + 1 < pieces.size()) flush();
    }
  }
  flush();
  return documents;
}

std::vector<std::size_t> sentence_ends(std::string_view text) {
  std::vector<std::size_t> ends;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const char32_t c = next_code_point(text, pos);
    if (c != '.' && c != '!' && c != '?' && c != 0x2026) continue;
    // Closing quotes and brackets belong to the sentence they close.
    std::size_t end = pos;
    while (end < text.size()) {
      std::size_t next = end;
      if (!is_closing_mark(next_code_point(text, next))) break;
      end = next;
    }
    if (end == text.size() || is_space_byte(text[end])) {
      if (ends.empty() || ends.back() != end) ends.push_back(end);
      pos = end;
    }
  }
  return ends;
}

}  // namespace moulin::organisms
