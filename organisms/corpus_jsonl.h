#pragma once
// Corpora as JSON Lines: one object per document, {"language", "source", "split", "text"}.
#include <filesystem>
#include <vector>

#include "organisms/document.h"

namespace moulin::organisms {

// Writes to a temporary file beside `path` and renames it into place, so an interrupted save never leaves a
// partial corpus behind. Throws FileError when the folder is not writable.
void save_corpus_jsonl(const std::vector<Document>& documents, const std::filesystem::path& path);

// Throws FileError when the file cannot be read, FormatError naming the file, the line number and the field for
// a malformed line (not JSON, not an object, a missing or mistyped field, an unknown split). Blank lines are
// skipped.
std::vector<Document> load_corpus_jsonl(const std::filesystem::path& path);

}  // namespace moulin::organisms
