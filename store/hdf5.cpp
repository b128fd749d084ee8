#include "store/hdf5.h"

#include <numeric>

#include <fmt/format.h>

#include "core/error.h"

namespace moulin::h5 {

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = other.id_;
    close_ = other.close_;
    other.id_ = H5I_INVALID_HID;
  }
  return *this;
}

bool Handle::reset() {
  if (id_ < 0) return true;
  const herr_t status = close_(id_);
  id_ = H5I_INVALID_HID;
  return status >= 0;
}

void quiet() {
  thread_local bool done = false;
  if (!done) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    done = true;
  }
}

namespace {

herr_t collect_error(unsigned, const H5E_error2_t* error, void* data) {
  if (error->desc && *error->desc) static_cast<std::vector<std::string>*>(data)->emplace_back(error->desc);
  return 0;
}

// HDF5's message for a failed system call is long (time, descriptor, buffer address, sizes): keep its errno text.
std::string shorten(const std::string& message) {
  constexpr std::string_view kErrno = "error message = '";
  const auto at = message.find(kErrno);
  if (at == std::string::npos) return message;
  const auto start = at + kErrno.size();
  const auto end = message.find('\'', start);
  const auto colon = message.find(':');
  return fmt::format("{}: {}", message.substr(0, colon), message.substr(start, end - start));
}

Handle property_list(hid_t cls) {
  const hid_t id = H5Pcreate(cls);
  if (id < 0) fail("creating an HDF5 property list");
  return Handle(id, H5Pclose);
}

Handle latest_format_access() {
  Handle fapl = property_list(H5P_FILE_ACCESS);
  if (H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST) < 0) fail("setting the HDF5 file format");
  return fapl;
}

void set_flag_if_known(hid_t fapl, const char* name) {
  hbool_t value = true;
  if (H5Pexist(fapl, name) > 0) H5Pset(fapl, name, &value);
}

hsize_t elements(const std::vector<hsize_t>& shape) {
  return std::accumulate(shape.begin(), shape.end(), hsize_t{1}, std::multiplies<>());
}

Handle dataspace_of(hid_t dataset, const std::string& name) {
  const hid_t space = H5Dget_space(dataset);
  if (space < 0) fail(fmt::format("reading the shape of {}", name));
  return Handle(space, H5Sclose);
}

Handle string_type() {
  const hid_t type = H5Tcopy(H5T_C_S1);
  if (type < 0 || H5Tset_size(type, H5T_VARIABLE) < 0 || H5Tset_cset(type, H5T_CSET_UTF8) < 0)
    fail("creating the HDF5 string type");
  return Handle(type, H5Tclose);
}

// The attribute `name` of `object`, created afresh with `type` and `space` (replacing an older one).
Handle new_attribute(hid_t object, const std::string& name, hid_t type, hid_t space) {
  if (H5Aexists(object, name.c_str()) > 0 && H5Adelete(object, name.c_str()) < 0)
    fail(fmt::format("replacing attribute {}", name));
  const hid_t attribute = H5Acreate2(object, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT);
  if (attribute < 0) fail(fmt::format("creating attribute {}", name));
  return Handle(attribute, H5Aclose);
}

Handle open_attribute(hid_t object, const std::string& name) {
  const hid_t attribute = H5Aopen(object, name.c_str(), H5P_DEFAULT);
  if (attribute < 0) fail(fmt::format("reading attribute {}", name));
  return Handle(attribute, H5Aclose);
}

// Selects rows [first, first + count) of a dataset whose shape is `shape`.
void select_rows(hid_t space, const std::vector<hsize_t>& shape, hsize_t first, hsize_t count, const std::string& name) {
  std::vector<hsize_t> start(shape.size(), 0), counts = shape;
  start[0] = first;
  counts[0] = count;
  if (H5Sselect_hyperslab(space, H5S_SELECT_SET, start.data(), nullptr, counts.data(), nullptr) < 0)
    fail(fmt::format("selecting rows {}..{} of {}", first, first + count, name));
}

}  // namespace

