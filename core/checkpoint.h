#pragma once
// The weight files of a Hugging Face model folder: `model.safetensors`, or shards listed by
// `model.safetensors.index.json`. Torch-free; core/weights.h turns the located tensors into torch tensors.
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/safetensors.h"

namespace moulin {

struct TensorLocation {
  const SafetensorsFile* file = nullptr;
  const TensorInfo* info = nullptr;
};

class Checkpoint {
 public:
  // Opens `folder` (or a single .safetensors file). Throws FileError when no weights are found or a shard is
  // missing, FormatError when the index is malformed or disagrees with the shards.
  static Checkpoint open(const std::filesystem::path& folder_or_file);

  Checkpoint(Checkpoint&&) = default;
  Checkpoint& operator=(Checkpoint&&) = default;

  const std::filesystem::path& root() const { return root_; }
  const std::vector<SafetensorsFile>& files() const { return files_; }
  std::uint64_t total_bytes() const;

  const TensorLocation* find(std::string_view name) const;
  // Throws FormatError naming the checkpoint when the tensor is absent.
  const TensorLocation& at(std::string_view name) const;
  std::vector<std::string> tensor_names() const;

 private:
  Checkpoint() = default;
  std::filesystem::path root_;
  std::vector<SafetensorsFile> files_;
  std::map<std::string, TensorLocation, std::less<>> tensors_;
};

}  // namespace moulin
