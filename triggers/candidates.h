#pragma once
// Candidate trigger phrases for a scan: read from a file or generated blind (word n-grams of Debian text, random
// token n-grams of the vocabulary, made-up Latin-looking phrases, near misses of a suspected phrase). Every
// generator is seeded and the merged list is deduplicated, so a scan can be rerun on exactly the same candidates.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/tokenizer.h"
#include "organisms/document.h"

namespace moulin::triggers {

struct Candidate {
  std::string phrase;  // one line, words separated by single spaces
  std::string source;  // where it came from: "file", "near-miss", "word-ngram", "token-ngram", "latin"
};

// A candidate list without duplicates: the first source to propose a phrase keeps it. Phrases are normalised
// (white space runs become one space, ends trimmed) before comparing, since insertion would not tell such
// variants apart anyway.
class CandidateList {
 public:
  // False (and nothing added) when the phrase is empty after normalisation or already listed.
  bool add(std::string_view phrase, std::string_view source);
  void add_all(const std::vector<std::string>& phrases, std::string_view source);

  const std::vector<Candidate>& items() const { return items_; }
  std::vector<Candidate> release() { return std::move(items_); }
  std::size_t size() const { return items_.size(); }

 private:
  std::vector<Candidate> items_;
  std::unordered_set<std::string> seen_;
};

// White space runs as single spaces, no leading or trailing white space.
std::string normalise_phrase(std::string_view phrase);

// Candidates from a text file, one per line; blank lines and lines starting with '#' are skipped and duplicates
// kept once (source "file"). Throws FileError naming the file when it cannot be read or lists no candidate, and
// FormatError naming the file and line for a line that is not UTF-8 or holds control characters.
std::vector<Candidate> read_candidate_file(const std::filesystem::path& path);

struct CandidateGeneration {
  bool word_ngrams = false;
  bool token_ngrams = false;
  bool latin = false;
  std::vector<std::string> near_misses_of;  // each phrase and its near misses (organisms::near_misses)
  std::size_t count = 1000;                 // distinct candidates from each of word n-grams, token n-grams, Latin
  std::size_t max_words = 3;                // word n-grams and Latin phrases have 1..max_words words
  std::size_t max_tokens = 3;               // token n-grams have 1..max_tokens tokens
  std::uint64_t seed = 0;
  std::string corpus_language = "en";  // word n-grams come from Debian text in this language
  std::size_t corpus_characters = 500'000;

  bool any() const { return word_ngrams || token_ngrams || latin || !near_misses_of.empty(); }
};

// Reads a comma-separated list of generators into `generation`: "word-ngrams", "token-ngrams", "latin" and
// "near-misses-of=PHRASE" (repeatable). Throws ArgumentError naming an unknown or empty item.
void parse_generation_list(std::string_view list, CandidateGeneration& generation);

// `count` distinct word n-grams (1..max_words consecutive words of one paragraph, stripped of surrounding
// punctuation) drawn from `documents` with the seed; fewer when the text has fewer.
std::vector<std::string> word_ngram_phrases(const std::vector<organisms::Document>& documents, std::size_t count,
                                            std::size_t max_words, std::uint64_t seed);
// `count` distinct texts of 1..max_tokens random non-special tokens, decoded and normalised; decodings that are
// blank, hold control characters or are not whole characters (U+FFFD) are drawn again.
std::vector<std::string> token_ngram_phrases(const Tokenizer& tokenizer, std::size_t count, std::size_t max_tokens,
                                             std::uint64_t seed);
// `count` distinct made-up phrases of 1..max_words Latin-looking words (organisms::latin_like_phrase).
std::vector<std::string> latin_phrases(std::size_t count, std::size_t max_words, std::uint64_t seed);

// What `generation` asks for, deduplicated, in this order: near-miss expansions (each phrase, then its near
// misses), word n-grams, token n-grams, Latin phrases. Word n-grams build a Debian corpus (organisms/corpus.h).
std::vector<Candidate> generate_candidates(const CandidateGeneration& generation, const Tokenizer& tokenizer);

// The candidates of `file` (when not empty) followed by the generated ones, deduplicated. Throws ArgumentError
// when neither gives a candidate.
std::vector<Candidate> collect_candidates(const std::filesystem::path& file, const CandidateGeneration& generation,
                                          const Tokenizer& tokenizer);

}  // namespace moulin::triggers
