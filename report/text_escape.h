#pragma once
// Making arbitrary text (token strings, trigger candidates, file names) safe to put in SVG, HTML and Markdown.
// Byte-level BPE tokens are often fragments of UTF-8 characters, and one ill-formed byte or control character
// makes a whole SVG/XML document unreadable, so every escape repairs the text first.
#include <cstddef>
#include <string>
#include <string_view>

namespace moulin::report {

// `text` with each ill-formed UTF-8 sequence replaced by U+FFFD (one per maximal ill-formed subpart).
std::string utf8_repaired(std::string_view text);

// The number of code points of `text` once repaired.
std::size_t utf8_length(std::string_view text);

// `text` repaired and cut to at most `max_code_points`, the last one an ellipsis when it was cut.
std::string utf8_truncated(std::string_view text, std::size_t max_code_points);

// `text` repaired and cut to at most `max_code_points` by replacing its middle with an ellipsis: for labels
// whose ends both matter ("a long trigger phrase #12" must not lose its number).
std::string utf8_truncated_middle(std::string_view text, std::size_t max_code_points);

// Text safe in XML/HTML character data and in quoted attribute values: repaired, the control characters and
// noncharacters XML 1.0 forbids replaced by U+FFFD, and & < > " ' written as references.
std::string xml_escape(std::string_view text);

// Plain text for a Markdown paragraph, heading or table cell: repaired, with every character that CommonMark
// or GitHub tables could read as markup backslash-escaped, so the rendered text is `text` itself.
std::string markdown_escape(std::string_view text);

// Text inside a line of Markdown that cannot start a block (table cells, headings after "## ", list items
// after "- "): like markdown_escape without the rules for line starts, and on one line.
std::string markdown_escape_inline(std::string_view text);

// `text` on one line: each run of line breaks and tabs becomes one space (headings, table cells, captions).
std::string single_line(std::string_view text);

}  // namespace moulin::report
