#include "organisms/man_page_text.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/tokenizer_utf8.h"

namespace moulin::organisms {
namespace {

// Stands for \c in resolved text until the renderer joins lines (a control character never in man text).
constexpr char kJoinMarker = '\x01';

std::string resolve_escapes_marking_joins(std::string_view line);

const std::unordered_map<std::string_view, std::string_view>& special_characters() {
  static const std::unordered_map<std::string_view, std::string_view> names{
      {"em", "—"}, {"en", "–"}, {"hy", "-"},  {"aq", "'"},  {"dq", "\""}, {"lq", "“"}, {"rq", "”"}, {"oq", "‘"},
      {"cq", "’"}, {"Fo", "«"}, {"Fc", "»"},  {"fo", "‹"},  {"fc", "›"},  {"bu", "•"}, {"co", "©"}, {"rg", "®"},
      {"tm", "™"}, {"de", "°"}, {"ha", "^"},  {"ti", "~"},  {"ga", "`"},  {"aa", "´"}, {"mu", "×"}, {"di", "÷"},
      {"+-", "±"}, {"<=", "≤"}, {">=", "≥"},  {"!=", "≠"},  {"->", "→"},  {"<-", "←"}, {"sc", "§"}, {"ps", "¶"},
      {"ru", "_"}, {"ul", "_"}, {"rs", "\\"}, {"sl", "/"},  {"ba", "|"},  {"br", "|"}, {"Eu", "€"}, {"eu", "€"},
      {"ct", "¢"}, {"Po", "£"}, {"Ye", "¥"},  {"ss", "ß"},  {"'e", "é"},  {"'a", "á"}, {"`e", "è"}, {"`a", "à"},
      {"^e", "ê"}, {"^a", "â"}, {"^o", "ô"},  {"^i", "î"},  {"^u", "û"},  {":e", "ë"}, {":i", "ï"}, {":u", "ü"},
      {":o", "ö"}, {":a", "ä"}, {",c", "ç"},  {"'E", "É"},  {"`E", "È"},  {",C", "Ç"}, {":A", "Ä"}, {":O", "Ö"},
      {":U", "Ü"}, {"oe", "œ"}, {"OE", "Œ"},  {"ae", "æ"},  {"AE", "Æ"},  {"'o", "ó"}, {"'i", "í"}, {"'u", "ú"},
      {"~n", "ñ"}, {"`u", "ù"}, {"`A", "À"},  {"^E", "Ê"},  {"lh", "☜"},  {"rh", "☞"}, {"%0", "‰"}, {"or", "|"},
      {"ua", "↑"}, {"da", "↓"}, {"pl", "+"},  {"mi", "−"},  {"eq", "="},  {"**", "*"}, {"at", "@"},
      {"sh", "#"}, {"Do", "$"}, {"lB", "["},  {"rB", "]"},  {"lC", "{"},  {"rC", "}"}, {"la", "⟨"}, {"ra", "⟩"},
      {"dg", "†"}, {"ip", "∞"}, {"if", "∞"},  {"14", "¼"},  {"12", "½"},  {"34", "¾"}, {"r!", "¡"}, {"r?", "¿"},
      {"Bq", "„"}, {"bq", "‚"}, {"fm", "′"},  {"sd", "″"},  {"OK", "✓"}};
  return names;
}

// Strings that man, pod2man and po4a define and text uses: quotes and the like. Others expand to nothing.
const std::unordered_map<std::string_view, std::string_view>& known_strings() {
  static const std::unordered_map<std::string_view, std::string_view> names{
      {"lq", "“"}, {"rq", "”"}, {"L\"", "“"}, {"R\"", "”"}, {"C`", "“"}, {"C'", "”"},
      {"Tm", "™"}, {"R", "®"},  {"Aq", "'"},  {"aq", "'"},  {"Fo", "«"}, {"Fc", "»"}};
  return names;
}

// Reads an escape's name after `\X`: "(xx", "[name]" or one character. Moves pos past it.
std::string_view read_escape_name(std::string_view line, std::size_t& pos) {
  if (pos >= line.size()) return {};
  if (line[pos] == '(') {
    const auto name = line.substr(pos + 1, 2);
    pos = std::min(line.size(), pos + 3);
    return name;
  }
  if (line[pos] == '[') {
    const auto end = line.find(']', pos + 1);
    const auto stop = end == std::string_view::npos ? line.size() : end;
    const auto name = line.substr(pos + 1, stop - pos - 1);
    pos = end == std::string_view::npos ? line.size() : end + 1;
    return name;
  }
  // A multi-byte UTF-8 character is one name too.
  auto end = pos + 1;
  while (end < line.size() && (static_cast<unsigned char>(line[end]) & 0xC0) == 0x80) ++end;
  const auto name = line.substr(pos, end - pos);
  pos = end;
  return name;
}

// Skips a delimited argument such as 'xyz' in \h'3n' (the delimiter is whatever character follows).
void skip_delimited(std::string_view line, std::size_t& pos) {
  if (pos >= line.size()) return;
  const char delimiter = line[pos];
  const auto end = line.find(delimiter, pos + 1);
  pos = end == std::string_view::npos ? line.size() : end + 1;
}

void append_special(std::string& out, std::string_view name) {
  if (const auto found = special_characters().find(name); found != special_characters().end()) {
    out += found->second;
    return;
  }
  // \[u00E9] and \[char233] name code points; composite names like u0065_0301 keep their first character.
  std::uint32_t code_point = 0;
  bool valid = false;
  if (name.size() >= 5 && name[0] == 'u') {
    valid = true;
    for (std::size_t i = 1; i < name.size() && name[i] != '_'; ++i) {
      const char c = name[i];
      int value;
      if (c >= '0' && c <= '9') value = c - '0';
      else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') value = (c | 0x20) - 'a' + 10;
      else { valid = false; break; }
      code_point = code_point * 16 + static_cast<std::uint32_t>(value);
      if (code_point > 0x10FFFF) { valid = false; break; }
    }
  } else if (name.size() > 4 && name.substr(0, 4) == "char") {
    valid = true;
    for (const char c : name.substr(4)) {
      if (c < '0' || c > '9') { valid = false; break; }
      code_point = code_point * 10 + static_cast<std::uint32_t>(c - '0');
      if (code_point > 0x10FFFF) { valid = false; break; }
    }
  }
  if (valid && code_point >= 0x20 && (code_point < 0xD800 || code_point > 0xDFFF))
    tokenizer_detail::append_utf8(out, code_point);
}

// Section names whose content is not prose or is the same on every page.
bool is_skipped_section(std::string heading) {
  for (auto& c : heading) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  static const std::unordered_set<std::string> names{
      "NOM", "NAME", "SYNOPSIS", "SYNOPSIS ET DESCRIPTION", "SYNTAXE", "RÉSUMÉ", "VOIR AUSSI", "SEE ALSO",
      "TRADUCTION", "TRADUCTEURS", "TRADUCTEUR", "AUTEUR", "AUTEURS", "AUTHOR", "AUTHORS", "AUTHOR(S)",
      "COPYRIGHT", "DROITS D'AUTEUR", "DROIT D'AUTEUR", "COPYRIGHT ET LICENCE", "LICENCE", "LICENSE",
      "SIGNALER DES BOGUES", "RAPPORTER DES BOGUES", "SIGNALEMENT DE BOGUES", "REPORTING BUGS", "COLOPHON",
      "BIBLIOTHÈQUE", "LIBRARY", "ATTRIBUTS", "ATTRIBUTES", "STANDARDS", "CONFORMITÉ", "VERSIONS"};
  return names.count(heading) > 0;
}

// Splits a macro's arguments: white space separates, double quotes group ("" inside quotes is a quote).
std::vector<std::string> split_arguments(std::string_view text) {
  std::vector<std::string> arguments;
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
    if (pos >= text.size()) break;
    std::string argument;
    if (text[pos] == '"') {
      ++pos;
      while (pos < text.size()) {
        if (text[pos] == '"') {
          if (pos + 1 < text.size() && text[pos + 1] == '"') {
            argument += '"';
            pos += 2;
            continue;
          }
          ++pos;
          break;
        }
        argument += text[pos++];
      }
    } else {
      while (pos < text.size() && text[pos] != ' ' && text[pos] != '\t') argument += text[pos++];
    }
    arguments.push_back(std::move(argument));
  }
  return arguments;
}

// Blocks whose content is dropped, from the macro that opens them to the one that closes them.
const std::unordered_map<std::string_view, std::string_view>& skipped_blocks() {
  static const std::unordered_map<std::string_view, std::string_view> blocks{
      {"nf", "fi"}, {"EX", "EE"}, {"Vb", "Ve"}, {"TS", "TE"}, {"EQ", "EN"}, {"PS", "PE"},
      {"SY", "YS"}, {"Bd", "Ed"}, {"G1", "G2"}};
  return blocks;
}

// Requests that only break the current paragraph.
const std::unordered_set<std::string_view>& breaking_requests() {
  static const std::unordered_set<std::string_view> names{"PP", "LP", "P",  "Pp", "Lp", "sp", "br", "RS", "RE",
                                                          "HP", "in", "ti", "bp", "Bl", "El", "Sp", "ne", "PD"};
  return names;
}

// Font macros: the arguments are the text; the alternating ones join them without spaces.
bool is_font_macro(std::string_view name, bool& alternating) {
  static const std::unordered_set<std::string_view> single{"B", "I", "SM", "SB", "R"};
  static const std::unordered_set<std::string_view> alternate{"BR", "BI", "IB", "IR", "RB", "RI"};
  alternating = alternate.count(name) > 0;
  return alternating || single.count(name) > 0;
}

class ManPageRenderer {
 public:
  void line(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!definition_end_.empty()) {
      if (line.substr(0, definition_end_.size()) == definition_end_) definition_end_.clear();
      return;
    }
    if (brace_depth_ > 0) {
      count_braces(line);
      return;
    }
    const bool control = !line.empty() && (line[0] == '.' || line[0] == '\'');
    if (!block_end_.empty()) {
      if (control && macro_name(line) == block_end_) block_end_.clear();
      return;
    }
    if (control) {
      request(line);
    } else {
      text(line);
    }
  }

