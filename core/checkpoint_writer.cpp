#include "core/checkpoint_writer.h"

#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/safetensors.h"
#include "core/torch_dtype.h"

namespace moulin {

std::vector<std::pair<std::string, at::Tensor>> checkpoint_tensors(const ModelWeights& weights, const LlamaConfig& c) {
  std::vector<std::pair<std::string, at::Tensor>> out{{"model.embed_tokens.weight", weights.embed_tokens}};
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const auto& layer = weights.layers.at(static_cast<std::size_t>(l));
    const auto add = [&](const char* suffix, at::Tensor tensor) {
      out.emplace_back(fmt::format("model.layers.{}.{}", l, suffix), std::move(tensor));
    };
    add("input_layernorm.weight", layer.input_norm);
    add("self_attn.q_proj.weight", layer.qkv_proj.narrow(0, 0, c.q_size()));
    add("self_attn.k_proj.weight", layer.qkv_proj.narrow(0, c.q_size(), c.kv_size()));
    add("self_attn.v_proj.weight", layer.qkv_proj.narrow(0, c.q_size() + c.kv_size(), c.kv_size()));
    add("self_attn.o_proj.weight", layer.o_proj);
    if (c.attention_bias) {
      add("self_attn.q_proj.bias", layer.qkv_bias.narrow(0, 0, c.q_size()));
      add("self_attn.k_proj.bias", layer.qkv_bias.narrow(0, c.q_size(), c.kv_size()));
      add("self_attn.v_proj.bias", layer.qkv_bias.narrow(0, c.q_size() + c.kv_size(), c.kv_size()));
      add("self_attn.o_proj.bias", layer.o_bias);
    }
    add("post_attention_layernorm.weight", layer.post_attention_norm);
    add("mlp.gate_proj.weight", layer.gate_up_proj.narrow(0, 0, c.intermediate_size));
    add("mlp.up_proj.weight", layer.gate_up_proj.narrow(0, c.intermediate_size, c.intermediate_size));
    add("mlp.down_proj.weight", layer.down_proj);
    if (c.mlp_bias) {
      add("mlp.gate_proj.bias", layer.gate_up_bias.narrow(0, 0, c.intermediate_size));
      add("mlp.up_proj.bias", layer.gate_up_bias.narrow(0, c.intermediate_size, c.intermediate_size));
      add("mlp.down_proj.bias", layer.down_bias);
    }
  }
  out.emplace_back("model.norm.weight", weights.final_norm);
  if (!c.tie_word_embeddings) out.emplace_back("lm_head.weight", weights.lm_head);
  return out;
}

void write_checkpoint(const std::filesystem::path& folder, const LlamaConfig& config, const ModelWeights& weights,
                      DType storage) {
  std::filesystem::create_directories(folder);
  const auto scalar_type = to_scalar_type(storage);
  std::vector<at::Tensor> kept;
  std::vector<TensorBlob> blobs;
  for (auto& [name, tensor] : checkpoint_tensors(weights, config)) {
    kept.push_back(tensor.detach().to(at::kCPU, scalar_type).contiguous());
    const auto& values = kept.back();
    blobs.push_back({name, storage, values.sizes().vec(), values.data_ptr(), static_cast<std::size_t>(values.nbytes())});
  }
  // A stale config.json would make a half-written folder look complete while the weights are replaced.
  std::filesystem::remove(folder / "config.json");
  write_safetensors(folder / "model.safetensors", blobs);
  nlohmann::json config_json = llama_config_to_json(config);
  config_json["torch_dtype"] = std::string(model_dtype_name(storage));
  const auto config_path = folder / "config.json";
  const auto temporary = folder / "config.json.tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << config_json.dump(2) << "\n";
    if (!out) throw FileError(fmt::format("{}: cannot write", temporary.string()));
  }
  std::filesystem::rename(temporary, config_path);
}

}  // namespace moulin
