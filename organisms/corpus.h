#pragma once
// Organisms' corpora: English, French and German prose from Debian packages (organisms/text_sources.h), cleaned,
// deduplicated, cut into documents and split into train and held-out parts. Torch-free and deterministic: the same
// options give the same documents in the same order on every machine.
//
// Saving and loading (corpus_jsonl.h) and statistics (corpus_stats.h) come with this header.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "organisms/corpus_jsonl.h"
#include "organisms/corpus_stats.h"
#include "organisms/document.h"

namespace moulin::organisms {

struct CorpusOptions {
  std::vector<std::string> languages{"en", "fr", "de"};
  // Characters (code points) per language; a language stops short of it when its sources run dry.
  std::size_t max_chars_per_language = 3'000'000;
  std::size_t min_document_chars = 40;
  std::size_t max_document_chars = 1500;
  double heldout_fraction = 0.1;
  std::uint64_t seed = 0;
  std::filesystem::path root = "/";  // where the Debian packages are installed (tests point at a fake tree)
};

// Builds the corpus. Each language draws on all its sources in turn, always from the one it has taken the fewest
// characters from, so the sources mix (small ones run dry and the others fill in); the seed decides the order in
// which each source's files (and a fortune file's entries) are read. Paragraphs are cleaned (clean_paragraphs),
// dropped when they repeat an earlier paragraph or read as another language, and packed into documents of
// min..max characters. Documents are then shuffled with the seed.
// Throws ArgumentError for inconsistent options, FileError (naming the package to install) for a missing source.
std::vector<Document> build_corpus(const CorpusOptions& options);

// Held out when the text's stable hash falls below `heldout_fraction`: it depends on nothing but the text, so a
// document keeps its split whatever the seed, the budget or the other documents.
Split split_for_text(std::string_view text, double heldout_fraction);

// `count` prompts from the held-out documents of `language`: the first min_words..max_words words (seeded, single
// spaces) of paragraphs that have at least `min_words` words, from paragraphs in a seeded order. Fewer when there
// are not enough such paragraphs. Throws ArgumentError when min_words is 0 or above max_words.
std::vector<std::string> held_out_prompts(const std::vector<Document>& documents, std::string_view language,
                                          std::size_t count, std::size_t min_words, std::size_t max_words,
                                          std::uint64_t seed);

// The documents of one language and split, in corpus order.
std::vector<Document> select_documents(const std::vector<Document>& documents, std::string_view language,
                                       Split split);

}  // namespace moulin::organisms