  std::string finish() {
    end_paragraph();
    return std::move(out_);
  }

 private:
  static std::string_view macro_name(std::string_view line) {
    std::size_t pos = 1;
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
    auto end = pos;
    // A backslash ends the name too: ".el\{" is .el, ".\"" is a comment.
    if (pos < line.size() && line[pos] == '\\') return {};
    while (end < line.size() && line[end] != ' ' && line[end] != '\t' && line[end] != '\\') ++end;
    return line.substr(pos, end - pos);
  }

  void count_braces(std::string_view line) {
    for (auto pos = line.find("\\{"); pos != std::string_view::npos; pos = line.find("\\{", pos + 2)) ++brace_depth_;
    for (auto pos = line.find("\\}"); pos != std::string_view::npos; pos = line.find("\\}", pos + 2))
      if (brace_depth_ > 0) --brace_depth_;
  }

  void request(std::string_view line) {
    const auto name = macro_name(line);
    if (name.empty()) {  // ".", ".\" comment", "'\" comment", or a conditional's ".\}"
      count_braces(line);
      return;
    }
    const auto rest = line.substr(static_cast<std::size_t>(name.data() - line.data()) + name.size());
    if (name == "de" || name == "de1" || name == "am" || name == "ig" || name == "am1") {
      // A definition ends at ".." (or at ".END" when .ig names an end macro).
      const auto arguments = split_arguments(rest);
      definition_end_ = (name == "ig" && !arguments.empty()) ? "." + arguments[0] : "..";
      if (name != "ig" && arguments.size() > 1) definition_end_ = "." + arguments[1];
      return;
    }
    if (name == "if" || name == "ie" || name == "el" || name == "while") {
      count_braces(line);
      return;
    }
    if (const auto block = skipped_blocks().find(name); block != skipped_blocks().end()) {
      end_paragraph();
      block_end_ = std::string(block->second);
      return;
    }
    if (name == "SH" || name == "SS" || name == "Sh" || name == "Ss") {
      end_paragraph();
      pending_tag_ = false;
      if (name == "SH" || name == "Sh")
        skipping_section_ = is_skipped_section(resolve_escapes_marking_joins(join(rest, " ")));
      return;
    }
    if (name == "TP" || name == "TQ") {
      end_paragraph();
      pending_tag_ = true;
      return;
    }
    if (name == "IP" || name == "It") {  // the tag is the argument (a bullet, a number, an option)
      end_paragraph();
      return;
    }
    if (name == "RS" && looks_like_tag()) {
      // DocBook's man pages write a tagged paragraph as ".PP", the tag, then the description indented by ".RS".
      current_.clear();
      lines_in_paragraph_ = 0;
      return;
    }
    if (breaking_requests().count(name)) {
      end_paragraph();
      return;
    }
    if (name == "UR" || name == "MT") return;  // the URL is not prose; the link text follows
    if (name == "UE" || name == "ME") {  // trailing punctuation after the link
      append(resolve_escapes_marking_joins(join(rest, "")), false);
      return;
    }
    if (name == "URL") {  // .URL url [text [trailer]]
      const auto arguments = split_arguments(rest);
      if (arguments.size() > 1) append(resolve_escapes_marking_joins(arguments[1]), true);
      if (arguments.size() > 2) append(resolve_escapes_marking_joins(arguments[2]), false);
      return;
    }
    bool alternating = false;
    if (is_font_macro(name, alternating)) {
      const auto text = join(rest, alternating ? "" : " ");
      if (text.empty()) return;  // the font applies to the next line, which is text (or a tag) as usual
      if (pending_tag_) {
        pending_tag_ = false;
        return;
      }
      append(resolve_escapes_marking_joins(text), true);
      return;
    }
    // Everything else sets up typesetting (.TH, .ft, .nh, .ad, .ds, .nr, .so, .IX ...) or is an mdoc macro whose
    // pieces do not read as prose on their own.
  }

