#pragma once
// A thin RAII layer over the HDF5 C API: every hid_t lives in a Handle that closes it, and every failing call
// throws FileError naming what moulin was doing, the file, and the innermost message of HDF5's error stack.
// moulin uses the C API only (the C++ API adds nothing the store needs and hides the error stack).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <hdf5.h>

namespace moulin::h5 {

// An owned HDF5 identifier with the function that releases it (H5Fclose, H5Dclose, ...).
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer close) : id_(id), close_(close) {}
  ~Handle() { reset(); }
  Handle(Handle&& other) noexcept : id_(other.id_), close_(other.close_) { other.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t get() const { return id_; }
  explicit operator bool() const { return id_ >= 0; }
  // Closes now; returns false when HDF5 reports a failure (a close flushes, so it can fail on a full disk).
  bool reset();

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer close_ = nullptr;
};

// Turns off HDF5's printing of its error stack to stderr for the calling thread (the stack is per thread), so
// failures reach the user once, as moulin's exception. Cheap after the first call on a thread.
void quiet();
// The innermost message of the calling thread's HDF5 error stack (the cause, e.g. "errno = 28, error message =
// 'No space left on device'"), or "" when the stack is empty.
std::string error_text();
// Throws FileError("{what}: {error_text()}").
[[noreturn]] void fail(const std::string& what);
inline void check(herr_t status, const char* what, const std::filesystem::path& file) {
  if (status < 0) fail(std::string(what) + " in " + file.string());
}

// Files. Stores use the latest file format, which single-writer/multiple-reader (SWMR) mode requires: while a
// file is open for appending, HDF5 orders its metadata writes so the file on disk is consistent at every moment.
// create_file opens without SWMR: objects can only be created then, never once appending has started.
Handle create_file(const std::filesystem::path& path);
// For appending in SWMR mode. Clears the "open for writing" mark a killed writer leaves in the superblock (what
// `h5clear -s` does) so a dump can be resumed.
Handle open_file_for_append(const std::filesystem::path& path);
// Read-only in SWMR-read mode, which also opens files whose writer was killed or is still running (HDF5 then also
// accepts a file shorter than its recorded end, which a killed writer can leave).
Handle open_file_for_read(const std::filesystem::path& path);

// Element types: what moulin writes and how h5py reads each back.
enum class Element { kU8, kU16, kI32, kI64, kF16, kF32 };
// The type in memory (native) and in the file (little-endian). kF16 is the IEEE half type h5py reads as
// numpy.float16.
hid_t memory_type(Element element);
hid_t file_type(Element element);

// Filters applied to chunks (none by default).
struct Filter {
  enum class Kind { kNone, kGzip, kLz4, kBlosc };
  Kind kind = Kind::kNone;
  int level = 0;                      // gzip 1-9, blosc 1-9
  int blosc_compressor = 0;           // blosc: 1 = lz4, 5 = zstd
};

// A dataset of rows [n, row...] growing along its first axis: chunked, unlimited, created empty.
struct RowsDatasetSpec {
  std::string path;                 // "blocks.0.hook_resid_post", "tokens/id" (parent groups are created)
  Element element;
  std::vector<hsize_t> row_shape;   // empty for 1-D datasets
  hsize_t chunk_rows;
  Filter filter;
};
Handle create_rows_dataset(hid_t file, const RowsDatasetSpec& spec, const std::filesystem::path& file_path);
Handle open_dataset(hid_t file, const std::string& path, const std::filesystem::path& file_path);
bool link_exists(hid_t file, const std::string& path);
// Bytes of one chunk of a chunked dataset (0 for other layouts).
std::size_t chunk_bytes(hid_t dataset);
// Where HDF5 will allocate next in the file: the end of what it has allocated so far.
std::uint64_t end_of_allocation(hid_t file, const std::filesystem::path& file_path);

// Dataset shape and row access. `row_elements` is the product of the row shape. Writes grow the extent when
// needed; `set_rows` sets it exactly (shrinking drops the rows past it).
std::vector<hsize_t> dataset_shape(hid_t dataset, const std::string& name);
void set_rows(hid_t dataset, hsize_t rows, const std::string& name);
void write_rows(hid_t dataset, Element element, hsize_t first, hsize_t count, const void* data, const std::string& name);
void read_rows(hid_t dataset, Element element, hsize_t first, hsize_t count, void* out, const std::string& name);

// A small fixed-size 1-D int64 dataset written whole in place (the commit record): contiguous and allocated at
// creation, so rewriting it changes no metadata, only its 8-byte values.
Handle create_fixed_int64(hid_t file, const std::string& path, hsize_t size, const std::filesystem::path& file_path);
void write_int64s(hid_t dataset, const std::vector<std::int64_t>& values, const std::string& name);
std::vector<std::int64_t> read_int64s(hid_t dataset, const std::string& name);

// Attributes: UTF-8 strings (h5py reads str), string lists (arrays of str) and int64 scalars.
void write_attribute(hid_t object, const std::string& name, const std::string& value);
void write_attribute(hid_t object, const std::string& name, const std::vector<std::string>& values);
void write_attribute(hid_t object, const std::string& name, std::int64_t value);
bool has_attribute(hid_t object, const std::string& name);
std::string read_string_attribute(hid_t object, const std::string& name);
std::vector<std::string> read_strings_attribute(hid_t object, const std::string& name);
std::int64_t read_int_attribute(hid_t object, const std::string& name);

// Whether HDF5 can apply `filter_id` (built in, or a plugin in HDF5_PLUGIN_PATH or the default plugin folder).
bool filter_available(H5Z_filter_t filter_id);

}  // namespace moulin::h5
