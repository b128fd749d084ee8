#include "organisms/corpus_stats.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/tokenizer.h"
#include "organisms/text_cleaning.h"

namespace moulin::organisms {
namespace {

// Accumulates one group's documents, then summarises them.
class StatsBuilder {
 public:
  void add(const Document& document, std::size_t characters, std::optional<std::size_t> tokens) {
    lengths_.push_back(characters);
    heldout_ += document.split == Split::kHeldout ? 1 : 0;
    if (tokens) tokens_ += *tokens;
    has_tokens_ = has_tokens_ || tokens.has_value();
  }

  TextStats finish() {
    TextStats stats;
    stats.documents = lengths_.size();
    stats.heldout_documents = heldout_;
    for (const auto length : lengths_) stats.characters += length;
    if (!lengths_.empty()) {
      stats.mean_characters = static_cast<double>(stats.characters) / static_cast<double>(lengths_.size());
      std::sort(lengths_.begin(), lengths_.end());
      const auto middle = lengths_.size() / 2;
      const auto at = [&](std::size_t index) { return static_cast<double>(lengths_[index]); };
      stats.median_characters = lengths_.size() % 2 == 1 ? at(middle) : (at(middle - 1) + at(middle)) / 2;
    }
    if (has_tokens_) {
      stats.tokens = tokens_;
      if (tokens_ > 0)
        stats.characters_per_token = static_cast<double>(stats.characters) / static_cast<double>(tokens_);
    }
    return stats;
  }

 private:
  std::vector<std::size_t> lengths_;
  std::size_t heldout_ = 0;
  std::size_t tokens_ = 0;
  bool has_tokens_ = false;
};

CorpusStats compute(const std::vector<Document>& documents, const Tokenizer* tokenizer) {
  StatsBuilder total;
  std::map<std::string, StatsBuilder> languages;
  std::map<std::string, std::map<std::string, StatsBuilder>> sources;
  EncodeOptions plain;
  plain.add_special_tokens = false;
  plain.allow_special = false;
  for (const auto& document : documents) {
    const auto characters = utf8_length(document.text);
    std::optional<std::size_t> tokens;
    if (tokenizer) tokens = tokenizer->encode(document.text, plain).size();
    total.add(document, characters, tokens);
    languages[document.language].add(document, characters, tokens);
    sources[document.language][document.source].add(document, characters, tokens);
  }
  CorpusStats stats;
  stats.total = total.finish();
  for (auto& [language, builder] : languages) stats.languages[language] = builder.finish();
  for (auto& [language, by_source] : sources)
    for (auto& [source, builder] : by_source) stats.sources[language][source] = builder.finish();
  return stats;
}

std::string row(const std::string& language, const std::string& source, const TextStats& stats) {
  auto line = fmt::format("{:<9}{:<22}{:>8}{:>9}{:>12}{:>8.0f}{:>8.0f}", language, source, stats.documents,
                          stats.heldout_documents, stats.characters, stats.mean_characters, stats.median_characters);
  if (stats.tokens) {
    line += fmt::format("{:>11}", *stats.tokens);
    line += stats.characters_per_token ? fmt::format("{:>13.2f}", *stats.characters_per_token)
                                       : fmt::format("{:>13}", "-");
  }
  return line + '\n';
}

}  // namespace

CorpusStats corpus_stats(const std::vector<Document>& documents) { return compute(documents, nullptr); }

CorpusStats corpus_stats(const std::vector<Document>& documents, const Tokenizer& tokenizer) {
  return compute(documents, &tokenizer);
}

std::string format_corpus_stats(const CorpusStats& stats) {
  std::string table = fmt::format("{:<9}{:<22}{:>8}{:>9}{:>12}{:>8}{:>8}", "language", "source", "docs", "heldout",
                                  "characters", "mean", "median");
  if (stats.total.tokens) table += fmt::format("{:>11}{:>13}", "tokens", "chars/token");
  table += '\n';
  for (const auto& [language, language_stats] : stats.languages) {
    table += row(language, "(all)", language_stats);
    if (const auto found = stats.sources.find(language); found != stats.sources.end())
      for (const auto& [source, source_stats] : found->second) table += row("", source, source_stats);
  }
  table += row("total", "", stats.total);
  return table;
}

}  // namespace moulin::organisms