  static std::string join(std::string_view rest, std::string_view separator) {
    std::string joined;
    for (const auto& argument : split_arguments(rest)) {
      if (!joined.empty()) joined += separator;
      joined += argument;
    }
    return joined;
  }

  void text(std::string_view line) {
    if (pending_tag_) {
      pending_tag_ = false;
      return;
    }
    if (line.empty()) {  // a blank line in roff is a paragraph break
      end_paragraph();
      return;
    }
    if (line[0] == ' ' || line[0] == '\t') end_paragraph();  // leading space breaks the line
    append(resolve_escapes_marking_joins(line), true);
  }

  // One line that does not end a sentence or announce what follows: an option name, a field, a term.
  bool looks_like_tag() const {
    if (lines_in_paragraph_ != 1 || current_.empty()) return false;
    auto end = current_.find_last_not_of(' ');
    if (end == std::string::npos) return false;
    const char last = current_[end];
    return last != '.' && last != ':' && last != ';' && last != '!' && last != '?';
  }

  // An option list entry that lost its tag macro: "-c, --core[=limites]".
  static bool is_option_line(const std::string& paragraph) {
    if (paragraph.empty() || paragraph[0] != '-' || paragraph.back() == '.') return false;
    std::size_t words = 1;
    for (const char c : paragraph) words += c == ' ' ? 1 : 0;
    return words < 6;
  }

