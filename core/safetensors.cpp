#include "core/safetensors.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace moulin {
namespace {

using json = nlohmann::json;

// The reference implementation refuses headers over 100 MB; a real 8B checkpoint's header is ~30 kB.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

std::uint64_t read_le_u64(std::string_view bytes) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  return value;
}

// nlohmann keeps the last of duplicate keys silently; a parser callback sees every key, so duplicates at the top
// level (two tensors with one name) are caught here instead of silently dropping a tensor.
json parse_header_json(std::string_view text, const std::string& source) {
  std::set<std::string> seen;
  std::string duplicate;
  auto on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!seen.insert(key).second && duplicate.empty()) duplicate = key;
    }
    return true;
  };
  json header;
  try {
    header = json::parse(text.begin(), text.end(), on_event);
  } catch (const json::parse_error& error) {
    throw FormatError(fmt::format("{}: header is not valid JSON (byte {} of the header): {}", source, error.byte,
                                  error.what()));
  }
  if (!duplicate.empty()) throw FormatError(fmt::format("{}: tensor '{}' appears twice in the header", source, duplicate));
  if (!header.is_object()) throw FormatError(fmt::format("{}: header must be a JSON object", source));
  return header;
}

std::uint64_t parse_offset(const json& value, const std::string& source, const std::string& name) {
  if (!value.is_number_unsigned())
    throw FormatError(fmt::format("{}: tensor '{}': data_offsets must be non-negative integers, got {}", source, name,
                                  value.dump()));
  return value.get<std::uint64_t>();
}

TensorInfo parse_tensor_entry(const std::string& name, const json& entry, const std::string& source) {
  if (!entry.is_object())
    throw FormatError(fmt::format("{}: tensor '{}': entry must be an object, got {}", source, name, entry.dump()));
  TensorInfo tensor;
  tensor.name = name;

  const auto dtype_field = entry.find("dtype");
  if (dtype_field == entry.end() || !dtype_field->is_string())
    throw FormatError(fmt::format("{}: tensor '{}': missing string field 'dtype'", source, name));
  const auto dtype = dtype_from_safetensors_name(dtype_field->get_ref<const std::string&>());
  if (!dtype)
    throw FormatError(fmt::format("{}: tensor '{}': unknown dtype '{}'", source, name,
                                  dtype_field->get_ref<const std::string&>()));
  tensor.dtype = *dtype;

  const auto shape_field = entry.find("shape");
  if (shape_field == entry.end() || !shape_field->is_array())
    throw FormatError(fmt::format("{}: tensor '{}': missing array field 'shape'", source, name));
  for (const auto& dim : *shape_field) {
    if (!dim.is_number_unsigned())
      throw FormatError(fmt::format("{}: tensor '{}': shape entries must be non-negative integers, got {}", source,
                                    name, shape_field->dump()));
    const auto size = dim.get<std::uint64_t>();
    if (size > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      throw FormatError(fmt::format("{}: tensor '{}': dimension {} is too large", source, name, size));
    tensor.shape.push_back(static_cast<std::int64_t>(size));
  }

  const auto offsets = entry.find("data_offsets");
  if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2)
    throw FormatError(fmt::format("{}: tensor '{}': 'data_offsets' must be [begin, end]", source, name));
  tensor.begin = parse_offset((*offsets)[0], source, name);
  tensor.end = parse_offset((*offsets)[1], source, name);
  if (tensor.end < tensor.begin)
    throw FormatError(fmt::format("{}: tensor '{}': data_offsets [{}, {}] end before they begin", source, name,
                                  tensor.begin, tensor.end));

  // Expected byte size, refusing shapes whose element count overflows.
  std::uint64_t expected = dtype_size(tensor.dtype);
  for (const auto dim : tensor.shape) {
    const auto size = static_cast<std::uint64_t>(dim);
    if (size != 0 && expected > std::numeric_limits<std::uint64_t>::max() / size)
      throw FormatError(fmt::format("{}: tensor '{}': shape {} overflows", source, name, shape_field->dump()));
    expected *= size;
  }
  if (expected != tensor.byte_size())
    throw FormatError(fmt::format("{}: tensor '{}': shape {} of {} needs {} bytes but data_offsets [{}, {}] hold {}",
                                  source, name, shape_field->dump(), dtype_safetensors_name(tensor.dtype), expected,
                                  tensor.begin, tensor.end, tensor.byte_size()));
  return tensor;
}

std::map<std::string, std::string> parse_metadata(const json& value, const std::string& source) {
  if (!value.is_object()) throw FormatError(fmt::format("{}: '__metadata__' must be an object of strings", source));
  std::map<std::string, std::string> metadata;
  for (const auto& [key, item] : value.items()) {
    if (!item.is_string())
      throw FormatError(fmt::format("{}: '__metadata__' field '{}' must be a string, got {}", source, key, item.dump()));
    metadata.emplace(key, item.get<std::string>());
  }
  return metadata;
}

}  // namespace

std::int64_t TensorInfo::numel() const {
  std::int64_t count = 1;
  for (const auto dim : shape) count *= dim;
  return count;
}

