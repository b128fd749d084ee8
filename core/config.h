#pragma once
// The `config.json` of a Hugging Face LlamaForCausalLM, with transformers' defaults for every absent field.
// Torch-free. Unknown architectures and options moulin does not implement are refused, never ignored.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace moulin {

enum class RopeType { kDefault, kLinear, kLlama3 };

struct RopeScaling {
  RopeType type = RopeType::kDefault;
  double factor = 1.0;                                   // linear and llama3
  double low_freq_factor = 1.0;                          // llama3
  double high_freq_factor = 4.0;                         // llama3
  std::int64_t original_max_position_embeddings = 8192;  // llama3
};

struct LlamaConfig {
  std::int64_t vocab_size = 32000;
  std::int64_t hidden_size = 4096;
  std::int64_t intermediate_size = 11008;
  std::int64_t num_hidden_layers = 32;
  std::int64_t num_attention_heads = 32;
  std::int64_t num_key_value_heads = 32;  // defaults to num_attention_heads
  std::int64_t head_dim = 128;            // defaults to hidden_size / num_attention_heads
  std::int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool attention_bias = false;
  bool mlp_bias = false;
  std::string hidden_act = "silu";
  std::optional<std::string> torch_dtype;   // the checkpoint's storage dtype, if stated
  std::vector<std::int64_t> bos_token_ids;  // config may give an int, a list, or null
  std::vector<std::int64_t> eos_token_ids;
  std::optional<std::int64_t> pad_token_id;
  nlohmann::json raw;  // the file as read, kept for provenance (activation dumps record it)
  std::string source;  // where it was read from, for error messages

  std::int64_t kv_groups() const { return num_attention_heads / num_key_value_heads; }
  std::int64_t q_size() const { return num_attention_heads * head_dim; }
  std::int64_t kv_size() const { return num_key_value_heads * head_dim; }
  // Parameters of the model as HF counts them (tied embeddings counted once).
  std::int64_t parameter_count() const;
};

// `source` names the origin in errors ("path/config.json"). Throws FormatError for wrong types or inconsistent
// sizes, UnsupportedError for other architectures, activations or rope types.
LlamaConfig parse_llama_config(const nlohmann::json& json, const std::string& source);
// Reads `config.json` from a model folder, or the file itself.
LlamaConfig load_llama_config(const std::filesystem::path& folder_or_file);
// The JSON transformers' save_pretrained would write for this configuration.
nlohmann::json llama_config_to_json(const LlamaConfig& config);

}  // namespace moulin
