#include "tests/report/xml_check.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>

#include <fmt/format.h>

#include "report/text_escape.h"

namespace moulin::test {
namespace {

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.'; }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string utf8_of(unsigned long code_point) {
  std::string out;
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
  return out;
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  XmlDocument parse() {
    if (report::utf8_repaired(text_) != text_) fail("ill-formed UTF-8");
    skip_prolog();
    if (!starts_with("<") || at_end()) fail("no root element");
    parse_element(0);
    skip_misc();
    if (!at_end()) fail("content after the root element");
    return std::move(document_);
  }

 private:
  [[noreturn]] void fail(std::string_view what) const {
    const std::size_t from = position_ > 30 ? position_ - 30 : 0;
    throw std::runtime_error(
        fmt::format("XML not well-formed at byte {}: {} (near \"{}\")", position_, what, text_.substr(from, 60)));
  }
  bool at_end() const { return position_ >= text_.size(); }
  bool starts_with(std::string_view prefix) const { return text_.substr(position_, prefix.size()) == prefix; }
  void expect(std::string_view prefix) {
    if (!starts_with(prefix)) fail(fmt::format("expected \"{}\"", prefix));
    position_ += prefix.size();
  }
  void skip_spaces() {
    while (!at_end() && is_space(text_[position_])) ++position_;
  }
  void skip_past(std::string_view terminator) {
    const std::size_t end = text_.find(terminator, position_);
    if (end == std::string_view::npos) fail(fmt::format("unterminated construct, no \"{}\"", terminator));
    position_ = end + terminator.size();
  }
  void skip_comment() {
    expect("<!--");
    const std::size_t end = text_.find("--", position_);
    if (end == std::string_view::npos || text_.substr(end, 3) != "-->") fail("\"--\" inside a comment");
    position_ = end + 3;
  }
  // Whitespace, comments and processing instructions, allowed around the root element.
  void skip_misc() {
    for (;;) {
      skip_spaces();
      if (starts_with("<!--")) {
        skip_comment();
      } else if (starts_with("<?")) {
        skip_past("?>");
      } else {
        return;
      }
    }
  }
  void skip_prolog() {
    skip_misc();
    if (starts_with("<!DOCTYPE")) {
      skip_past(">");  // no internal subsets in what the report writes
      skip_misc();
    }
  }

  std::string parse_name() {
    if (at_end() || !is_name_start(text_[position_])) fail("expected a name");
    const std::size_t start = position_;
    while (!at_end() && is_name_char(text_[position_])) ++position_;
    return std::string(text_.substr(start, position_ - start));
  }

  // Character data up to the next '<' (or the closing quote for attribute values), references decoded.
  std::string parse_character_data(char stop, bool in_attribute) {
    std::string out;
    while (!at_end() && text_[position_] != stop) {
      const char c = text_[position_];
      if (c == '<') fail("'<' inside an attribute value");
      if (c == '&') {
        out += parse_reference();
        continue;
      }
      if (!in_attribute && c == '>' && position_ >= 2 && text_.substr(position_ - 2, 3) == "]]>")
        fail("\"]]>\" in character data");
      const auto byte = static_cast<unsigned char>(c);
      if (byte < 0x20 && c != '\t' && c != '\n' && c != '\r') fail("control character");
      out += c;
      ++position_;
    }
    return out;
  }

  std::string parse_reference() {
    expect("&");
    const std::size_t end = text_.find(';', position_);
    if (end == std::string_view::npos || end - position_ > 10) fail("'&' not starting a reference");
    const std::string_view name = text_.substr(position_, end - position_);
    position_ = end + 1;
    static const std::map<std::string_view, std::string_view> kPredefined = {
        {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}};
    if (const auto found = kPredefined.find(name); found != kPredefined.end()) return std::string(found->second);
    if (name.size() > 1 && name[0] == '#') {
      const bool hex = name[1] == 'x';
      const std::string digits(name.substr(hex ? 2 : 1));
      if (digits.empty() ||
          digits.find_first_not_of(hex ? "0123456789abcdefABCDEF" : "0123456789") != std::string::npos)
        fail("malformed character reference");
      const unsigned long code_point = std::stoul(digits, nullptr, hex ? 16 : 10);
      if ((code_point < 0x20 && code_point != 9 && code_point != 10 && code_point != 13) || code_point > 0x10FFFF ||
          (code_point >= 0xD800 && code_point <= 0xDFFF))
        fail("character reference to a character XML forbids");
      return utf8_of(code_point);
    }
    fail(fmt::format("unknown entity '{}'", name));
  }

