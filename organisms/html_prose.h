#pragma once
// The running prose of an HTML page (Debian's DocBook-generated documentation): block elements become paragraphs,
// inline markup disappears, entities are decoded. Navigation, tables of contents, legal notices, headings, tables,
// code blocks (pre) and footnote markers are dropped: they are boilerplate or carry no language.
#include <string>
#include <string_view>

namespace moulin::organisms {

// Paragraphs separated by a blank line, each on one line with its white space collapsed. Tolerates unbalanced
// markup (an unclosed skipped element swallows the rest of the page, never more).
std::string html_to_prose(std::string_view html);

// Decodes character references (&amp; &eacute; &#233; &#xE9;) in `text`; unknown names stay as written.
std::string decode_html_entities(std::string_view text);

}  // namespace moulin::organisms
