#include "store/store_writer.h"

#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <numeric>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "core/torch_dtype.h"

#ifndef MOULIN_VERSION
#error "MOULIN_VERSION must be defined by the build (store/CMakeLists.txt)"
#endif

namespace moulin {
namespace {

using h5::Element;
using layout::CommitField;

struct ColumnSpec {
  const char* path;
  Element element;
  CommitField counter;
  hsize_t chunk_rows;
};

// The appendable datasets every store has, in the order StoreWriter::columns_ keeps them.
enum FixedColumn : std::size_t {
  kTokenId, kTokenDocument, kTokenPosition, kTokenWindowPosition,
  kDocFirstToken, kDocStored, kDocLength, kDocLine, kDocTextOffset, kDocTextLength, kDocLabelOffset, kDocLabelLength,
  kDocText, kDocLabels, kRuns, kFixedColumns
};
constexpr std::array<ColumnSpec, kFixedColumns> kColumns = {{
    {layout::kTokenId, Element::kI32, layout::kTokens, 16384},
    {layout::kTokenDocument, Element::kI64, layout::kTokens, 16384},
    {layout::kTokenPosition, Element::kI32, layout::kTokens, 16384},
    {layout::kTokenWindowPosition, Element::kI32, layout::kTokens, 16384},
    {layout::kDocFirstToken, Element::kI64, layout::kDocuments, 4096},
    {layout::kDocStored, Element::kI64, layout::kDocuments, 4096},
    {layout::kDocLength, Element::kI64, layout::kDocuments, 4096},
    {layout::kDocLine, Element::kI64, layout::kDocuments, 4096},
    {layout::kDocTextOffset, Element::kI64, layout::kDocuments, 4096},
    {layout::kDocTextLength, Element::kI64, layout::kDocuments, 4096},
    {layout::kDocLabelOffset, Element::kI64, layout::kDocuments, 4096},
    {layout::kDocLabelLength, Element::kI64, layout::kDocuments, 4096},
    {layout::kDocText, Element::kU8, layout::kTextBytes, 65536},
    {layout::kDocLabels, Element::kU8, layout::kLabelBytes, 65536},
    {layout::kRuns, Element::kU8, layout::kRunBytes, 4096},
}};

std::int64_t elements(const std::vector<std::int64_t>& shape) {
  return std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>());
}

// A power of two of rows in [16, 16384], about 1 MiB: large enough for fast sequential writes and reads, small
// enough that reading a few rows pulls in little more. And no more rows than a batch adds: each commit writes the
// partly filled last chunk whole (and a compressed one at a new place), so chunks larger than batches would
// multiply what small batches (--positions last) write.
hsize_t activation_chunk_rows(std::int64_t row_bytes, std::int64_t rows_per_batch) {
  hsize_t rows = 16;
  while (rows < 16384 && static_cast<std::int64_t>(rows) * 2 * row_bytes <= (std::int64_t{1} << 20) &&
         static_cast<std::int64_t>(rows) * 2 <= rows_per_batch)
    rows *= 2;
  return rows;
}

h5::Filter filter_for(const Compression& compression) {
  h5::Filter filter;
  filter.level = compression.level;
  const auto require = [](H5Z_filter_t id, const char* name, const char* package) {
    if (!h5::filter_available(id))
      throw UnsupportedError(fmt::format("compression {} needs the HDF5 filter plugin {} (Debian package {}; or point "
                                         "HDF5_PLUGIN_PATH at its folder)",
                                         name, id, package));
  };
  switch (compression.kind) {
    case CompressionKind::kNone: break;
    case CompressionKind::kGzip: filter.kind = h5::Filter::Kind::kGzip; break;
    case CompressionKind::kLz4:
      require(32004, "lz4", "hdf5-filter-plugin");
      filter.kind = h5::Filter::Kind::kLz4;
      break;
    case CompressionKind::kBloscLz4:
    case CompressionKind::kBloscZstd:
      require(32001, "blosc", "hdf5-filter-plugin-blosc-serial");
      filter.kind = h5::Filter::Kind::kBlosc;
      filter.blosc_compressor = compression.kind == CompressionKind::kBloscLz4 ? 1 : 5;
      break;
  }
  return filter;
}

void check_folder(const std::filesystem::path& path) {
  const auto folder = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  if (!std::filesystem::is_directory(folder))
    throw FileError(fmt::format("cannot create {}: {} is not a folder", path.string(), folder.string()));
  if (access(folder.c_str(), W_OK) != 0)
    throw FileError(fmt::format("cannot create {}: the folder {} is not writable", path.string(), folder.string()));
}

// Writes the attributes and creates every dataset of an empty store in an open, non-SWMR file.
void build_store(hid_t file, const std::filesystem::path& path, const StoreSpec& spec) {
  std::vector<std::string> hook_names;
  for (const auto& hook : spec.hooks) hook_names.push_back(hook.name);
  const std::string dtype(scalar_type_name(spec.dtype));
  h5::write_attribute(file, layout::kAttrFormat, std::string(layout::kFormat));
  h5::write_attribute(file, layout::kAttrFormatVersion, layout::kFormatVersion);
  h5::write_attribute(file, layout::kAttrMoulinVersion, std::string(MOULIN_VERSION));
  h5::write_attribute(file, layout::kAttrModelPath, spec.model_path);
  h5::write_attribute(file, layout::kAttrModelConfig, spec.model_config.dump());
  h5::write_attribute(file, layout::kAttrModelDtype, spec.model_dtype);
  h5::write_attribute(file, layout::kAttrTokenizer, spec.tokenizer);
  h5::write_attribute(file, layout::kAttrDtype, dtype);
  h5::write_attribute(file, layout::kAttrHooks, hook_names);
  h5::write_attribute(file, layout::kAttrCommand, spec.command);
  h5::write_attribute(file, layout::kAttrOptions, spec.options.dump());
  h5::write_attribute(file, layout::kAttrCreated, utc_timestamp());

  const h5::Handle committed = h5::create_fixed_int64(file, layout::kCommitted, layout::kCommitFields, path);
  h5::write_attribute(committed.get(), layout::kAttrFields,
                      std::vector<std::string>(layout::kCommitFieldNames.begin(), layout::kCommitFieldNames.end()));
  h5::write_int64s(committed.get(), std::vector<std::int64_t>(layout::kCommitFields, 0), layout::kCommitted);

  for (const auto& column : kColumns)
    h5::create_rows_dataset(file, {column.path, column.element, {}, column.chunk_rows, {}}, path);
  const h5::Filter filter = filter_for(spec.compression);
  const Element element = stored_element(spec.dtype);
  for (const auto& hook : spec.hooks) {
    std::vector<hsize_t> row_shape(hook.row_shape.begin(), hook.row_shape.end());
    const auto row_bytes = elements(hook.row_shape) * static_cast<std::int64_t>(at::elementSize(spec.dtype));
    const hsize_t chunk_rows = activation_chunk_rows(row_bytes, spec.rows_per_batch);
    const h5::Handle dataset = h5::create_rows_dataset(file, {hook.name, element, row_shape, chunk_rows, filter}, path);
    h5::write_attribute(dataset.get(), layout::kAttrHook, hook.name);
    h5::write_attribute(dataset.get(), layout::kAttrDtype, dtype);
  }
}

// Throws ArgumentError when `stored` (what the file says) and `given` (this run) differ.
template <typename Value>
void check_same(const std::filesystem::path& path, const std::string& what, const Value& stored, const Value& given) {
  if (stored == given) return;
  throw ArgumentError(fmt::format("cannot resume {}: it was dumped with {} {}, this run gives {} (resume with the "
                                  "same options, or --overwrite to start again)",
                                  path.string(), what, stored, given));
}

void check_spec(hid_t file, const std::filesystem::path& path, const StoreSpec& spec) {
  std::vector<std::string> hook_names;
  for (const auto& hook : spec.hooks) hook_names.push_back(hook.name);
  const auto stored_hooks = h5::read_strings_attribute(file, layout::kAttrHooks);
  check_same(path, "hooks", fmt::format("[{}]", fmt::join(stored_hooks, ", ")),
             fmt::format("[{}]", fmt::join(hook_names, ", ")));
  check_same(path, "stored dtype", h5::read_string_attribute(file, layout::kAttrDtype),
             std::string(scalar_type_name(spec.dtype)));
  check_same(path, "model dtype", h5::read_string_attribute(file, layout::kAttrModelDtype), spec.model_dtype);
  if (nlohmann::json::parse(h5::read_string_attribute(file, layout::kAttrModelConfig)) != spec.model_config)
    throw ArgumentError(fmt::format("cannot resume {}: it was dumped with another model (config.json differs from {})",
                                    path.string(), spec.model_path));
  const auto stored_options = nlohmann::json::parse(h5::read_string_attribute(file, layout::kAttrOptions));
  for (auto it = spec.options.begin(); it != spec.options.end(); ++it)
    check_same(path, "option " + it.key(), stored_options.value(it.key(), nlohmann::json()).dump(), it.value().dump());
}

}  // namespace

