#pragma once
// The safetensors format: an 8-byte little-endian header length N, N bytes of JSON describing each tensor
// (dtype, shape, [begin, end) byte offsets into the data section), then the data section.
// Torch-free: parsing and validation here are fuzzed and run under ASan/UBSan on their own.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "core/mapped_file.h"

namespace moulin {

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;  // byte offset of the first element, relative to the data section
  std::uint64_t end = 0;    // one past the last byte, relative to the data section

  std::int64_t numel() const;
  std::uint64_t byte_size() const { return end - begin; }
};

struct SafetensorsHeader {
  std::vector<TensorInfo> tensors;              // sorted by begin offset
  std::map<std::string, std::string> metadata;  // the optional "__metadata__" object
  std::uint64_t data_start = 0;                 // 8 + header length
};

// Parses and validates the header of a safetensors file whose first bytes are `prefix` and whose total size is
// `file_size`. `source` names the file in error messages. Throws FormatError for truncation, a header length
// beyond the file, malformed JSON, duplicate names, unknown dtypes, shapes that disagree with the byte range,
// and overlapping or out-of-range offsets; UnsupportedError for a header over 100 MB.
SafetensorsHeader parse_safetensors_header(std::string_view prefix, std::uint64_t file_size,
                                           const std::string& source);

class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return file_.path(); }
  const std::vector<TensorInfo>& tensors() const { return header_.tensors; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  std::uint64_t file_size() const { return file_.size(); }

  const TensorInfo* find(std::string_view name) const;
  // Throws FormatError naming the file when the tensor is absent.
  const TensorInfo& at(std::string_view name) const;
  // The tensor's bytes inside the mapping (valid while this object lives).
  const std::byte* data(const TensorInfo& tensor) const;
  // Page hints for the byte range [offset, offset + length) of a tensor's data (the whole tensor by default).
  void will_read(const TensorInfo& tensor, std::uint64_t offset = 0, std::uint64_t length = kWholeTensor) const;
  void release(const TensorInfo& tensor, std::uint64_t offset = 0, std::uint64_t length = kWholeTensor) const;
  static constexpr std::uint64_t kWholeTensor = ~std::uint64_t{0};

 private:
  SafetensorsFile(MappedFile file, SafetensorsHeader header);
  MappedFile file_;
  SafetensorsHeader header_;
  std::map<std::string, std::size_t, std::less<>> index_;  // name -> position in header_.tensors
};

// One tensor to write: raw little-endian bytes of `dtype` elements in row-major order.
struct TensorBlob {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::int64_t> shape;
  const void* bytes = nullptr;
  std::size_t byte_size = 0;
};

// Writes a safetensors file (tensors in name order, header space-padded to a multiple of 8, as the reference
// implementation does). Writes to `path.tmp` then renames, so a crash never leaves a half-written checkpoint.
void write_safetensors(const std::filesystem::path& path, const std::vector<TensorBlob>& tensors,
                       const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace moulin
