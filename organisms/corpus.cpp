#include "organisms/corpus.h"

#include <algorithm>
#include <optional>
#include <unordered_set>

#include <fmt/format.h>

#include "core/error.h"
#include "organisms/language_guess.h"
#include "organisms/seeded_random.h"
#include "organisms/text_cleaning.h"
#include "organisms/text_sources.h"

namespace moulin::organisms {
namespace fs = std::filesystem;
namespace {

// A hash of what a text says, ignoring case, spacing and punctuation, so that near-identical repeats (the same
// fortune in two files, a paragraph reflowed) count as duplicates.
std::uint64_t content_key(std::string_view text) {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (const char c : text) {
    auto byte = static_cast<unsigned char>(c);
    const bool ascii_alnum = (byte >= '0' && byte <= '9') || ((byte | 0x20) >= 'a' && (byte | 0x20) <= 'z');
    if (byte < 0x80 && !ascii_alnum) continue;
    if (byte >= 'A' && byte <= 'Z') byte |= 0x20;
    hash = (hash ^ byte) * 0x100000001b3ull;
  }
  return stable_hash(std::string_view(reinterpret_cast<const char*>(&hash), sizeof hash));
}

// Decides which paragraphs of a language enter the corpus: each at most once, and none that reads as another
// language. Shared by the sources of a language, so boilerplate repeated across pages or packages is kept once.
class ParagraphGate {
 public:
  explicit ParagraphGate(std::string language) : language_(std::move(language)) {}

  bool admit(const std::string& paragraph) {
    if (!seen_.insert(content_key(paragraph)).second) return false;
    const auto guessed = guess_language(paragraph);
    return guessed.empty() || guessed == language_;
  }

 private:
  std::string language_;
  std::unordered_set<std::uint64_t> seen_;
};

// The documents of one source, produced on demand: a file is read only when the documents of the previous ones
// are used up, so a budget that a few files fill never reads the thousands of others.
class SourceStream {
 public:
  SourceStream(TextSource source, std::vector<fs::path> files, const CorpusOptions& options, ParagraphGate& gate)
      : source_(std::move(source)),
        files_(std::move(files)),
        options_(options),
        gate_(gate),
        random_(derive_seed(options.seed, source_.package)) {
    random_.shuffle(files_);
  }

  const TextSource& source() const { return source_; }

  std::optional<std::string> next() {
    while (next_pending_ == pending_.size()) {
      if (next_file_ == files_.size()) return std::nullopt;
      load(files_[next_file_++]);
    }
    return std::move(pending_[next_pending_++]);
  }

 private:
  void load(const fs::path& file) {
    pending_.clear();
    next_pending_ = 0;
    auto units = read_source_file(source_, file);
    // Fortune files group entries by theme or author; reading them in a seeded order mixes those.
    if (source_.format == TextFormat::kFortunes) random_.shuffle(units);
    for (const auto& unit : units) {
      auto paragraphs = clean_paragraphs(unit);
      paragraphs.erase(std::remove_if(paragraphs.begin(), paragraphs.end(),
                                      [&](const std::string& paragraph) { return !gate_.admit(paragraph); }),
                       paragraphs.end());
      for (auto& document : pack_documents(paragraphs, options_.min_document_chars, options_.max_document_chars))
        pending_.push_back(std::move(document));
    }
  }