void check_store_format(hid_t file, const std::filesystem::path& path) {
  if (!h5::has_attribute(file, layout::kAttrFormat) ||
      h5::read_string_attribute(file, layout::kAttrFormat) != layout::kFormat)
    throw FormatError(fmt::format("{} is not a moulin activation store (no format = \"{}\" attribute)", path.string(),
                                  layout::kFormat));
  const auto version = h5::read_int_attribute(file, layout::kAttrFormatVersion);
  if (version != layout::kFormatVersion)
    throw FormatError(fmt::format("{}: store format version {} is not supported (this moulin reads version {})",
                                  path.string(), version, layout::kFormatVersion));
}

std::string utc_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm parts{};
  gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

h5::Element stored_element(at::ScalarType dtype) {
  switch (dtype) {
    case at::kFloat: return Element::kF32;
    case at::kHalf: return Element::kF16;
    case at::kBFloat16: return Element::kU16;
    default:
      throw UnsupportedError(fmt::format("activations can be stored as float32, float16 or bfloat16, not {}",
                                         scalar_type_name(dtype)));
  }
}

at::ScalarType stored_dtype_from_name(const std::string& name, const std::string& source) {
  for (const auto dtype : {at::kFloat, at::kHalf, at::kBFloat16})
    if (scalar_type_name(dtype) == name) return dtype;
  throw FormatError(fmt::format("{}: unknown stored dtype '{}'", source, name));
}