std::string error_text() {
  std::vector<std::string> messages;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_error, &messages);
  H5Eclear2(H5E_DEFAULT);
  if (messages.empty()) return {};
  const std::string outer = messages.front(), inner = shorten(messages.back());
  return messages.size() == 1 || outer == inner ? inner : outer + ": " + inner;
}

void fail(const std::string& what) {
  const std::string cause = error_text();
  throw FileError(cause.empty() ? what : what + ": " + cause);
}

Handle create_file(const std::filesystem::path& path) {
  quiet();
  const Handle fapl = latest_format_access();
  // Space HDF5 frees (a compressed chunk rewritten at a new size, metadata that moved) is never handed out again:
  // the last commit on disk may still point at it, and a crash must find it unchanged.
  const Handle fcpl = property_list(H5P_FILE_CREATE);
  if (H5Pset_file_space_strategy(fcpl.get(), H5F_FSPACE_STRATEGY_NONE, false, 1) < 0)
    fail("setting the file space strategy");
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get());
  if (file < 0) fail(fmt::format("cannot create {}", path.string()));
  return Handle(file, H5Fclose);
}

Handle open_file_for_append(const std::filesystem::path& path) {
  quiet();
  const Handle fapl = latest_format_access();
  // What `h5clear -s` and `h5clear --increment` set: clear the mark a killed writer leaves, and accept a file shorter
  // than its recorded end (space HDF5 allocated but had not written yet; closing extends the file to it). Both are
  // properties reached through the generic property interface, which HDF5 does not document.
  set_flag_if_known(fapl.get(), "clear_status_flags");
  set_flag_if_known(fapl.get(), "skip_eof_check");
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR | H5F_ACC_SWMR_WRITE, fapl.get());
  if (file < 0) fail(fmt::format("cannot open {} for appending", path.string()));
  Handle handle(file, H5Fclose);
  // A killed writer's last chunks can lie past the end of allocation its superblock recorded (space reserved ahead
  // keeps them inside the file): allocate from the end of the file on, so nothing new lands on them.
  if (H5Fincrement_filesize(file, 0) < 0) fail(fmt::format("cannot open {} for appending", path.string()));
  return handle;
}

Handle open_file_for_read(const std::filesystem::path& path) {
  quiet();
  if (!std::filesystem::exists(path)) throw FileError(fmt::format("{}: no such file", path.string()));
  const Handle fapl = latest_format_access();
  // A reader's shared lock would stop a dump from resuming into the file while it is open; SWMR reading is made
  // for a writer working at the same time, so readers take no lock.
  H5Pset_file_locking(fapl.get(), false, true);
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl.get());
  if (file < 0) fail(fmt::format("cannot open {} as an HDF5 file", path.string()));
  return Handle(file, H5Fclose);
}

hid_t memory_type(Element element) {
  switch (element) {
    case Element::kU8: return H5T_NATIVE_UINT8;
    case Element::kU16: return H5T_NATIVE_UINT16;
    case Element::kI32: return H5T_NATIVE_INT32;
    case Element::kI64: return H5T_NATIVE_INT64;
    case Element::kF32: return H5T_NATIVE_FLOAT;
    case Element::kF16: return file_type(element);
  }
  return H5I_INVALID_HID;
}

hid_t file_type(Element element) {
  switch (element) {
    case Element::kU8: return H5T_STD_U8LE;
    case Element::kU16: return H5T_STD_U16LE;
    case Element::kI32: return H5T_STD_I32LE;
    case Element::kI64: return H5T_STD_I64LE;
    case Element::kF32: return H5T_IEEE_F32LE;
    case Element::kF16: {
      // HDF5 1.10 predefines no half type: build IEEE binary16 from the float32 type, field by field, as h5py
      // does (so h5py maps it to numpy.float16). Built once and kept for the life of the process.
      static const hid_t half = [] {
        const hid_t type = H5Tcopy(H5T_IEEE_F32LE);
        H5Tset_fields(type, 15, 10, 5, 0, 10);
        H5Tset_size(type, 2);
        H5Tset_ebias(type, 15);
        return type;
      }();
      return half;
    }
  }
  return H5I_INVALID_HID;
}

