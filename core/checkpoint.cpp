#include "core/checkpoint.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_file.h"

namespace moulin {
namespace {

constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";

// weight_map of an index: tensor name -> shard file name, each shard name a plain file inside the folder.
std::map<std::string, std::string> read_weight_map(const std::filesystem::path& index_path) {
  const auto index = read_json_file(index_path);
  const auto source = index_path.string();
  if (!index.is_object() || !index.contains("weight_map") || !index.at("weight_map").is_object())
    throw FormatError(fmt::format("{}: field 'weight_map' is missing or not an object", source));
  std::map<std::string, std::string> weight_map;
  for (const auto& [name, shard] : index.at("weight_map").items()) {
    if (!shard.is_string())
      throw FormatError(fmt::format("{}: field 'weight_map.{}' must be a file name, got {}", source, name, shard.dump()));
    const auto file = shard.get<std::string>();
    if (file.empty() || file.find('/') != std::string::npos || file == "." || file == "..")
      throw FormatError(fmt::format("{}: field 'weight_map.{}' names '{}', which is not a file in the model folder",
                                    source, name, file));
    weight_map.emplace(name, file);
  }
  if (weight_map.empty()) throw FormatError(fmt::format("{}: field 'weight_map' lists no tensors", source));
  return weight_map;
}

}  // namespace

Checkpoint Checkpoint::open(const std::filesystem::path& folder_or_file) {
  Checkpoint checkpoint;
  checkpoint.root_ = folder_or_file;
  if (!std::filesystem::exists(folder_or_file))
    throw FileError(fmt::format("{}: no such file or folder", folder_or_file.string()));

  if (!std::filesystem::is_directory(folder_or_file)) {
    checkpoint.files_.push_back(SafetensorsFile::open(folder_or_file));
  } else if (std::filesystem::exists(folder_or_file / kIndexFile)) {
    const auto index_path = folder_or_file / kIndexFile;
    const auto weight_map = read_weight_map(index_path);
    std::map<std::string, std::size_t> shard_position;
    for (const auto& [name, shard] : weight_map) {
      if (shard_position.count(shard)) continue;
      const auto shard_path = folder_or_file / shard;
      if (!std::filesystem::exists(shard_path))
        throw FileError(fmt::format("{}: shard '{}' listed for tensor '{}' does not exist", index_path.string(), shard,
                                    name));
      shard_position.emplace(shard, shard_position.size());
    }
    // Reserve first: TensorLocation keeps pointers into files_.
    checkpoint.files_.reserve(shard_position.size());
    std::vector<std::string> shards(shard_position.size());
    for (const auto& [shard, position] : shard_position) shards[position] = shard;
    for (const auto& shard : shards) checkpoint.files_.push_back(SafetensorsFile::open(folder_or_file / shard));

    for (const auto& [name, shard] : weight_map) {
      const auto& file = checkpoint.files_[shard_position.at(shard)];
      const auto* info = file.find(name);
      if (!info)
        throw FormatError(fmt::format("{}: tensor '{}' is mapped to '{}', which does not contain it",
                                      index_path.string(), name, shard));
      checkpoint.tensors_.emplace(name, TensorLocation{&file, info});
    }
    for (const auto& file : checkpoint.files_)
      for (const auto& info : file.tensors())
        if (!weight_map.count(info.name))
          throw FormatError(fmt::format("{}: tensor '{}' in shard '{}' is not listed in the index", index_path.string(),
                                        info.name, file.path().filename().string()));
    return checkpoint;
  } else if (std::filesystem::exists(folder_or_file / kSingleFile)) {
    checkpoint.files_.push_back(SafetensorsFile::open(folder_or_file / kSingleFile));
  } else {
    throw FileError(fmt::format("{}: no {} or {} in this folder (only safetensors checkpoints are supported)",
                                folder_or_file.string(), kSingleFile, kIndexFile));
  }
  for (const auto& info : checkpoint.files_.front().tensors())
    checkpoint.tensors_.emplace(info.name, TensorLocation{&checkpoint.files_.front(), &info});
  return checkpoint;
}

std::uint64_t Checkpoint::total_bytes() const {
  std::uint64_t total = 0;
  for (const auto& [name, location] : tensors_) total += location.info->byte_size();
  return total;
}

const TensorLocation* Checkpoint::find(std::string_view name) const {
  const auto found = tensors_.find(name);
  return found == tensors_.end() ? nullptr : &found->second;
}

const TensorLocation& Checkpoint::at(std::string_view name) const {
  if (const auto* location = find(name)) return *location;
  throw FormatError(fmt::format("{}: tensor '{}' is missing from the checkpoint", root_.string(), name));
}

std::vector<std::string> Checkpoint::tensor_names() const {
  std::vector<std::string> names;
  for (const auto& [name, location] : tensors_) names.push_back(name);
  return names;
}

}  // namespace moulin
