#pragma once
// What a corpus holds, per language and per source: documents, characters, their mean and median, and with a
// tokenizer the tokens and characters per token (how well a vocabulary fits each language).
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "organisms/document.h"

namespace moulin {
class Tokenizer;
}

namespace moulin::organisms {

struct TextStats {
  std::size_t documents = 0;
  std::size_t heldout_documents = 0;
  std::size_t characters = 0;  // code points
  double mean_characters = 0;
  double median_characters = 0;
  std::optional<std::size_t> tokens;             // without special tokens; only with a tokenizer
  std::optional<double> characters_per_token;
};

struct CorpusStats {
  TextStats total;
  std::map<std::string, TextStats> languages;                          // language -> stats
  std::map<std::string, std::map<std::string, TextStats>> sources;     // language -> source -> stats
};

CorpusStats corpus_stats(const std::vector<Document>& documents);
// Tokenizes every document once (encode without special tokens).
CorpusStats corpus_stats(const std::vector<Document>& documents, const Tokenizer& tokenizer);

// A table, one row per language followed by its sources, then the total.
std::string format_corpus_stats(const CorpusStats& stats);

}  // namespace moulin::organisms