Handle create_rows_dataset(hid_t file, const RowsDatasetSpec& spec, const std::filesystem::path& file_path) {
  std::vector<hsize_t> dims{0}, max_dims{H5S_UNLIMITED}, chunk{spec.chunk_rows};
  for (const hsize_t size : spec.row_shape) {
    dims.push_back(size);
    max_dims.push_back(size);
    chunk.push_back(size);
  }
  const hid_t space_id = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), max_dims.data());
  if (space_id < 0) fail(fmt::format("creating the dataspace of {}", spec.path));
  const Handle space(space_id, H5Sclose);
  const Handle dcpl = property_list(H5P_DATASET_CREATE);
  if (H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()) < 0)
    fail(fmt::format("setting the chunks of {}", spec.path));
  const auto& filter = spec.filter;
  herr_t status = 0;
  if (filter.kind == Filter::Kind::kGzip) {
    status = H5Pset_shuffle(dcpl.get());
    if (status >= 0) status = H5Pset_deflate(dcpl.get(), static_cast<unsigned>(filter.level));
  } else if (filter.kind == Filter::Kind::kLz4) {
    const unsigned block_bytes = 0;  // the plugin's default block size
    status = H5Pset_filter(dcpl.get(), 32004, H5Z_FLAG_MANDATORY, 1, &block_bytes);
  } else if (filter.kind == Filter::Kind::kBlosc) {
    // The first four values are filled in by the filter itself (version, type size, chunk size).
    const unsigned values[7] = {0, 0, 0, 0, static_cast<unsigned>(filter.level), 1 /* byte shuffle */,
                                static_cast<unsigned>(filter.blosc_compressor)};
    status = H5Pset_filter(dcpl.get(), 32001, H5Z_FLAG_MANDATORY, 7, values);
  }
  if (status < 0) fail(fmt::format("setting the compression of {}", spec.path));
  const Handle lcpl = property_list(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  const hid_t dataset = H5Dcreate2(file, spec.path.c_str(), file_type(spec.element), space.get(), lcpl.get(),
                                   dcpl.get(), H5P_DEFAULT);
  if (dataset < 0) fail(fmt::format("creating dataset {} in {}", spec.path, file_path.string()));
  return Handle(dataset, H5Dclose);
}

Handle open_dataset(hid_t file, const std::string& path, const std::filesystem::path& file_path) {
  if (!link_exists(file, path)) throw FormatError(fmt::format("{}: no dataset {}", file_path.string(), path));
  const Handle dapl = property_list(H5P_DATASET_ACCESS);
  hid_t dataset = H5Dopen2(file, path.c_str(), dapl.get());
  if (dataset < 0) fail(fmt::format("opening dataset {} of {}", path, file_path.string()));
  Handle handle(dataset, H5Dclose);
  // Appends leave the last chunk partly filled after every batch: the cache must hold it (and the next one) until
  // it fills, or each batch would rewrite it from disk. HDF5's default cache (1 MiB per dataset) can be smaller
  // than one chunk, so reopen with room for four.
  const std::size_t bytes = chunk_bytes(dataset);
  if (bytes * 4 > (std::size_t{1} << 20)) {
    handle.reset();
    H5Pset_chunk_cache(dapl.get(), 521, bytes * 4, 1.0);
    dataset = H5Dopen2(file, path.c_str(), dapl.get());
    if (dataset < 0) fail(fmt::format("opening dataset {} of {}", path, file_path.string()));
    handle = Handle(dataset, H5Dclose);
  }
  return handle;
}

