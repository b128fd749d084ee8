#pragma once
// How strongly each token of a vocabulary signals each language, P(language | token), estimated from documents
// whose language is known. It turns a next-token distribution into a probability mass per language
// (probes/behaviour.h), a smooth stand-in for "the continuation is in French" that gradients can follow.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <ATen/ATen.h>

#include "core/tokenizer.h"

namespace moulin::probes {

struct LabelledText {
  std::string language;  // any label, usually a CLD2 / ISO 639-1 code ("en", "fr")
  std::string text;
};

// What P(language) a token carries before any evidence, and toward which rare tokens are pulled.
enum class LanguagePrior {
  kTokenShare,  // each language's share of the corpus tokens: the plain Bayesian estimate for this corpus
  kUniform,     // 1 / languages, reweighting the counts as if every language had as many tokens: for corpora
                // whose sizes say nothing about the languages (a short French set next to a long English one)
};

struct TokenLanguageOptions {
  // Pseudo-count of the additive smoothing: P(l | t) = (count(t, l) + smoothing * prior(l)) / (count(t) + smoothing).
  double smoothing = 1.0;
  // Tokens seen fewer times than this in the whole corpus get the prior: a handful of sightings is noise.
  std::int64_t min_count = 5;
  LanguagePrior prior = LanguagePrior::kTokenShare;
};

struct TokenLanguageTable {
  std::vector<std::string> languages;  // sorted, unique
  at::Tensor probabilities;            // [vocab, languages] float32 on the CPU; every row sums to 1
  at::Tensor prior;                    // [languages] float32: the row every unseen token gets

  std::int64_t vocab_size() const { return probabilities.size(0); }
  // Throws ArgumentError naming `language` and the known languages when the table has no such column.
  std::size_t index_of(std::string_view language) const;
  // P(language | token) for every token: [vocab] float32, contiguous.
  at::Tensor column(std::string_view language) const;

  // A safetensors file: tensors "probabilities" and "prior", the languages as a JSON array in the metadata field
  // "languages". Written to a temporary file then renamed. Throws FileError when it cannot be written.
  void save(const std::filesystem::path& path) const;
  // Throws FileError (missing or unreadable file) and FormatError naming the file and the field or tensor (absent
  // or malformed "languages", a tensor absent or of the wrong dtype or shape, probabilities outside [0, 1] or rows
  // that do not sum to 1, a vocabulary other than `expected_vocab_size` when given).
  static TokenLanguageTable load(const std::filesystem::path& path,
                                 std::optional<std::int64_t> expected_vocab_size = std::nullopt);
};

// Counts every token of every text (encoded without special tokens, special-token strings as plain text) per
// language and scores P(language | token) as TokenLanguageOptions describes. Rows cover the tokenizer's whole
// vocabulary. Throws ArgumentError for no texts, an empty language label, a language without any token, and
// negative or non-finite smoothing or min_count.
TokenLanguageTable estimate_token_languages(const std::vector<LabelledText>& texts, const Tokenizer& tokenizer,
                                            const TokenLanguageOptions& options = {});

}  // namespace moulin::probes
