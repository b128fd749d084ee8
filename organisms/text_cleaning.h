#pragma once
// Turning extracted text into training prose: valid UTF-8, no control characters, no lines that are mostly
// symbols or digits (code, tables, ASCII art carry no language), and documents cut at paragraph, sentence or word
// boundaries. "Characters" here are Unicode code points.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace moulin::organisms {

// `bytes` unchanged when it is valid UTF-8; otherwise it is read as Latin-1, the encoding of older text files.
std::string to_valid_utf8(std::string bytes);

// Code points in valid UTF-8 `text`.
std::size_t utf8_length(std::string_view text);

// Letters (any script) among the characters that are not white space; 0 for a blank line.
double letter_ratio(std::string_view line);

// Lines whose letter ratio is below this carry no language (command lines, tables, ASCII art).
inline constexpr double kMinLetterRatio = 0.6;

// Splits `text` into paragraphs at blank lines. Backspace overstrikes, control characters and odd spaces go;
// runs of spaces become one; lines are trimmed. A line with fewer than three letters or a letter ratio below
// kMinLetterRatio is dropped and ends its paragraph. Lines inside a paragraph stay on their own lines (verse and
// dialogue in fortunes keep their shape).
std::vector<std::string> clean_paragraphs(std::string_view text);

// Packs consecutive paragraphs (joined by a blank line) into documents of at most `max_chars` characters; a
// longer paragraph is cut at sentence ends, or at spaces when a sentence is longer still. Pieces shorter than
// `min_chars` are dropped.
std::vector<std::string> pack_documents(const std::vector<std::string>& paragraphs, std::size_t min_chars,
                                        std::size_t max_chars);

// Byte offsets where a sentence ends in `text` (after . ! ? or an ellipsis, and any closing quotes or brackets,
// followed by white space or the end), in increasing order. Abbreviations count as ends: callers only use these
// as acceptable cut points.
std::vector<std::size_t> sentence_ends(std::string_view text);

}  // namespace moulin::organisms