std::int64_t WriteBatch::bytes() const {
  // Per row: id, position and window position (int32), document (int64).
  std::int64_t total = rows() * static_cast<std::int64_t>(3 * sizeof(std::int32_t) + sizeof(std::int64_t));
  for (const auto& activation : activations) total += static_cast<std::int64_t>(activation.nbytes());
  for (const auto& document : documents)
    total += static_cast<std::int64_t>(8 * sizeof(std::int64_t) + document.text.size() + document.labels.size());
  return total;
}

StoreWriter StoreWriter::create(const std::filesystem::path& path, const StoreSpec& spec, bool overwrite) {
  check_folder(path);
  if (!overwrite && std::filesystem::exists(path))
    throw FileError(fmt::format("{} already exists: pass --resume to continue that dump or --overwrite to replace it",
                                path.string()));
  const std::filesystem::path temporary = path.string() + ".creating";
  std::filesystem::remove(temporary);  // left by a run killed while creating
  {
    h5::Handle file = h5::create_file(temporary);
    try {
      build_store(file.get(), path, spec);
    } catch (...) {
      file.reset();
      std::filesystem::remove(temporary);
      throw;
    }
    if (!file.reset()) h5::fail(fmt::format("writing {}", temporary.string()));
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) throw FileError(fmt::format("cannot rename {} to {}: {}", temporary.string(), path.string(), error.message()));
  return reopen(path);
}

StoreWriter StoreWriter::resume(const std::filesystem::path& path, const StoreSpec& spec) {
  h5::Handle file = h5::open_file_for_append(path);
  check_store_format(file.get(), path);
  check_spec(file.get(), path, spec);
  StoreWriter writer(path, std::move(file));
  writer.written_[layout::kComplete] = 0;  // until this run reaches the end (committed with its first batch)
  for (auto& column : writer.columns_)
    h5::set_rows(column.dataset.get(), static_cast<hsize_t>(writer.committed_[column.counter]), column.path);
  if (H5Fflush(writer.file_.get(), H5F_SCOPE_LOCAL) < 0) h5::fail(fmt::format("flushing {}", path.string()));
  return writer;
}

StoreWriter StoreWriter::reopen(const std::filesystem::path& path) {
  h5::Handle file = h5::open_file_for_append(path);
  check_store_format(file.get(), path);
  return StoreWriter(path, std::move(file));
}

