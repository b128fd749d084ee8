#pragma once
// UTF-8 helpers for the tokenizer, written to match what Rust (and so Hugging Face tokenizers) does:
// validation as `str::from_utf8`, lossy decoding as `String::from_utf8_lossy`, whitespace as `char::is_whitespace`.
#include <cstddef>
#include <string>
#include <string_view>

namespace moulin::tokenizer_detail {

inline constexpr char32_t kReplacementCharacter = 0xFFFD;

// Byte offset of the first byte that does not start a well-formed UTF-8 sequence (overlong forms, surrogates and
// code points above U+10FFFF are ill-formed), or std::string_view::npos when `text` is valid UTF-8.
std::size_t find_invalid_utf8(std::string_view text);

// Decodes the code point starting at `text[pos]` and advances `pos` past it. `text` must be valid UTF-8.
char32_t next_code_point(std::string_view text, std::size_t& pos);
// Decodes the code point ending just before `text[end]` and moves `end` to its first byte. Valid UTF-8 only.
char32_t previous_code_point(std::string_view text, std::size_t& end);

void append_utf8(std::string& out, char32_t code_point);

// Appends `bytes` to `out`, replacing each maximal ill-formed subsequence by U+FFFD, exactly as Rust's
// String::from_utf8_lossy does (the Unicode "substitution of maximal subparts" practice).
void append_utf8_lossy(std::string& out, std::string_view bytes);

// The Unicode White_Space property (Rust's char::is_whitespace, Oniguruma's \s).
bool is_unicode_whitespace(char32_t code_point);

}  // namespace moulin::tokenizer_detail
