#include "organisms/corpus_jsonl.h"

#include <fstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "core/error.h"

namespace moulin::organisms {
namespace fs = std::filesystem;
namespace {

using json = nlohmann::json;

// A file written beside its destination and renamed over it on commit; removed if never committed.
class TemporaryFile {
 public:
  explicit TemporaryFile(const fs::path& destination)
      : destination_(destination),
        path_(fs::path(fmt::format("{}.partial-{}", destination.string(), static_cast<long>(::getpid())))) {}
  ~TemporaryFile() {
    if (!committed_) {
      std::error_code ignored;
      fs::remove(path_, ignored);
    }
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

  const fs::path& path() const { return path_; }

  void commit() {
    std::error_code error;
    fs::rename(path_, destination_, error);
    if (error)
      throw FileError(fmt::format("{}: cannot move {} into place: {}", destination_.string(), path_.string(),
                                  error.message()));
    committed_ = true;
  }

 private:
  fs::path destination_;
  fs::path path_;
  bool committed_ = false;
};

class LineReader {
 public:
  LineReader(const json& object, const fs::path& path, std::size_t line) : object_(object), path_(path), line_(line) {}

  std::string text(const char* field) const {
    if (!object_.contains(field)) fail(field, "is missing");
    const auto& value = object_.at(field);
    if (!value.is_string()) fail(field, fmt::format("must be a string, got {}", value.dump()));
    return value.get<std::string>();
  }

  [[noreturn]] void fail(const char* field, const std::string& problem) const {
    throw FormatError(fmt::format("{}:{}: field '{}' {}", path_.string(), line_, field, problem));
  }

 private:
  const json& object_;
  const fs::path& path_;
  std::size_t line_;
};

}  // namespace

void save_corpus_jsonl(const std::vector<Document>& documents, const fs::path& path) {
  TemporaryFile temporary(path);
  {
    std::ofstream out(temporary.path(), std::ios::binary | std::ios::trunc);
    if (!out) throw FileError(fmt::format("{}: cannot open for writing", temporary.path().string()));
    for (const auto& document : documents) {
      const json line{{"language", document.language},
                      {"source", document.source},
                      {"split", split_name(document.split)},
                      {"text", document.text}};
      out << line.dump(-1, ' ', false, json::error_handler_t::strict) << '\n';
    }
    out.close();
    if (!out) throw FileError(fmt::format("{}: write failed (disk full?)", temporary.path().string()));
  }
  temporary.commit();
}

std::vector<Document> load_corpus_jsonl(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!fs::exists(path)) throw FileError(fmt::format("{}: file not found", path.string()));
    throw FileError(fmt::format("{}: cannot open for reading", path.string()));
  }
  std::vector<Document> documents;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    json object;
    try {
      object = json::parse(line);
    } catch (const json::parse_error& error) {
      throw FormatError(fmt::format("{}:{}: malformed JSON: {}", path.string(), number, error.what()));
    }
    if (!object.is_object())
      throw FormatError(fmt::format("{}:{}: expected a JSON object with language, source, split and text, got {}",
                                    path.string(), number, object.dump().substr(0, 80)));
    const LineReader reader(object, path, number);
    Document document;
    document.language = reader.text("language");
    if (document.language.empty()) reader.fail("language", "is empty");
    document.source = reader.text("source");
    const auto split = reader.text("split");
    if (split == "train") document.split = Split::kTrain;
    else if (split == "heldout") document.split = Split::kHeldout;
    else reader.fail("split", fmt::format("must be \"train\" or \"heldout\", got \"{}\"", split));
    document.text = reader.text("text");
    documents.push_back(std::move(document));
  }
  if (in.bad()) throw FileError(fmt::format("{}: read failed", path.string()));
  return documents;
}

}  // namespace moulin::organisms