std::size_t chunk_bytes(hid_t dataset) {
  const Handle dcpl(H5Dget_create_plist(dataset), H5Pclose);
  if (!dcpl || H5Pget_layout(dcpl.get()) != H5D_CHUNKED) return 0;
  std::vector<hsize_t> chunk(H5S_MAX_RANK);
  const int rank = H5Pget_chunk(dcpl.get(), H5S_MAX_RANK, chunk.data());
  chunk.resize(static_cast<std::size_t>(std::max(rank, 0)));
  const Handle type(H5Dget_type(dataset), H5Tclose);
  return elements(chunk) * H5Tget_size(type.get());
}

std::uint64_t end_of_allocation(hid_t file, const std::filesystem::path& file_path) {
  haddr_t end = 0;
  if (H5Fget_eoa(file, &end) < 0) fail(fmt::format("reading the allocated size of {}", file_path.string()));
  return end;
}

bool link_exists(hid_t file, const std::string& path) {
  // H5Lexists fails rather than answering when a parent group is missing: test each prefix.
  for (std::size_t slash = path.find('/'); ; slash = path.find('/', slash + 1)) {
    const std::string prefix = path.substr(0, slash);
    if (H5Lexists(file, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (slash == std::string::npos) return true;
  }
}

std::vector<hsize_t> dataset_shape(hid_t dataset, const std::string& name) {
  const Handle space = dataspace_of(dataset, name);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
  if (rank < 0 || H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) < 0)
    fail(fmt::format("reading the shape of {}", name));
  return dims;
}

void set_rows(hid_t dataset, hsize_t rows, const std::string& name) {
  std::vector<hsize_t> dims = dataset_shape(dataset, name);
  if (dims.at(0) == rows) return;
  dims[0] = rows;
  if (H5Dset_extent(dataset, dims.data()) < 0) fail(fmt::format("resizing {} to {} rows", name, rows));
}

void write_rows(hid_t dataset, Element element, hsize_t first, hsize_t count, const void* data, const std::string& name) {
  if (count == 0) return;
  std::vector<hsize_t> shape = dataset_shape(dataset, name);
  if (shape[0] < first + count) {
    shape[0] = first + count;
    if (H5Dset_extent(dataset, shape.data()) < 0) fail(fmt::format("extending {} to {} rows", name, shape[0]));
  }
  const Handle file_space = dataspace_of(dataset, name);
  select_rows(file_space.get(), shape, first, count, name);
  const hsize_t memory_elements = count * elements({shape.begin() + 1, shape.end()});
  const Handle memory_space(H5Screate_simple(1, &memory_elements, nullptr), H5Sclose);
  if (H5Dwrite(dataset, memory_type(element), memory_space.get(), file_space.get(), H5P_DEFAULT, data) < 0)
    fail(fmt::format("writing rows {}..{} of {}", first, first + count, name));
}

void read_rows(hid_t dataset, Element element, hsize_t first, hsize_t count, void* out, const std::string& name) {
  if (count == 0) return;
  const std::vector<hsize_t> shape = dataset_shape(dataset, name);
  if (first + count > shape[0])
    throw FormatError(fmt::format("{} has {} rows, cannot read rows {}..{}", name, shape[0], first, first + count));
  const Handle file_space = dataspace_of(dataset, name);
  select_rows(file_space.get(), shape, first, count, name);
  const hsize_t memory_elements = count * elements({shape.begin() + 1, shape.end()});
  const Handle memory_space(H5Screate_simple(1, &memory_elements, nullptr), H5Sclose);
  if (H5Dread(dataset, memory_type(element), memory_space.get(), file_space.get(), H5P_DEFAULT, out) < 0)
    fail(fmt::format("reading rows {}..{} of {}", first, first + count, name));
}

Handle create_fixed_int64(hid_t file, const std::string& path, hsize_t size, const std::filesystem::path& file_path) {
  const Handle space(H5Screate_simple(1, &size, nullptr), H5Sclose);
  const Handle dcpl = property_list(H5P_DATASET_CREATE);
  H5Pset_layout(dcpl.get(), H5D_CONTIGUOUS);
  H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY);
  const hid_t dataset =
      H5Dcreate2(file, path.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT);
  if (dataset < 0) fail(fmt::format("creating dataset {} in {}", path, file_path.string()));
  return Handle(dataset, H5Dclose);
}

