#include "core/random_checkpoint.h"

#include <fstream>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/safetensors.h"
#include "core/torch_dtype.h"
#include "core/weights.h"

namespace moulin {
namespace {

bool is_norm(const std::string& name) { return name.find("norm") != std::string::npos; }

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw FileError(fmt::format("{}: cannot write", path.string()));
}

}  // namespace

void write_random_checkpoint(const std::filesystem::path& folder, const LlamaConfig& config,
                             const RandomCheckpointOptions& options, bool overwrite) {
  if (!overwrite && std::filesystem::exists(folder / "config.json"))
    throw FileError(fmt::format("{}: already holds a checkpoint (refusing to overwrite)", folder.string()));
  std::filesystem::create_directories(folder);
  at::Generator generator = at::detail::createCPUGenerator(options.seed);
  const auto storage_type = to_scalar_type(options.dtype);

  // Generate and write shard by shard so memory stays at one shard, whatever the model size.
  std::vector<at::Tensor> shard_tensors;
  std::vector<TensorBlob> shard_blobs;
  std::uint64_t shard_bytes = 0;
  std::vector<std::pair<std::string, std::string>> weight_map;
  std::vector<std::string> shard_names;
  const auto flush = [&] {
    if (shard_blobs.empty()) return;
    const auto name = fmt::format("model-{:05d}.safetensors", shard_names.size() + 1);
    write_safetensors(folder / name, shard_blobs);
    for (const auto& blob : shard_blobs) weight_map.emplace_back(blob.name, name);
    shard_names.push_back(name);
    shard_tensors.clear();
    shard_blobs.clear();
    shard_bytes = 0;
  };

  for (const auto& expected : expected_tensors(config)) {
    at::Tensor values = at::randn(expected.shape, generator, at::TensorOptions().dtype(at::kFloat));
    values = is_norm(expected.name) ? values.mul_(0.1).add_(1.0) : values.mul_(0.02);
    values = values.to(storage_type).contiguous();
    const auto bytes = static_cast<std::uint64_t>(values.nbytes());
    if (options.max_shard_bytes > 0 && shard_bytes > 0 && shard_bytes + bytes > options.max_shard_bytes) flush();
    shard_blobs.push_back({expected.name, options.dtype, expected.shape, values.data_ptr(), static_cast<std::size_t>(bytes)});
    shard_tensors.push_back(values);
    shard_bytes += bytes;
  }
  if (options.max_shard_bytes == 0) {
    write_safetensors(folder / "model.safetensors", shard_blobs);
  } else {
    flush();
    // Shards were numbered before their count was known; rename to the HF "-of-" convention.
    nlohmann::json map = nlohmann::json::object();
    for (auto& [tensor, shard] : weight_map) {
      const auto final_name = fmt::format("{}-of-{:05d}.safetensors", shard.substr(0, shard.size() - 12), shard_names.size());
      map[tensor] = final_name;
    }
    for (const auto& shard : shard_names) {
      const auto final_name = fmt::format("{}-of-{:05d}.safetensors", shard.substr(0, shard.size() - 12), shard_names.size());
      std::filesystem::rename(folder / shard, folder / final_name);
    }
    std::uint64_t total = 0;
    for (const auto& expected : expected_tensors(config)) {
      std::uint64_t count = dtype_size(options.dtype);
      for (const auto dim : expected.shape) count *= static_cast<std::uint64_t>(dim);
      total += count;
    }
    const nlohmann::json index = {{"metadata", {{"total_size", total}}}, {"weight_map", map}};
    write_text(folder / "model.safetensors.index.json", index.dump(2));
  }

  nlohmann::json config_json = llama_config_to_json(config);
  config_json["torch_dtype"] = std::string(model_dtype_name(options.dtype));
  // config.json last: a folder with a config is a finished checkpoint.
  write_text(folder / "config.json", config_json.dump(2) + "\n");
}

LlamaConfig bench_124m_config() {
  LlamaConfig config;
  config.vocab_size = 32000;
  config.hidden_size = 768;
  config.intermediate_size = 2048;
  config.num_hidden_layers = 12;
  config.num_attention_heads = 12;
  config.num_key_value_heads = 4;
  config.head_dim = 64;
  config.max_position_embeddings = 2048;
  config.rms_norm_eps = 1e-5;
  config.rope_theta = 500000.0;
  config.tie_word_embeddings = false;
  config.bos_token_ids = {1};
  config.eos_token_ids = {2};
  return config;
}

}  // namespace moulin
