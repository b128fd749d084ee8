#pragma once
// Corpora for activation dumps, read one document at a time so any size streams through bounded memory:
//   lines       one document per line (blank lines are skipped)
//   paragraphs  documents separated by blank lines (their lines joined with "\n")
//   jsonl       one JSON object per line: a "text" string, or pre-tokenized "ids" (a list of token ids, for models
//               without a tokenizer), and labels (every other field by default, e.g. "triggered": true)
// Torch-free. Errors name the file and the line (and the field).
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace moulin {

enum class CorpusFormat { kAuto, kLines, kParagraphs, kJsonl };

// "auto", "lines", "paragraphs", "jsonl"; throws ArgumentError otherwise.
CorpusFormat parse_corpus_format(std::string_view text);
std::string_view corpus_format_name(CorpusFormat format);

struct CorpusOptions {
  std::filesystem::path path;
  CorpusFormat format = CorpusFormat::kAuto;  // auto: jsonl for .jsonl/.ndjson/.json files, else lines
  std::string text_field = "text";            // jsonl
  std::string ids_field = "ids";              // jsonl, pre-tokenized documents
  std::vector<std::string> label_fields;      // jsonl labels kept; empty: every field but text and ids
};

// The format `options` resolves to (never kAuto).
CorpusFormat resolved_corpus_format(const CorpusOptions& options);

struct CorpusDocument {
  std::int64_t line = 0;                           // 1-based line of the corpus where it starts
  std::string text;                                // empty for pre-tokenized documents without text
  std::optional<std::vector<std::int64_t>> ids;    // pre-tokenized token ids
  nlohmann::json labels = nlohmann::json::object();
};

class CorpusReader {
 public:
  // Throws FileError when the file cannot be opened.
  explicit CorpusReader(CorpusOptions options);

  // The next document, or nullopt at the end. Throws FormatError "file:line: ..." for a JSONL line that is not
  // a JSON object or whose text/ids field is missing or mistyped, FileError when reading fails.
  std::optional<CorpusDocument> next();
  // Passes over the next document without parsing it (resuming a dump); false at the end.
  bool skip();
  const CorpusOptions& options() const { return options_; }

 private:
  // The next document's raw text (a line, or a paragraph) and its first line number; false at the end.
  bool next_raw(std::string& raw, std::int64_t& line);
  CorpusDocument parse_json_line(const std::string& raw, std::int64_t line) const;
  std::string where(std::int64_t line) const;

  CorpusOptions options_;
  CorpusFormat format_;
  std::ifstream in_;
  std::int64_t line_ = 0;  // lines read so far
};

// Documents in the corpus, counted without parsing them (progress totals).
std::int64_t count_documents(const CorpusOptions& options);

}  // namespace moulin
