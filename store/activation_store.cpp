#include "store/activation_store.h"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "core/error.h"
#include "store/hdf5.h"
#include "store/layout.h"
#include "store/store_writer.h"

namespace moulin {

using h5::Element;

struct ActivationStore::Impl {
  std::filesystem::path path;
  h5::Handle file;  // first member: closed after the datasets
  CommitCounts committed{};
  std::vector<std::string> hooks;
  at::ScalarType dtype = at::kFloat;

  mutable std::mutex mutex;  // guards the lazily filled members below
  mutable std::map<std::string, h5::Handle> datasets;
  mutable std::vector<std::int64_t> document_first_token, document_stored;  // read on first use

  hid_t dataset(const std::string& name) const {
    const std::lock_guard<std::mutex> lock(mutex);
    auto found = datasets.find(name);
    if (found == datasets.end()) {
      h5::Handle dataset = h5::open_dataset(file.get(), name, path);
      // HDF5 shares one open file per process: when another handle on this file is open, the dataset may come from
      // its cache, as it was then. Refreshing rereads its current shape.
      if (H5Drefresh(dataset.get()) < 0) h5::fail(fmt::format("reading {} of {}", name, path.string()));
      found = datasets.emplace(name, std::move(dataset)).first;
    }
    return found->second.get();
  }

  std::vector<std::int64_t> int64_rows(const std::string& name, std::int64_t first, std::int64_t count) const {
    std::vector<std::int64_t> values(static_cast<std::size_t>(count));
    h5::read_rows(dataset(name), Element::kI64, static_cast<hsize_t>(first), static_cast<hsize_t>(count), values.data(),
                  name);
    return values;
  }

  std::string bytes(const std::string& name, std::int64_t first, std::int64_t count) const {
    std::string text(static_cast<std::size_t>(count), '\0');
    h5::read_rows(dataset(name), Element::kU8, static_cast<hsize_t>(first), static_cast<hsize_t>(count), text.data(),
                  name);
    return text;
  }

  // Rows of a per-token dataset as a tensor [rows.size(), row...] of `type`, reading each run of consecutive rows
  // once (repeated and unordered requests are served from the unique sorted rows).
  at::Tensor gather(const std::string& name, Element element, at::ScalarType type, const std::vector<std::int64_t>& rows) const {
    const auto tokens = committed[layout::kTokens];
    for (const auto row : rows)
      if (row < 0 || row >= tokens)
        throw ArgumentError(fmt::format("row {} is outside {} (it holds {} committed rows)", row, path.string(), tokens));
    const hid_t id = dataset(name);
    const auto shape = h5::dataset_shape(id, name);
    std::vector<std::int64_t> sizes(shape.begin(), shape.end());
    const at::Tensor requested = at::tensor(rows, at::kLong);
    const auto [unique, inverse] = at::_unique(requested, /*sorted=*/true, /*return_inverse=*/true);
    sizes[0] = unique.size(0);
    at::Tensor out = at::empty(sizes, at::TensorOptions().dtype(type));
    const auto row_bytes = static_cast<std::size_t>(out.numel() > 0 ? out.nbytes() / static_cast<std::size_t>(sizes[0]) : 0);
    const auto* values = unique.data_ptr<std::int64_t>();
    auto* bytes_out = static_cast<char*>(out.data_ptr());
    for (std::int64_t start = 0; start < unique.size(0);) {
      std::int64_t end = start + 1;
      while (end < unique.size(0) && values[end] == values[end - 1] + 1) ++end;
      h5::read_rows(id, element, static_cast<hsize_t>(values[start]), static_cast<hsize_t>(end - start),
                    bytes_out + static_cast<std::size_t>(start) * row_bytes, name);
      start = end;
    }
    return out.index_select(0, inverse);
  }

  void load_document_rows() const {
    {
      const std::lock_guard<std::mutex> lock(mutex);
      if (!document_first_token.empty() || committed[layout::kDocuments] == 0) return;
    }
    auto first = int64_rows(layout::kDocFirstToken, 0, committed[layout::kDocuments]);
    auto stored = int64_rows(layout::kDocStored, 0, committed[layout::kDocuments]);
    const std::lock_guard<std::mutex> lock(mutex);
    document_first_token = std::move(first);
    document_stored = std::move(stored);
  }

  void check_document(std::int64_t index) const {
    if (index < 0 || index >= committed[layout::kDocuments])
      throw ArgumentError(fmt::format("document {} is outside {} (it holds {} committed documents)", index,
                                      path.string(), committed[layout::kDocuments]));
  }