StoreWriter::StoreWriter(std::filesystem::path path, h5::Handle file)
    : path_(std::move(path)), file_(std::move(file)), reservation_(path_) {
  committed_dataset_ = h5::open_dataset(file_.get(), layout::kCommitted, path_);
  const auto counts = h5::read_int64s(committed_dataset_.get(), layout::kCommitted);
  if (counts.size() != committed_.size())
    throw FormatError(fmt::format("{}: {} must hold {} counts", path_.string(), layout::kCommitted, committed_.size()));
  std::copy(counts.begin(), counts.end(), committed_.begin());
  written_ = committed_;
  const auto add = [&](const std::string& name, Element element, CommitField counter) {
    h5::Handle dataset = h5::open_dataset(file_.get(), name, path_);
    const auto bytes = h5::chunk_bytes(dataset.get());
    columns_.push_back({name, element, counter, std::move(dataset), bytes});
  };
  for (const auto& column : kColumns) add(column.path, column.element, column.counter);
  const Element element =
      stored_element(stored_dtype_from_name(h5::read_string_attribute(file_.get(), layout::kAttrDtype), path_.string()));
  for (const auto& hook : h5::read_strings_attribute(file_.get(), layout::kAttrHooks)) add(hook, element, layout::kTokens);
}

void StoreWriter::reserve(std::uint64_t bytes) {
  // Chunks are allocated whole: each dataset may start one chunk more than its share of the rows fills. The
  // metadata HDF5 rewrites (chunk indexes, object headers) needs a little more.
  constexpr std::uint64_t kMetadataBytes = 2 << 20;
  std::uint64_t chunks = 0;
  for (const auto& column : columns_) chunks += column.chunk_bytes;
  reservation_.reserve(h5::end_of_allocation(file_.get(), path_), bytes + chunks + kMetadataBytes);
}

std::optional<DocumentRecord> StoreWriter::last_document() const {
  const auto documents = committed_[layout::kDocuments];
  if (documents == 0) return std::nullopt;
  const auto row = static_cast<hsize_t>(documents - 1);
  const auto value = [&](FixedColumn column) {
    std::int64_t result = 0;
    h5::read_rows(columns_[column].dataset.get(), Element::kI64, row, 1, &result, columns_[column].path);
    return result;
  };
  DocumentRecord record{value(kDocFirstToken), value(kDocStored), value(kDocLength), value(kDocLine), {}, {}};
  record.text.resize(static_cast<std::size_t>(value(kDocTextLength)));
  h5::read_rows(columns_[kDocText].dataset.get(), Element::kU8, static_cast<hsize_t>(value(kDocTextOffset)),
                record.text.size(), record.text.data(), layout::kDocText);
  return record;
}

void StoreWriter::add_run(const std::string& json) { pending_runs_ += json + "\n"; }

void StoreWriter::write(std::size_t column, std::int64_t count, const void* data) {
  const Column& target = columns_[column];
  h5::write_rows(target.dataset.get(), target.element, static_cast<hsize_t>(written_[target.counter]),
                 static_cast<hsize_t>(count), data, target.path);
}