  void append(const std::string& piece, bool spaced) {
    if (skipping_section_ || piece.empty()) return;
    ++lines_in_paragraph_;
    if (spaced && !current_.empty() && !join_next_) current_ += ' ';
    // \c at the end of a line continues the word on the next line; elsewhere it means nothing.
    join_next_ = piece.back() == kJoinMarker;
    for (const char c : piece)
      if (c != kJoinMarker) current_ += c;
  }

  void end_paragraph() {
    join_next_ = false;
    lines_in_paragraph_ = 0;
    // Collapse the spaces that joining and escapes leave.
    std::string tidy;
    for (const char c : current_) {
      if (c == ' ' || c == '\t') {
        if (!tidy.empty() && tidy.back() != ' ') tidy += ' ';
      } else {
        tidy += c;
      }
    }
    while (!tidy.empty() && tidy.back() == ' ') tidy.pop_back();
    current_.clear();
    if (tidy.empty() || is_option_line(tidy)) return;
    if (!out_.empty()) out_ += "\n\n";
    out_ += tidy;
  }

  std::string out_;
  std::string current_;
  std::string definition_end_;  // inside .de/.ig until this line
  std::string block_end_;       // inside a skipped block until this macro
  int brace_depth_ = 0;         // inside a conditional's \{ ... \}
  bool skipping_section_ = false;
  bool pending_tag_ = false;  // the next text line is a .TP tag
  bool join_next_ = false;    // the previous line ended in \c
  int lines_in_paragraph_ = 0;
};

