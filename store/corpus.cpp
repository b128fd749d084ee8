#include "store/corpus.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"

namespace moulin {
namespace {

bool is_blank(const std::string& line) {
  return std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

// nlohmann's messages start with "[json.exception.parse_error.101] parse error at line 1, column 8: ...": keep
// the column and the reason (the line is the corpus line, given separately).
std::string json_error_detail(const std::string& what) {
  const auto bracket = what.find("] ");
  std::string detail = bracket == std::string::npos ? what : what.substr(bracket + 2);
  const auto at_line = detail.find("at line 1, ");
  if (at_line != std::string::npos) detail.erase(at_line, std::string_view("at line 1, ").size());
  return detail;
}

std::string_view json_type(const nlohmann::json& value) { return value.type_name(); }

}  // namespace

CorpusFormat parse_corpus_format(std::string_view text) {
  for (const auto format : {CorpusFormat::kAuto, CorpusFormat::kLines, CorpusFormat::kParagraphs, CorpusFormat::kJsonl})
    if (corpus_format_name(format) == text) return format;
  throw ArgumentError(fmt::format("unknown corpus format '{}' (expected auto, lines, paragraphs or jsonl)", text));
}

std::string_view corpus_format_name(CorpusFormat format) {
  switch (format) {
    case CorpusFormat::kAuto: return "auto";
    case CorpusFormat::kLines: return "lines";
    case CorpusFormat::kParagraphs: return "paragraphs";
    case CorpusFormat::kJsonl: return "jsonl";
  }
  return "?";
}

CorpusFormat resolved_corpus_format(const CorpusOptions& options) {
  if (options.format != CorpusFormat::kAuto) return options.format;
  const auto extension = options.path.extension().string();
  return extension == ".jsonl" || extension == ".ndjson" || extension == ".json" ? CorpusFormat::kJsonl
                                                                                 : CorpusFormat::kLines;
}

CorpusReader::CorpusReader(CorpusOptions options)
    : options_(std::move(options)), format_(resolved_corpus_format(options_)), in_(options_.path, std::ios::binary) {
  if (!in_) throw FileError(fmt::format("{}: cannot open the corpus", options_.path.string()));
}

std::string CorpusReader::where(std::int64_t line) const { return fmt::format("{}:{}", options_.path.string(), line); }

bool CorpusReader::next_raw(std::string& raw, std::int64_t& line) {
  raw.clear();
  std::string text;
  bool started = false;
  while (std::getline(in_, text)) {
    ++line_;
    if (is_blank(text)) {
      if (started) return true;  // a paragraph ends at a blank line
      continue;
    }
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (!started) {
      line = line_;
      started = true;
      raw = std::move(text);
    } else {
      raw += '\n';
      raw += text;
    }
    if (format_ != CorpusFormat::kParagraphs) return true;
  }
  if (in_.bad()) throw FileError(fmt::format("{}: read error after line {}", options_.path.string(), line_));
  return started;
}

bool CorpusReader::skip() {
  std::string raw;
  std::int64_t line = 0;
  return next_raw(raw, line);
}

std::optional<CorpusDocument> CorpusReader::next() {
  std::string raw;
  std::int64_t line = 0;
  if (!next_raw(raw, line)) return std::nullopt;
  if (format_ == CorpusFormat::kJsonl) return parse_json_line(raw, line);
  CorpusDocument document;
  document.line = line;
  document.text = std::move(raw);
  return document;
}

CorpusDocument CorpusReader::parse_json_line(const std::string& raw, std::int64_t line) const {
  nlohmann::json object;
  try {
    object = nlohmann::json::parse(raw);
  } catch (const nlohmann::json::parse_error& error) {
    throw FormatError(fmt::format("{}: not valid JSON: {}", where(line), json_error_detail(error.what())));
  }
  if (!object.is_object())
    throw FormatError(fmt::format("{}: expected a JSON object, got {}", where(line), json_type(object)));
  CorpusDocument document;
  document.line = line;
  const auto text = object.find(options_.text_field);
  const auto ids = object.find(options_.ids_field);
  if (text == object.end() && ids == object.end())
    throw FormatError(fmt::format("{}: no \"{}\" field (nor pre-tokenized \"{}\")", where(line), options_.text_field,
                                  options_.ids_field));
  if (text != object.end()) {
    if (!text->is_string())
      throw FormatError(fmt::format("{}: field \"{}\" must be a string, got {}", where(line), options_.text_field,
                                    json_type(*text)));
    document.text = text->get<std::string>();
  }
  if (ids != object.end()) {
    if (!ids->is_array())
      throw FormatError(fmt::format("{}: field \"{}\" must be a list of token ids, got {}", where(line),
                                    options_.ids_field, json_type(*ids)));
    std::vector<std::int64_t> values;
    values.reserve(ids->size());
    for (std::size_t i = 0; i < ids->size(); ++i) {
      const auto& id = (*ids)[i];
      if (!id.is_number_integer() || id.get<std::int64_t>() < 0)
        throw FormatError(fmt::format("{}: field \"{}\" item {} must be a non-negative integer, got {}", where(line),
                                      options_.ids_field, i, id.dump()));
      values.push_back(id.get<std::int64_t>());
    }
    if (values.empty())
      throw FormatError(fmt::format("{}: field \"{}\" is an empty list", where(line), options_.ids_field));
    document.ids = std::move(values);
  }
  if (options_.label_fields.empty()) {
    for (auto it = object.begin(); it != object.end(); ++it)
      if (it.key() != options_.text_field && it.key() != options_.ids_field) document.labels[it.key()] = it.value();
  } else {
    for (const auto& field : options_.label_fields)
      if (const auto found = object.find(field); found != object.end()) document.labels[field] = *found;
  }
  return document;
}

std::int64_t count_documents(const CorpusOptions& options) {
  CorpusReader reader(options);
  std::int64_t count = 0;
  while (reader.skip()) ++count;
  return count;
}

}  // namespace moulin