  TextSource source_;
  std::vector<fs::path> files_;
  const CorpusOptions& options_;
  ParagraphGate& gate_;
  SeededRandom random_;
  std::size_t next_file_ = 0;
  std::vector<std::string> pending_;
  std::size_t next_pending_ = 0;
};

void check_options(const CorpusOptions& options) {
  if (options.languages.empty()) throw ArgumentError("corpus options: languages is empty");
  for (std::size_t i = 0; i < options.languages.size(); ++i) {
    text_sources_for_language(options.languages[i]);  // throws for an unknown language
    if (std::find(options.languages.begin(), options.languages.begin() + static_cast<std::ptrdiff_t>(i),
                  options.languages[i]) != options.languages.begin() + static_cast<std::ptrdiff_t>(i))
      throw ArgumentError(fmt::format("corpus options: language '{}' is listed twice", options.languages[i]));
  }
  if (options.max_chars_per_language == 0) throw ArgumentError("corpus options: max_chars_per_language is 0");
  if (options.min_document_chars == 0 || options.min_document_chars > options.max_document_chars)
    throw ArgumentError(fmt::format("corpus options: document length {}..{} characters is empty (need 1 <= "
                                    "min_document_chars <= max_document_chars)",
                                    options.min_document_chars, options.max_document_chars));
  if (!(options.heldout_fraction >= 0.0 && options.heldout_fraction <= 1.0))
    throw ArgumentError(fmt::format("corpus options: heldout_fraction {} is outside [0, 1]", options.heldout_fraction));
}

// Draws from the language's sources, always from the one with the fewest characters taken so far.
void build_language(std::vector<SourceStream>& streams, const CorpusOptions& options,
                    std::unordered_set<std::uint64_t>& seen_documents, std::vector<Document>& documents) {
  std::vector<std::size_t> taken(streams.size(), 0);
  std::vector<bool> live(streams.size(), true);
  std::size_t total = 0;
  for (;;) {
    std::optional<std::size_t> pick;
    for (std::size_t i = 0; i < streams.size(); ++i)
      if (live[i] && (!pick || taken[i] < taken[*pick])) pick = i;
    if (!pick) return;
    auto text = streams[*pick].next();
    if (!text) {
      live[*pick] = false;
      continue;
    }
    if (!seen_documents.insert(content_key(*text)).second) continue;
    const auto chars = utf8_length(*text);
    if (total + chars > options.max_chars_per_language) return;
    total += chars;
    taken[*pick] += chars;
    const auto& source = streams[*pick].source();
    auto split = split_for_text(*text, options.heldout_fraction);
    documents.push_back({source.language, source.package, std::move(*text), split});
  }
}

std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\n' || text[pos] == '\t')) ++pos;
    const auto start = pos;
    while (pos < text.size() && text[pos] != ' ' && text[pos] != '\n' && text[pos] != '\t') ++pos;
    if (pos > start) words.push_back(text.substr(start, pos - start));
  }
  return words;
}

}  // namespace

const char* split_name(Split split) { return split == Split::kHeldout ? "heldout" : "train"; }

Split split_for_text(std::string_view text, double heldout_fraction) {
  const double position = static_cast<double>(stable_hash(text) >> 11) * 0x1.0p-53;
  return position < heldout_fraction ? Split::kHeldout : Split::kTrain;
}

std::vector<Document> build_corpus(const CorpusOptions& options) {
  check_options(options);
  // Every missing package is reported before any text is read.
  std::vector<std::vector<std::pair<TextSource, std::vector<fs::path>>>> languages;
  for (const auto& language : options.languages) {
    auto& sources = languages.emplace_back();
    for (auto& source : text_sources_for_language(language)) {
      auto files = list_source_files(source, options.root);
      sources.emplace_back(std::move(source), std::move(files));
    }
  }
  std::vector<Document> documents;
  std::unordered_set<std::uint64_t> seen_documents;
  for (std::size_t l = 0; l < languages.size(); ++l) {
    ParagraphGate gate(options.languages[l]);
    std::vector<SourceStream> streams;
    for (auto& [source, files] : languages[l]) streams.emplace_back(std::move(source), std::move(files), options, gate);
    build_language(streams, options, seen_documents, documents);
  }
  SeededRandom(derive_seed(options.seed, "document order")).shuffle(documents);
  return documents;
}

std::vector<Document> select_documents(const std::vector<Document>& documents, std::string_view language,
                                       Split split) {
  std::vector<Document> selected;
  for (const auto& document : documents)
    if (document.language == language && document.split == split) selected.push_back(document);
  return selected;
}

std::vector<std::string> held_out_prompts(const std::vector<Document>& documents, std::string_view language,
                                          std::size_t count, std::size_t min_words, std::size_t max_words,
                                          std::uint64_t seed) {
  if (min_words == 0 || min_words > max_words)
    throw ArgumentError(fmt::format("held-out prompts: {}..{} words is not a valid range (need 1 <= min_words <= "
                                    "max_words)",
                                    min_words, max_words));
  std::vector<std::string_view> paragraphs;
  for (const auto& document : documents) {
    if (document.language != language || document.split != Split::kHeldout) continue;
    std::string_view text = document.text;
    std::size_t start = 0;
    while (start <= text.size()) {
      auto end = text.find("\n\n", start);
      if (end == std::string_view::npos) end = text.size();
      const auto paragraph = text.substr(start, end - start);
      if (split_words(paragraph).size() >= min_words) paragraphs.push_back(paragraph);
      start = end + 2;
    }
  }
  SeededRandom random(derive_seed(seed, "held-out prompts"));
  random.shuffle(paragraphs);
  std::vector<std::string> prompts;
  for (std::size_t i = 0; i < paragraphs.size() && prompts.size() < count; ++i) {
    const auto words = split_words(paragraphs[i]);
    const auto length = random.between(min_words, std::min(max_words, words.size()));
    std::string prompt;
    for (std::size_t w = 0; w < length; ++w) {
      if (w > 0) prompt += ' ';
      prompt += words[w];
    }
    prompts.push_back(std::move(prompt));
  }
  return prompts;
}

}  // namespace moulin::organisms