void StoreWriter::append(const WriteBatch& batch) {
  const std::int64_t rows = batch.rows();
  const std::size_t hooks = columns_.size() - kFixedColumns;
  if (batch.activations.size() != hooks || batch.token_document.size() != batch.token_id.size() ||
      batch.token_position.size() != batch.token_id.size() || batch.token_window_position.size() != batch.token_id.size())
    throw ArgumentError(fmt::format("write batch for {}: {} activations for {} hooks, or token arrays of unequal length",
                                    path_.string(), batch.activations.size(), hooks));
  reserve(static_cast<std::uint64_t>(batch.bytes()) + pending_runs_.size());
  CommitCounts next = written_;

  // Documents: their fixed-size fields, then their texts and labels appended to the byte datasets.
  const std::size_t documents = batch.documents.size();
  std::array<std::vector<std::int64_t>, 8> fields;
  std::string texts, labels;
  for (const auto& document : batch.documents) {
    const std::array<std::int64_t, 8> values = {
        document.first_token, document.stored, document.length, document.line,
        written_[layout::kTextBytes] + static_cast<std::int64_t>(texts.size()),
        static_cast<std::int64_t>(document.text.size()),
        written_[layout::kLabelBytes] + static_cast<std::int64_t>(labels.size()),
        static_cast<std::int64_t>(document.labels.size())};
    for (std::size_t i = 0; i < values.size(); ++i) fields[i].push_back(values[i]);
    texts += document.text;
    labels += document.labels;
  }
  for (std::size_t i = 0; i < fields.size(); ++i)
    write(kDocFirstToken + i, static_cast<std::int64_t>(documents), fields[i].data());
  write(kDocText, static_cast<std::int64_t>(texts.size()), texts.data());
  write(kDocLabels, static_cast<std::int64_t>(labels.size()), labels.data());
  write(kRuns, static_cast<std::int64_t>(pending_runs_.size()), pending_runs_.data());
  next[layout::kDocuments] += static_cast<std::int64_t>(documents);
  next[layout::kTextBytes] += static_cast<std::int64_t>(texts.size());
  next[layout::kLabelBytes] += static_cast<std::int64_t>(labels.size());
  next[layout::kRunBytes] += static_cast<std::int64_t>(pending_runs_.size());

  write(kTokenId, rows, batch.token_id.data());
  write(kTokenDocument, rows, batch.token_document.data());
  write(kTokenPosition, rows, batch.token_position.data());
  write(kTokenWindowPosition, rows, batch.token_window_position.data());
  for (std::size_t i = 0; i < hooks; ++i) {
    const at::Tensor& activation = batch.activations[i];
    const auto shape = h5::dataset_shape(columns_[kFixedColumns + i].dataset.get(), columns_[kFixedColumns + i].path);
    const auto row_elements = std::accumulate(shape.begin() + 1, shape.end(), hsize_t{1}, std::multiplies<>());
    if (!activation.device().is_cpu() || !activation.is_contiguous() ||
        activation.numel() != static_cast<std::int64_t>(row_elements) * rows ||
        stored_element(activation.scalar_type()) != columns_[kFixedColumns + i].element)
      throw ArgumentError(fmt::format("write batch for {}: activation {} must be a contiguous CPU tensor of {} x {} "
                                      "values of the stored dtype",
                                      path_.string(), columns_[kFixedColumns + i].path, rows, row_elements));
    write(kFixedColumns + i, rows, activation.data_ptr());
  }
  next[layout::kTokens] += rows;
  written_ = next;
  pending_runs_.clear();
}

void StoreWriter::flush() {
  if (H5Fflush(file_.get(), H5F_SCOPE_LOCAL) < 0) h5::fail(fmt::format("flushing {}", path_.string()));
}

void StoreWriter::commit() {
  if (written_ == committed_) return;
  flush();  // the data reaches the file before the record that vouches for it
  h5::write_int64s(committed_dataset_.get(), std::vector<std::int64_t>(written_.begin(), written_.end()),
                   path_.string() + ": " + layout::kCommitted);
  flush();
  committed_ = written_;
}

void StoreWriter::close(bool complete) {
  if (!file_) return;
  commit();  // batches already written: their space was reserved with them
  bool room = true;
  try {
    reserve(pending_runs_.size());
  } catch (const FileError&) {
    room = false;  // a full disk: leave the file as the last commit made it, which readers trust anyway
  }
  if (room) {
    write(kRuns, static_cast<std::int64_t>(pending_runs_.size()), pending_runs_.data());
    written_[layout::kRunBytes] += static_cast<std::int64_t>(pending_runs_.size());
    pending_runs_.clear();
    if (complete) written_[layout::kComplete] = 1;
    commit();
    for (auto& column : columns_)
      h5::set_rows(column.dataset.get(), static_cast<hsize_t>(committed_[column.counter]), column.path);
  }
  columns_.clear();
  committed_dataset_.reset();
  if (!file_.reset()) h5::fail(fmt::format("closing {}", path_.string()));
  // HDF5 in SWMR mode leaves the file as long as it grew, and the disk reservation grew it past HDF5's end of data:
  // give the reserved blocks back.
  const auto end = h5::end_of_allocation(h5::open_file_for_read(path_).get(), path_);
  if (std::filesystem::file_size(path_) > end) std::filesystem::resize_file(path_, end);
}

}  // namespace moulin