SafetensorsHeader parse_safetensors_header(std::string_view prefix, std::uint64_t file_size, const std::string& source) {
  if (file_size < 8 || prefix.size() < 8)
    throw FormatError(fmt::format("{}: truncated: {} bytes, shorter than the 8-byte header length", source, file_size));
  const std::uint64_t header_length = read_le_u64(prefix.substr(0, 8));
  if (header_length > kMaxHeaderBytes)
    throw UnsupportedError(fmt::format("{}: header length {} exceeds the 100 MB limit of the format (corrupt file?)",
                                       source, header_length));
  if (header_length > file_size - 8)
    throw FormatError(fmt::format("{}: header length {} goes beyond the end of the file ({} bytes): truncated or "
                                  "not a safetensors file",
                                  source, header_length, file_size));
  if (prefix.size() < 8 + header_length)
    throw FormatError(fmt::format("{}: only {} of the header's {} bytes are available", source, prefix.size() - 8,
                                  header_length));

  const json header = parse_header_json(prefix.substr(8, header_length), source);
  SafetensorsHeader result;
  result.data_start = 8 + header_length;
  const std::uint64_t data_size = file_size - result.data_start;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      result.metadata = parse_metadata(entry, source);
      continue;
    }
    TensorInfo tensor = parse_tensor_entry(name, entry, source);
    if (tensor.end > data_size)
      throw FormatError(fmt::format("{}: tensor '{}': data_offsets [{}, {}] run past the data section ({} bytes): "
                                    "the file is truncated or the header is corrupt",
                                    source, name, tensor.begin, tensor.end, data_size));
    result.tensors.push_back(std::move(tensor));
  }

  std::sort(result.tensors.begin(), result.tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  // Empty tensors occupy no bytes and may share an offset with anything; non-empty ones must not overlap.
  const TensorInfo* previous = nullptr;
  for (const auto& tensor : result.tensors) {
    if (tensor.byte_size() == 0) continue;
    if (previous && tensor.begin < previous->end)
      throw FormatError(fmt::format("{}: tensors '{}' [{}, {}] and '{}' [{}, {}] overlap", source, previous->name,
                                    previous->begin, previous->end, tensor.name, tensor.begin, tensor.end));
    previous = &tensor;
  }
  return result;
}

SafetensorsFile::SafetensorsFile(MappedFile file, SafetensorsHeader header)
    : file_(std::move(file)), header_(std::move(header)) {
  for (std::size_t i = 0; i < header_.tensors.size(); ++i) index_.emplace(header_.tensors[i].name, i);
}

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
  MappedFile file = MappedFile::open(path);
  const std::string_view bytes(reinterpret_cast<const char*>(file.data()), file.size());
  SafetensorsHeader header = parse_safetensors_header(bytes, file.size(), path.string());
  return SafetensorsFile(std::move(file), std::move(header));
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  const auto found = index_.find(name);
  return found == index_.end() ? nullptr : &header_.tensors[found->second];
}

const TensorInfo& SafetensorsFile::at(std::string_view name) const {
  if (const auto* tensor = find(name)) return *tensor;
  throw FormatError(fmt::format("{}: no tensor named '{}'", path().string(), name));
}

const std::byte* SafetensorsFile::data(const TensorInfo& tensor) const {
  return file_.data() + header_.data_start + tensor.begin;
}

void SafetensorsFile::will_read(const TensorInfo& tensor, std::uint64_t offset, std::uint64_t length) const {
  file_.will_read(header_.data_start + tensor.begin + offset, std::min(length, tensor.byte_size() - offset));
}

void SafetensorsFile::release(const TensorInfo& tensor, std::uint64_t offset, std::uint64_t length) const {
  file_.release(header_.data_start + tensor.begin + offset, std::min(length, tensor.byte_size() - offset));
}

void write_safetensors(const std::filesystem::path& path, const std::vector<TensorBlob>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<const TensorBlob*> ordered;
  for (const auto& tensor : tensors) ordered.push_back(&tensor);
  std::sort(ordered.begin(), ordered.end(), [](const auto* a, const auto* b) { return a->name < b->name; });

  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const auto* tensor : ordered) {
    std::uint64_t expected = dtype_size(tensor->dtype);
    for (const auto dim : tensor->shape) expected *= static_cast<std::uint64_t>(dim);
    if (expected != tensor->byte_size)
      throw ArgumentError(fmt::format("write_safetensors {}: tensor '{}' has {} bytes, its shape needs {}",
                                      path.string(), tensor->name, tensor->byte_size, expected));
    header[tensor->name] = {{"dtype", dtype_safetensors_name(tensor->dtype)},
                            {"shape", tensor->shape},
                            {"data_offsets", {offset, offset + tensor->byte_size}}};
    offset += tensor->byte_size;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');

  const auto temporary = std::filesystem::path(path.string() + ".tmp");
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw FileError(fmt::format("{}: cannot open for writing", temporary.string()));
    std::uint64_t length = text.size();
    char length_bytes[8];
    for (int i = 0; i < 8; ++i) length_bytes[i] = static_cast<char>((length >> (8 * i)) & 0xFF);
    out.write(length_bytes, 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto* tensor : ordered)
      out.write(static_cast<const char*>(tensor->bytes), static_cast<std::streamsize>(tensor->byte_size));
    out.flush();
    if (!out) throw FileError(fmt::format("{}: write failed (disk full?)", temporary.string()));
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) throw FileError(fmt::format("{}: cannot move the written file into place: {}", path.string(), error.message()));
}

}  // namespace moulin