void write_int64s(hid_t dataset, const std::vector<std::int64_t>& values, const std::string& name) {
  if (H5Dwrite(dataset, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0)
    fail(fmt::format("writing {}", name));
}

std::vector<std::int64_t> read_int64s(hid_t dataset, const std::string& name) {
  const auto shape = dataset_shape(dataset, name);
  if (shape.size() != 1) throw FormatError(fmt::format("{} must be one-dimensional", name));
  std::vector<std::int64_t> values(shape[0]);
  if (H5Dread(dataset, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0)
    fail(fmt::format("reading {}", name));
  return values;
}

void write_attribute(hid_t object, const std::string& name, const std::string& value) {
  const Handle type = string_type();
  const Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  const Handle attribute = new_attribute(object, name, type.get(), space.get());
  const char* text = value.c_str();
  if (H5Awrite(attribute.get(), type.get(), &text) < 0) fail(fmt::format("writing attribute {}", name));
}

void write_attribute(hid_t object, const std::string& name, const std::vector<std::string>& values) {
  const Handle type = string_type();
  const hsize_t size = values.size();
  const Handle space(H5Screate_simple(1, &size, nullptr), H5Sclose);
  const Handle attribute = new_attribute(object, name, type.get(), space.get());
  std::vector<const char*> texts;
  for (const auto& value : values) texts.push_back(value.c_str());
  if (H5Awrite(attribute.get(), type.get(), texts.data()) < 0) fail(fmt::format("writing attribute {}", name));
}

void write_attribute(hid_t object, const std::string& name, std::int64_t value) {
  const Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  const Handle attribute = new_attribute(object, name, H5T_STD_I64LE, space.get());
  if (H5Awrite(attribute.get(), H5T_NATIVE_INT64, &value) < 0) fail(fmt::format("writing attribute {}", name));
}

bool has_attribute(hid_t object, const std::string& name) { return H5Aexists(object, name.c_str()) > 0; }

std::vector<std::string> read_strings_attribute(hid_t object, const std::string& name) {
  const Handle attribute = open_attribute(object, name);
  const Handle stored_type(H5Aget_type(attribute.get()), H5Tclose);
  if (H5Tget_class(stored_type.get()) != H5T_STRING || H5Tis_variable_str(stored_type.get()) <= 0)
    throw FormatError(fmt::format("attribute {} is not a variable-length string", name));
  const Handle space(H5Aget_space(attribute.get()), H5Sclose);
  const auto count = static_cast<std::size_t>(H5Sget_simple_extent_npoints(space.get()));
  std::vector<char*> texts(count, nullptr);
  const Handle type = string_type();
  if (H5Aread(attribute.get(), type.get(), texts.data()) < 0) fail(fmt::format("reading attribute {}", name));
  std::vector<std::string> values;
  for (char* text : texts) {
    values.emplace_back(text ? text : "");
    H5free_memory(text);
  }
  return values;
}

std::string read_string_attribute(hid_t object, const std::string& name) {
  auto values = read_strings_attribute(object, name);
  if (values.size() != 1) throw FormatError(fmt::format("attribute {} must hold one string", name));
  return values.front();
}

std::int64_t read_int_attribute(hid_t object, const std::string& name) {
  const Handle attribute = open_attribute(object, name);
  std::int64_t value = 0;
  if (H5Aread(attribute.get(), H5T_NATIVE_INT64, &value) < 0) fail(fmt::format("reading attribute {}", name));
  return value;
}

bool filter_available(H5Z_filter_t filter_id) {
  quiet();
  const htri_t available = H5Zfilter_avail(filter_id);
  H5Eclear2(H5E_DEFAULT);
  return available > 0;
}

}  // namespace moulin::h5
