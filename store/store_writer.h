#pragma once
// Writes an activation store (layout: docs/hdf5-layout.md, names: store/layout.h) one batch at a time, so that a
// writer killed at any moment leaves a file holding every batch it committed:
//   - the file is created whole under a temporary name and renamed into place: the path never holds a half-made
//     store;
//   - appending runs in HDF5's single-writer/multiple-reader (SWMR) mode, whose ordered metadata writes keep the
//     file consistent on disk at every moment (the guarantee SWMR readers rely on);
//   - a batch is written and flushed first, then the commit record (/committed: the trusted count of every
//     appendable dataset) is rewritten in place and flushed. Rows past the record belong to a batch that never
//     committed; resume() trims them and writes again from the record.
// Not thread-safe: AsyncWriter (store/async_writer.h) drives one from its thread.
#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "store/compression.h"
#include "store/disk_space.h"
#include "store/hdf5.h"
#include "store/layout.h"

namespace moulin {

struct StoredHook {
  std::string name;
  std::vector<std::int64_t> row_shape;  // [d] or [heads, d_head]
};

// What a store records about how it was made. resume() refuses a file made differently.
struct StoreSpec {
  std::vector<StoredHook> hooks;
  at::ScalarType dtype = at::kFloat;  // stored activations: float32, float16 or bfloat16
  Compression compression;
  std::string model_path;
  nlohmann::json model_config;
  std::string model_dtype;
  std::string tokenizer;
  nlohmann::json options;  // the dump options that decide the content
  std::string command;
  std::int64_t rows_per_batch = 1 << 14;  // rows a batch typically adds (sizes the chunks)
};

using CommitCounts = std::array<std::int64_t, layout::kCommitFields>;

struct DocumentRecord {
  std::int64_t first_token = 0;  // row of its first stored token
  std::int64_t stored = 0;       // rows stored for it
  std::int64_t length = 0;       // tokens in the document
  std::int64_t line = 0;         // 1-based line in the corpus
  std::string text;
  std::string labels;  // a JSON object
};

// One batch: the documents that begin in it, then its rows (tokens in document order).
struct WriteBatch {
  std::vector<DocumentRecord> documents;
  std::vector<std::int32_t> token_id;
  std::vector<std::int64_t> token_document;
  std::vector<std::int32_t> token_position;
  std::vector<std::int32_t> token_window_position;
  std::vector<at::Tensor> activations;  // per hook, [rows, row_shape...] in the stored dtype, CPU, contiguous

  std::int64_t rows() const { return static_cast<std::int64_t>(token_id.size()); }
  std::int64_t bytes() const;  // what it adds to the file, uncompressed
};

class StoreWriter {
 public:
  // Creates a store at `path`. Throws FileError when the folder is missing or unwritable, or when `path` exists
  // and `overwrite` is false (naming --resume and --overwrite); UnsupportedError for a compression whose HDF5
  // filter plugin is not installed.
  static StoreWriter create(const std::filesystem::path& path, const StoreSpec& spec, bool overwrite);
  // Opens an existing store to continue it, after checking it was made with `spec` (ArgumentError naming the
  // first difference). Clears the mark a killed writer leaves and trims rows past the commit record.
  static StoreWriter resume(const std::filesystem::path& path, const StoreSpec& spec);
  // Opens an existing store as it is (for repair: trims uncommitted rows on close).
  static StoreWriter reopen(const std::filesystem::path& path);

  StoreWriter(StoreWriter&&) = default;
  StoreWriter& operator=(StoreWriter&&) = default;
  ~StoreWriter() = default;

  const std::filesystem::path& path() const { return path_; }
  const CommitCounts& committed() const { return committed_; }
  // Counts including batches written but not committed yet.
  const CommitCounts& written() const { return written_; }
  // The last committed document (resuming needs its text and how many of its rows are stored).
  std::optional<DocumentRecord> last_document() const;
  // A line for the /runs log (JSON, no newline), written with the next commit.
  void add_run(const std::string& json);

  // Writes the batch after the ones written before (not yet trusted by readers: see commit). Throws FileError when
  // the disk has no room for it (nothing of it is written then) or a write fails.
  void append(const WriteBatch& batch);
  // Makes every written batch part of the file: flushes it, then rewrites the commit record and flushes again.
  void commit();
  // Commits what is written, marks the dump complete when asked, trims every dataset to the commit record, closes.
  void close(bool complete);

 private:
  struct Column {
    std::string path;
    h5::Element element;
    layout::CommitField counter;
    h5::Handle dataset;
    std::uint64_t chunk_bytes;
  };
  StoreWriter(std::filesystem::path path, h5::Handle file);
  void write(std::size_t column, std::int64_t count, const void* data);
  void flush();
  // Reserves what writing `bytes` of rows may take on disk (disk_space.h), chunks and metadata included.
  void reserve(std::uint64_t bytes);

  std::filesystem::path path_;
  h5::Handle file_;  // first member: closed after the datasets
  DiskReservation reservation_;
  h5::Handle committed_dataset_;
  std::vector<Column> columns_;  // the fixed columns (store_writer.cpp), then one per hook
  CommitCounts committed_{};
  CommitCounts written_{};
  std::string pending_runs_;
};

// The HDF5 element type activations are stored as: float32, IEEE half, or the uint16 bits of bfloat16.
h5::Element stored_element(at::ScalarType dtype);
// "float32", "float16" or "bfloat16" -> the torch type; throws FormatError naming `source` otherwise.
at::ScalarType stored_dtype_from_name(const std::string& name, const std::string& source);
// Throws FormatError unless `file` is a moulin activation store of the format version this moulin reads.
void check_store_format(hid_t file, const std::filesystem::path& path);
// Now, in UTC, as ISO 8601 ("2024-05-01T12:00:00Z"): when stores and runs began.
std::string utc_timestamp();

}  // namespace moulin
