#pragma once
// Test text for the tokenizer: Debian's French and English documentation (fortunes, debian-reference-fr,
// debian-faq-fr, manpages-fr rendered to plain text), source code, and seeded random Unicode strings built to
// hit every branch of the pre-tokenizer regex.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace moulin::test {

struct Corpus {
  std::vector<std::string> texts;              // units of at most a few KB, each encoded on its own
  std::map<std::string, std::size_t> sources;  // source name -> bytes taken from it
  std::size_t bytes() const;
};

// Throws std::runtime_error naming the missing Debian package (and scripts/bootstrap) when one is absent.
// `man_pages` French man pages are rendered (about 50 ms each), spread evenly over the sorted list.
Corpus load_debian_corpus(std::size_t man_pages);
// moulin's own sources and the nlohmann/json header: code, comments, long identifiers, operators.
Corpus load_source_code_corpus();

// `count` strings of 1 to 40 fragments drawn from: every whitespace class (U+0085, U+00A0, U+2028, U+3000,
// U+FEFF, ...), combining marks, emoji with ZWJ sequences, flags and skin tones, CJK, Hangul, RTL scripts, digit
// runs of all kinds, contractions ('s 't 're 've 'm 'll 'd in any case, and look-alikes), special-token strings
// whole and broken, punctuation, code, and random code points from all planes. Same seed, same strings.
std::vector<std::string> random_unicode_strings(std::size_t count, std::uint32_t seed);

// Splits `text` at line ends into pieces of about `target_bytes` (a line longer than that stays whole).
std::vector<std::string> split_into_chunks(const std::string& text, std::size_t target_bytes);

}  // namespace moulin::test