  void parse_element(std::size_t depth) {
    expect("<");
    XmlElement element;
    element.name = parse_name();
    element.depth = depth;
    for (;;) {
      const bool had_space = !at_end() && is_space(text_[position_]);
      skip_spaces();
      if (at_end()) fail("unterminated start tag");
      if (starts_with("/>") || starts_with(">")) break;
      if (!had_space) fail("attributes must be separated by whitespace");
      const std::string attribute = parse_name();
      skip_spaces();
      expect("=");
      skip_spaces();
      if (at_end() || (text_[position_] != '"' && text_[position_] != '\'')) fail("attribute value not quoted");
      const char quote = text_[position_++];
      std::string value = parse_character_data(quote, /*in_attribute=*/true);
      expect(std::string_view(&quote, 1));
      if (!element.attributes.emplace(attribute, std::move(value)).second)
        fail(fmt::format("attribute '{}' repeated", attribute));
    }
    const std::size_t index = document_.elements.size();
    document_.elements.push_back(std::move(element));
    if (starts_with("/>")) {
      position_ += 2;
      return;
    }
    expect(">");
    for (;;) {
      if (at_end()) fail(fmt::format("element <{}> never closed", document_.elements[index].name));
      if (starts_with("</")) break;
      if (starts_with("<!--")) {
        skip_comment();
      } else if (starts_with("<![CDATA[")) {
        position_ += 9;
        const std::size_t end = text_.find("]]>", position_);
        if (end == std::string_view::npos) fail("unterminated CDATA section");
        document_.elements[index].text += std::string(text_.substr(position_, end - position_));
        position_ = end + 3;
      } else if (starts_with("<?")) {
        skip_past("?>");
      } else if (starts_with("<")) {
        parse_element(depth + 1);
      } else {
        document_.elements[index].text += parse_character_data('<', /*in_attribute=*/false);
      }
    }
    expect("</");
    const std::string closing = parse_name();
    if (closing != document_.elements[index].name)
      fail(fmt::format("</{}> closes <{}>", closing, document_.elements[index].name));
    skip_spaces();
    expect(">");
  }

  std::string_view text_;
  std::size_t position_ = 0;
  XmlDocument document_;
};

}  // namespace

bool XmlElement::has_class(std::string_view class_name) const {
  const auto found = attributes.find("class");
  if (found == attributes.end()) return false;
  const std::string& classes = found->second;
  std::size_t start = 0;
  while (start < classes.size()) {
    std::size_t end = classes.find(' ', start);
    if (end == std::string::npos) end = classes.size();
    if (std::string_view(classes).substr(start, end - start) == class_name) return true;
    start = end + 1;
  }
  return false;
}

std::string XmlElement::attribute(const std::string& attribute_name) const {
  const auto found = attributes.find(attribute_name);
  return found == attributes.end() ? std::string() : found->second;
}

XmlDocument parse_xml(std::string_view text) { return Parser(text).parse(); }

std::vector<const XmlElement*> find_elements(const XmlDocument& document, std::string_view name,
                                             std::string_view class_name) {
  std::vector<const XmlElement*> found;
  for (const auto& element : document.elements)
    if ((name.empty() || element.name == name) && (class_name.empty() || element.has_class(class_name)))
      found.push_back(&element);
  return found;
}

std::size_t count_elements(const XmlDocument& document, std::string_view name, std::string_view class_name) {
  return find_elements(document, name, class_name).size();
}

std::optional<std::string> xmllint_errors(const std::filesystem::path& file) {
  if (std::system("command -v xmllint >/dev/null 2>&1") != 0) return std::nullopt;
  const std::string command = fmt::format("xmllint --noout '{}' 2>&1", file.string());
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  if (!pipe) throw std::runtime_error("cannot run xmllint");
  std::string output;
  std::array<char, 4096> buffer{};
  while (const std::size_t read = std::fread(buffer.data(), 1, buffer.size(), pipe.get()))
    output.append(buffer.data(), read);
  return output;
}

}  // namespace moulin::test