  void check_hook(const std::string& hook) const {
    if (std::find(hooks.begin(), hooks.end(), hook) == hooks.end())
      throw ArgumentError(fmt::format("{} holds no hook {} (it holds {} hooks{}{})", path.string(), hook, hooks.size(),
                                      hooks.empty() ? "" : ", e.g. ", hooks.empty() ? "" : hooks.front()));
  }
};

ActivationStore::ActivationStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ActivationStore::~ActivationStore() = default;
ActivationStore::ActivationStore(ActivationStore&&) noexcept = default;
ActivationStore& ActivationStore::operator=(ActivationStore&&) noexcept = default;

ActivationStore ActivationStore::open(const std::filesystem::path& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->file = h5::open_file_for_read(path);
  const hid_t file = impl->file.get();
  check_store_format(file, path);
  const h5::Handle committed = h5::open_dataset(file, layout::kCommitted, path);
  const auto counts = h5::read_int64s(committed.get(), layout::kCommitted);
  if (counts.size() != impl->committed.size())
    throw FormatError(fmt::format("{}: {} must hold {} counts", path.string(), layout::kCommitted, impl->committed.size()));
  std::copy(counts.begin(), counts.end(), impl->committed.begin());
  impl->hooks = h5::read_strings_attribute(file, layout::kAttrHooks);
  impl->dtype = stored_dtype_from_name(h5::read_string_attribute(file, layout::kAttrDtype), path.string());
  return ActivationStore(std::move(impl));
}

const std::filesystem::path& ActivationStore::path() const { return impl_->path; }
std::int64_t ActivationStore::tokens() const { return impl_->committed[layout::kTokens]; }
std::int64_t ActivationStore::documents() const { return impl_->committed[layout::kDocuments]; }
bool ActivationStore::complete() const { return impl_->committed[layout::kComplete] != 0; }
const std::vector<std::string>& ActivationStore::hooks() const { return impl_->hooks; }
at::ScalarType ActivationStore::dtype() const { return impl_->dtype; }

std::vector<std::int64_t> ActivationStore::row_shape(const std::string& hook) const {
  impl_->check_hook(hook);
  const auto shape = h5::dataset_shape(impl_->dataset(hook), hook);
  return {shape.begin() + 1, shape.end()};
}

std::string ActivationStore::attribute(const std::string& name) const {
  if (!h5::has_attribute(impl_->file.get(), name))
    throw ArgumentError(fmt::format("{} has no attribute {}", impl_->path.string(), name));
  return h5::read_string_attribute(impl_->file.get(), name);
}

nlohmann::json ActivationStore::model_config() const { return nlohmann::json::parse(attribute(layout::kAttrModelConfig)); }

at::Tensor ActivationStore::read(const std::string& hook, std::int64_t first, std::int64_t count) const {
  if (first < 0 || count < 0 || first + count > tokens())
    throw ArgumentError(fmt::format("rows {}..{} are outside {} (it holds {} committed rows)", first, first + count,
                                    impl_->path.string(), tokens()));
  std::vector<std::int64_t> sizes{count};
  for (const auto size : row_shape(hook)) sizes.push_back(size);
  at::Tensor out = at::empty(sizes, at::TensorOptions().dtype(impl_->dtype));
  h5::read_rows(impl_->dataset(hook), stored_element(impl_->dtype), static_cast<hsize_t>(first),
                static_cast<hsize_t>(count), out.data_ptr(), hook);
  return out;
}

at::Tensor ActivationStore::read(const std::string& hook, const std::vector<std::int64_t>& rows) const {
  impl_->check_hook(hook);
  return impl_->gather(hook, stored_element(impl_->dtype), impl_->dtype, rows);
}

at::Tensor ActivationStore::token_ids(const std::vector<std::int64_t>& rows) const {
  return impl_->gather(layout::kTokenId, Element::kI32, at::kInt, rows);
}

at::Tensor ActivationStore::token_documents(const std::vector<std::int64_t>& rows) const {
  return impl_->gather(layout::kTokenDocument, Element::kI64, at::kLong, rows);
}

at::Tensor ActivationStore::token_positions(const std::vector<std::int64_t>& rows) const {
  return impl_->gather(layout::kTokenPosition, Element::kI32, at::kInt, rows);
}

StoredDocument ActivationStore::document(std::int64_t index) const {
  impl_->check_document(index);
  const auto value = [&](const char* name) { return impl_->int64_rows(name, index, 1).front(); };
  StoredDocument document{index, value(layout::kDocFirstToken), value(layout::kDocStored), value(layout::kDocLength),
                          value(layout::kDocLine), {}, {}};
  document.text = impl_->bytes(layout::kDocText, value(layout::kDocTextOffset), value(layout::kDocTextLength));
  document.labels =
      nlohmann::json::parse(impl_->bytes(layout::kDocLabels, value(layout::kDocLabelOffset), value(layout::kDocLabelLength)));
  return document;
}

std::vector<std::int64_t> ActivationStore::documents_where(const std::string& key, const nlohmann::json& value) const {
  const auto count = documents();
  const auto offsets = impl_->int64_rows(layout::kDocLabelOffset, 0, count);
  const auto lengths = impl_->int64_rows(layout::kDocLabelLength, 0, count);
  const std::string labels = impl_->bytes(layout::kDocLabels, 0, impl_->committed[layout::kLabelBytes]);
  std::vector<std::int64_t> matches;
  for (std::int64_t i = 0; i < count; ++i) {
    const auto at = static_cast<std::size_t>(i);
    const auto object = nlohmann::json::parse(labels.substr(static_cast<std::size_t>(offsets[at]),
                                                            static_cast<std::size_t>(lengths[at])));
    if (const auto found = object.find(key); found != object.end() && *found == value) matches.push_back(i);
  }
  return matches;
}

std::vector<std::int64_t> ActivationStore::rows_of_documents(const std::vector<std::int64_t>& documents,
                                                             bool last_only) const {
  impl_->load_document_rows();
  std::vector<std::int64_t> rows;
  for (const auto index : documents) {
    impl_->check_document(index);
    const auto first = impl_->document_first_token[static_cast<std::size_t>(index)];
    const auto stored = impl_->document_stored[static_cast<std::size_t>(index)];
    // A killed dump can hold a document's record before all its rows: keep only committed rows.
    const auto end = std::min(first + stored, tokens());
    if (last_only) {
      if (end > first) rows.push_back(end - 1);
    } else {
      for (auto row = first; row < end; ++row) rows.push_back(row);
    }
  }
  return rows;
}

}  // namespace moulin
