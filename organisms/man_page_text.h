#pragma once
// The prose of a man page written in roff (man macros, as man-pages, help2man, pod2man and po4a produce them),
// without running groff: thousands of pages render in well under a second this way, where `man` takes tens of
// milliseconds a page. Text lines are filled into paragraphs and escapes are resolved. What is not prose is
// dropped: macro and string definitions, conditionals, no-fill and example blocks, tables, equations, the tags of
// tagged paragraphs (option names), and the sections that are names, synopses, cross references or boilerplate
// repeated on every page (authors, copyright, bug reporting, translation credits, colophon).
#include <string>
#include <string_view>

namespace moulin::organisms {

// Paragraphs separated by a blank line, each on one line.
std::string man_page_to_text(std::string_view roff);

// The text of one line of roff with its escapes resolved (fonts and sizes dropped, special characters such as
// \(em \[u00E9] \(Fo written as UTF-8, comments removed).
std::string resolve_roff_escapes(std::string_view line);

}  // namespace moulin::organisms