std::string resolve_escapes_marking_joins(std::string_view line) {
  std::string out;
  out.reserve(line.size());
  std::size_t pos = 0;
  while (pos < line.size()) {
    const char c = line[pos++];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (pos >= line.size()) break;  // a line continuation
    const char escape = line[pos++];
    switch (escape) {
      case '"':
      case '#':
        return out;  // comment to the end of the line
      case '\\':
      case 'e':
      case 'E':
        out += '\\';
        break;
      case '-':
        out += '-';
        break;
      case '.':
        out += '.';
        break;
      case '\'':
        out += '\'';
        break;
      case '`':
        out += '`';
        break;
      case ' ':
      case '~':
      case '0':
      case 't':
        out += ' ';
        break;
      case '&': case '|': case '^': case ')': case ',': case '/': case '%': case ':': case '{': case '}':
      case 'a': case 'd': case 'r': case 'u': case 'p': case 'z':
        break;
      case 'c':
        out += kJoinMarker;  // joins with the next line; append() consumes the marker
        break;
      case '(':
      case '[': {
        --pos;
        append_special(out, read_escape_name(line, pos));
        break;
      }
      case 'C': {
        const auto start = pos;
        skip_delimited(line, pos);
        if (pos > start + 1) append_special(out, line.substr(start + 1, pos - start - 2));
        break;
      }
      case '*': {
        if (pos < line.size() && line[pos] == '[') {
          const auto name = read_escape_name(line, pos);
          if (const auto found = known_strings().find(name.substr(0, name.find(' '))); found != known_strings().end())
            out += found->second;
        } else {
          const auto name = read_escape_name(line, pos);
          if (const auto found = known_strings().find(name); found != known_strings().end()) out += found->second;
        }
        break;
      }
      case 'f': case 'F': case 'n': case 'g': case 'k': case 'm': case 'M': case 'Y': case 'V': case '$': {
        if (escape == 'n' && pos < line.size() && (line[pos] == '+' || line[pos] == '-')) ++pos;
        read_escape_name(line, pos);
        break;
      }
      case 's': {
        if (pos < line.size() && (line[pos] == '+' || line[pos] == '-')) ++pos;
        if (pos < line.size() && (line[pos] == '(' || line[pos] == '[' || line[pos] == '\'')) {
          if (line[pos] == '\'') skip_delimited(line, pos);
          else read_escape_name(line, pos);
        } else {
          // \s0, \s1, \s12: at most two digits, and 1-3 only start two-digit sizes.
          if (pos < line.size() && line[pos] >= '0' && line[pos] <= '9') {
            const bool two = line[pos] >= '1' && line[pos] <= '3' && pos + 1 < line.size() && line[pos + 1] >= '0' &&
                             line[pos + 1] <= '9';
            pos += two ? 2 : 1;
          }
        }
        break;
      }
      case 'h': case 'v': case 'w': case 'o': case 'l': case 'L': case 'N': case 'D': case 'X': case 'Z':
      case 'b': case 'x': case 'R': case 'A': case 'B': case 'S': case 'H': case 'O':
        skip_delimited(line, pos);
        break;
      default:
        out += escape;  // an unknown escape prints its character
        break;
    }
  }
  return out;
}

}  // namespace

std::string resolve_roff_escapes(std::string_view line) {
  auto text = resolve_escapes_marking_joins(line);
  text.erase(std::remove(text.begin(), text.end(), kJoinMarker), text.end());
  return text;
}

std::string man_page_to_text(std::string_view roff) {
  ManPageRenderer renderer;
  std::string joined;  // a line ending in a single backslash continues on the next
  std::size_t start = 0;
  while (start < roff.size()) {
    auto end = roff.find('\n', start);
    if (end == std::string_view::npos) end = roff.size();
    auto line = roff.substr(start, end - start);
    start = end + 1;
    std::size_t trailing = 0;
    while (trailing < line.size() && line[line.size() - 1 - trailing] == '\\') ++trailing;
    if (trailing % 2 == 1) {
      joined.append(line.substr(0, line.size() - 1));
      continue;
    }
    if (!joined.empty()) {
      joined.append(line);
      renderer.line(joined);
      joined.clear();
    } else {
      renderer.line(line);
    }
  }
  if (!joined.empty()) renderer.line(joined);
  return renderer.finish();
}

}  // namespace moulin::organisms
