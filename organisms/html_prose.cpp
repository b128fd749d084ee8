#include "organisms/html_prose.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "core/tokenizer_utf8.h"

namespace moulin::organisms {
namespace {

// Elements whose whole content is dropped.
const std::unordered_set<std::string_view>& skipped_elements() {
  static const std::unordered_set<std::string_view> names{
      "head", "script", "style", "pre", "table", "h1", "h2", "h3", "h4", "h5", "h6", "title", "sup", "nav",
      "header", "footer", "form", "select", "button", "textarea", "noscript", "svg", "math", "object", "iframe"};
  return names;
}

// DocBook classes of navigation and front matter, and of code shown outside <pre>.
const std::unordered_set<std::string_view>& skipped_classes() {
  static const std::unordered_set<std::string_view> names{
      "navheader",   "navfooter",     "toc",          "list-of-tables", "list-of-figures", "list-of-examples",
      "legalnotice", "copyright",     "authorgroup",  "author",         "othercredit",     "revhistory",
      "releaseinfo", "pubdate",       "footnotes",    "indexterm",      "index",           "programlisting",
      "screen",      "literallayout", "synopsis",     "cmdsynopsis",    "funcsynopsis",    "titlepage",
      "bibliography", "glossary",     "table",        "informaltable",  "example",         "informalexample",
      "figure",      "mediaobject"};
  return names;
}

// Elements that start a new paragraph when they open or close.
const std::unordered_set<std::string_view>& block_elements() {
  static const std::unordered_set<std::string_view> names{
      "p",     "div",     "li",    "ul",      "ol",     "dl",      "dt",         "dd",     "br",
      "tr",    "td",      "th",    "caption", "blockquote", "section", "article", "aside", "body",
      "hr",    "center",  "figure", "figcaption", "address", "main", "html"};
  return names;
}

// Elements with no closing tag, which must not count towards a skipped element's nesting.
bool is_void_element(std::string_view name) {
  static const std::unordered_set<std::string_view> names{"area", "base", "br",    "col",   "embed", "hr",    "img",
                                                          "input", "link", "meta", "param", "source", "track", "wbr"};
  return names.count(name) > 0;
}

// Inline elements: skipping one (a footnote marker, an index term) must not split the paragraph around it.
bool is_inline_element(std::string_view name) {
  static const std::unordered_set<std::string_view> names{"a",   "span", "sup", "sub",  "code", "em",  "strong",
                                                          "b",   "i",    "small", "abbr", "acronym", "cite", "kbd",
                                                          "samp", "var", "tt",   "q",    "u",    "s"};
  return names.count(name) > 0;
}

// Raw text elements: their content is not markup and may hold '<'.
bool is_raw_text_element(std::string_view name) { return name == "script" || name == "style"; }

const std::unordered_map<std::string_view, char32_t>& named_entities() {
  static const std::unordered_map<std::string_view, char32_t> entities{
      {"amp", '&'},      {"lt", '<'},       {"gt", '>'},       {"quot", '"'},     {"apos", '\''},
      {"nbsp", 0xA0},    {"shy", 0xAD},     {"copy", 0xA9},    {"reg", 0xAE},     {"trade", 0x2122},
      {"mdash", 0x2014}, {"ndash", 0x2013}, {"hellip", 0x2026}, {"laquo", 0xAB},  {"raquo", 0xBB},
      {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201C}, {"rdquo", 0x201D}, {"bdquo", 0x201E},
      {"sbquo", 0x201A}, {"lsaquo", 0x2039}, {"rsaquo", 0x203A}, {"bull", 0x2022}, {"middot", 0xB7},
      {"deg", 0xB0},     {"sect", 0xA7},    {"para", 0xB6},    {"euro", 0x20AC},  {"pound", 0xA3},
      {"times", 0xD7},   {"divide", 0xF7},  {"plusmn", 0xB1},  {"larr", 0x2190},  {"rarr", 0x2192},
      {"thinsp", 0x2009}, {"ensp", 0x2002}, {"emsp", 0x2003},  {"zwj", 0x200D},   {"zwnj", 0x200C},
      {"iexcl", 0xA1},   {"iquest", 0xBF},  {"szlig", 0xDF},   {"agrave", 0xE0},  {"aacute", 0xE1},
      {"acirc", 0xE2},   {"auml", 0xE4},    {"aelig", 0xE6},   {"ccedil", 0xE7},  {"egrave", 0xE8},
      {"eacute", 0xE9},  {"ecirc", 0xEA},   {"euml", 0xEB},    {"icirc", 0xEE},   {"iuml", 0xEF},
      {"ntilde", 0xF1},  {"ocirc", 0xF4},   {"ouml", 0xF6},    {"oelig", 0x153},  {"ugrave", 0xF9},
      {"uacute", 0xFA},  {"ucirc", 0xFB},   {"uuml", 0xFC},    {"yuml", 0xFF},    {"Agrave", 0xC0},
      {"Aacute", 0xC1},  {"Acirc", 0xC2},   {"Auml", 0xC4},    {"AElig", 0xC6},   {"Ccedil", 0xC7},
      {"Egrave", 0xC8},  {"Eacute", 0xC9},  {"Ecirc", 0xCA},   {"Euml", 0xCB},    {"Icirc", 0xCE},
      {"Iuml", 0xCF},    {"Ocirc", 0xD4},   {"Ouml", 0xD6},    {"OElig", 0x152},  {"Ugrave", 0xD9},
      {"Ucirc", 0xDB},   {"Uuml", 0xDC},    {"iacute", 0xED},  {"oacute", 0xF3},  {"Iacute", 0xCD},
      {"Oacute", 0xD3},  {"Uacute", 0xDA},  {"atilde", 0xE3},  {"otilde", 0xF5},  {"aring", 0xE5}};
  return entities;
}

bool is_valid_code_point(std::uint32_t c) { return c > 0 && c <= 0x10FFFF && (c < 0xD800 || c > 0xDFFF); }

// Decodes the reference starting at text[pos] == '&'; on success appends it and moves pos past the ';'.
bool decode_entity_at(std::string_view text, std::size_t& pos, std::string& out) {
  const auto semicolon = text.find(';', pos + 1);
  if (semicolon == std::string_view::npos || semicolon - pos > 12) return false;
  const auto name = text.substr(pos + 1, semicolon - pos - 1);
  if (name.empty()) return false;
  std::uint32_t code_point = 0;
  if (name[0] == '#') {
    const bool hex = name.size() > 1 && (name[1] == 'x' || name[1] == 'X');
    const auto digits = name.substr(hex ? 2 : 1);
    if (digits.empty()) return false;
    for (const char c : digits) {
      int value;
      if (c >= '0' && c <= '9') value = c - '0';
      else if (hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f') value = (c | 0x20) - 'a' + 10;
      else return false;
      code_point = code_point * (hex ? 16 : 10) + static_cast<std::uint32_t>(value);
      if (code_point > 0x10FFFF) return false;
    }
    if (!is_valid_code_point(code_point)) return false;
  } else {
    const auto found = named_entities().find(name);
    if (found == named_entities().end()) return false;
    code_point = found->second;
  }
  tokenizer_detail::append_utf8(out, code_point);
  pos = semicolon + 1;
  return true;
}

bool is_html_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f'; }

std::string ascii_lower(std::string_view text) {
  std::string lower(text);
  for (auto& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
  return lower;
}

struct Tag {
  std::string name;  // lower case
  bool closing = false;
  bool self_closing = false;
  std::string classes;  // the class attribute, raw
};

// Parses the tag between '<' and '>' (exclusive).
Tag parse_tag(std::string_view inside) {
  Tag tag;
  std::size_t pos = 0;
  if (pos < inside.size() && inside[pos] == '/') {
    tag.closing = true;
    ++pos;
  }
  const auto name_start = pos;
  while (pos < inside.size() && !is_html_space(inside[pos]) && inside[pos] != '/') ++pos;
  tag.name = ascii_lower(inside.substr(name_start, pos - name_start));
  auto rest = inside.substr(pos);
  while (!rest.empty() && is_html_space(rest.back())) rest.remove_suffix(1);
  tag.self_closing = !rest.empty() && rest.back() == '/';
  // Only the class attribute matters; find it with either quote.
  for (std::size_t at = rest.find("class"); at != std::string_view::npos; at = rest.find("class", at + 5)) {
    if (at > 0 && !is_html_space(rest[at - 1])) continue;
    std::size_t value = at + 5;
    while (value < rest.size() && is_html_space(rest[value])) ++value;
    if (value >= rest.size() || rest[value] != '=') continue;
    ++value;
    while (value < rest.size() && is_html_space(rest[value])) ++value;
    if (value >= rest.size()) break;
    const char quote = rest[value];
    if (quote == '"' || quote == '\'') {
      const auto end = rest.find(quote, value + 1);
      const auto stop = end == std::string_view::npos ? rest.size() : end;
      tag.classes = std::string(rest.substr(value + 1, stop - value - 1));
    } else {
      auto end = value;
      while (end < rest.size() && !is_html_space(rest[end])) ++end;
      tag.classes = std::string(rest.substr(value, end - value));
    }
    break;
  }
  return tag;
}

bool has_skipped_class(std::string_view classes) {
  std::size_t pos = 0;
  while (pos < classes.size()) {
    while (pos < classes.size() && is_html_space(classes[pos])) ++pos;
    auto end = pos;
    while (end < classes.size() && !is_html_space(classes[end])) ++end;
    if (end > pos && skipped_classes().count(classes.substr(pos, end - pos))) return true;
    pos = end;
  }
  return false;
}

// Collects text into paragraphs, collapsing white space as a browser does.
class ParagraphWriter {
 public:
  void add_text(std::string_view decoded) {
    for (const char c : decoded) {
      if (is_html_space(c)) {
        pending_space_ = !current_.empty();
      } else {
        if (pending_space_) current_ += ' ';
        pending_space_ = false;
        current_ += c;
      }
    }
  }
  void end_paragraph() {
    if (!current_.empty()) {
      if (!out_.empty()) out_ += "\n\n";
      out_ += current_;
    }
    current_.clear();
    pending_space_ = false;
  }
  std::string finish() {
    end_paragraph();
    return std::move(out_);
  }

 private:
  std::string out_;
  std::string current_;
  bool pending_space_ = false;
};

}  // namespace

std::string decode_html_entities(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto amp = text.find('&', pos);
    out.append(text.substr(pos, (amp == std::string_view::npos ? text.size() : amp) - pos));
    if (amp == std::string_view::npos) break;
    pos = amp;
    if (!decode_entity_at(text, pos, out)) {
      out += '&';
      ++pos;
    }
  }
  return out;
}

std::string html_to_prose(std::string_view html) {
  ParagraphWriter writer;
  std::string skipped_name;  // the element being skipped, empty when none
  std::size_t skipped_depth = 0;
  std::size_t pos = 0;
  while (pos < html.size()) {
    const auto open = html.find('<', pos);
    const auto text_end = open == std::string_view::npos ? html.size() : open;
    if (skipped_depth == 0) writer.add_text(decode_html_entities(html.substr(pos, text_end - pos)));
    if (open == std::string_view::npos) break;
    // Comments, doctype, processing instructions and CDATA carry no prose.
    if (html.compare(open, 4, "<!--") == 0) {
      const auto end = html.find("-->", open + 4);
      pos = end == std::string_view::npos ? html.size() : end + 3;
      continue;
    }
    if (html.compare(open, 9, "<![CDATA[") == 0) {
      const auto end = html.find("]]>", open + 9);
      pos = end == std::string_view::npos ? html.size() : end + 3;
      continue;
    }
    const auto close = html.find('>', open + 1);
    if (close == std::string_view::npos) break;
    pos = close + 1;
    if (html[open + 1] == '!' || html[open + 1] == '?') continue;
    const auto tag = parse_tag(html.substr(open + 1, close - open - 1));
    if (tag.name.empty()) continue;

    if (is_raw_text_element(tag.name) && !tag.closing && !tag.self_closing) {
      const auto end_tag = html.find("</" + tag.name, pos);
      const auto end = end_tag == std::string_view::npos ? end_tag : html.find('>', end_tag);
      pos = end == std::string_view::npos ? html.size() : end + 1;
      continue;
    }
    const bool counts = !is_void_element(tag.name) && !tag.self_closing;
    if (skipped_depth > 0) {
      if (tag.name == skipped_name && counts) {
        if (tag.closing) --skipped_depth;
        else ++skipped_depth;
      }
      if (skipped_depth == 0 && !is_inline_element(skipped_name)) writer.end_paragraph();
      continue;
    }
    if (!tag.closing && counts && (skipped_elements().count(tag.name) || has_skipped_class(tag.classes))) {
      if (!is_inline_element(tag.name)) writer.end_paragraph();
      skipped_name = tag.name;
      skipped_depth = 1;
      continue;
    }
    if (block_elements().count(tag.name)) writer.end_paragraph();
  }
  return writer.finish();
}

}  // namespace moulin::organisms
