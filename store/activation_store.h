#pragma once
// Reading an activation store (docs/hdf5-layout.md) lazily: opening reads the attributes and the commit record,
// and each call reads only the rows it returns. Works on finished dumps, killed ones and ones still being written
// (HDF5 SWMR-read mode); rows past the commit record at opening time are never returned.
//
//   ActivationStore store = ActivationStore::open("acts.h5");
//   auto rows = store.rows_of_documents(store.documents_where("triggered", true), /*last_only=*/true);
//   at::Tensor x = store.read("blocks.12.hook_resid_post", rows);   // [rows, d_model]
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

namespace moulin {

struct StoredDocument {
  std::int64_t index = 0;
  std::int64_t first_token = 0;  // row of its first stored token
  std::int64_t stored = 0;       // rows stored for it
  std::int64_t length = 0;       // tokens in the document
  std::int64_t line = 0;         // 1-based corpus line
  std::string text;
  nlohmann::json labels;
};

class ActivationStore {
 public:
  // Throws FileError when the file is missing or not HDF5, FormatError when it is not a moulin store.
  static ActivationStore open(const std::filesystem::path& path);
  ~ActivationStore();
  ActivationStore(ActivationStore&&) noexcept;
  ActivationStore& operator=(ActivationStore&&) noexcept;

  const std::filesystem::path& path() const;
  std::int64_t tokens() const;     // committed rows
  std::int64_t documents() const;  // committed documents
  bool complete() const;           // the dump reached the end of its corpus
  const std::vector<std::string>& hooks() const;
  at::ScalarType dtype() const;    // stored dtype: what read() returns
  std::vector<std::int64_t> row_shape(const std::string& hook) const;
  // Root attributes as written: model_path, model_config, model_dtype, tokenizer, command, options, moulin_version...
  std::string attribute(const std::string& name) const;
  nlohmann::json model_config() const;

  // Activations [count, row_shape...] of rows [first, first + count).
  at::Tensor read(const std::string& hook, std::int64_t first, std::int64_t count) const;
  // Activations of the given rows, in the given order (repeats allowed), reading only runs of rows that are asked.
  at::Tensor read(const std::string& hook, const std::vector<std::int64_t>& rows) const;
  // Every committed row of a hook.
  at::Tensor read(const std::string& hook) const { return read(hook, 0, tokens()); }

  // Per-row token data of the given rows: ids (int32), documents (int64), positions in the document (int32).
  at::Tensor token_ids(const std::vector<std::int64_t>& rows) const;
  at::Tensor token_documents(const std::vector<std::int64_t>& rows) const;
  at::Tensor token_positions(const std::vector<std::int64_t>& rows) const;

  StoredDocument document(std::int64_t index) const;
  // Documents whose label `key` equals `value` (JSON equality: true, 1, "yes" are all different).
  std::vector<std::int64_t> documents_where(const std::string& key, const nlohmann::json& value) const;
  // The rows of the given documents, document by document; with `last_only`, each one's last stored row.
  std::vector<std::int64_t> rows_of_documents(const std::vector<std::int64_t>& documents, bool last_only = false) const;

  struct Impl;

 private:
  explicit ActivationStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace moulin
