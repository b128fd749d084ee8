#include "core/config.h"

#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_file.h"

namespace moulin {
namespace {

using json = nlohmann::json;

// Typed field access with transformers' defaults; every error names the file and the field.
class ConfigReader {
 public:
  ConfigReader(const json& root, const std::string& source) : root_(root), source_(source) {}

  bool has(const char* field) const { return root_.contains(field) && !root_.at(field).is_null(); }

  std::int64_t positive_int(const char* field, std::int64_t fallback) const {
    if (!has(field)) return fallback;
    const auto value = integer(root_.at(field), field);
    if (value <= 0) fail(field, "must be a positive integer", root_.at(field));
    return value;
  }

  double positive_number(const char* field, double fallback) const { return positive_number_in(root_, field, fallback); }

  double positive_number_in(const json& object, const char* field, double fallback) const {
    if (!object.contains(field) || object.at(field).is_null()) return fallback;
    const auto& value = object.at(field);
    if (!value.is_number() || !(value.get<double>() > 0) || !std::isfinite(value.get<double>()))
      fail(field, "must be a positive number", value);
    return value.get<double>();
  }

  bool boolean(const char* field, bool fallback) const {
    if (!has(field)) return fallback;
    if (!root_.at(field).is_boolean()) fail(field, "must be true or false", root_.at(field));
    return root_.at(field).get<bool>();
  }

  std::optional<std::string> text(const char* field) const {
    if (!has(field)) return std::nullopt;
    if (!root_.at(field).is_string()) fail(field, "must be a string", root_.at(field));
    return root_.at(field).get<std::string>();
  }

  // Token ids: an int, a list of ints, or null/absent (then `fallback`).
  std::vector<std::int64_t> token_ids(const char* field, std::vector<std::int64_t> fallback) const {
    if (!root_.contains(field)) return fallback;
    const auto& value = root_.at(field);
    if (value.is_null()) return {};
    std::vector<std::int64_t> ids;
    if (value.is_array()) {
      for (const auto& item : value) ids.push_back(non_negative(item, field));
    } else {
      ids.push_back(non_negative(value, field));
    }
    return ids;
  }

  std::int64_t integer(const json& value, const char* field) const {
    // transformers accepts 4096.0 where it means 4096; anything fractional is an error.
    if (value.is_number_integer()) return value.get<std::int64_t>();
    if (value.is_number_float() && std::floor(value.get<double>()) == value.get<double>())
      return static_cast<std::int64_t>(value.get<double>());
    fail(field, "must be an integer", value);
  }

  std::int64_t non_negative(const json& value, const char* field) const {
    const auto id = integer(value, field);
    if (id < 0) fail(field, "must hold non-negative token ids", value);
    return id;
  }

  [[noreturn]] void fail(const char* field, const char* expectation, const json& got) const {
    throw FormatError(fmt::format("{}: field '{}' {}, got {}", source_, field, expectation, got.dump()));
  }

  const json& root() const { return root_; }
  const std::string& source() const { return source_; }

 private:
  const json& root_;
  const std::string& source_;
};

void check_architecture(const ConfigReader& reader) {
  const auto& root = reader.root();
  if (root.contains("architectures") && !root.at("architectures").is_null()) {
    const auto& architectures = root.at("architectures");
    if (!architectures.is_array()) reader.fail("architectures", "must be a list of class names", architectures);
    bool llama = false;
    for (const auto& name : architectures) llama = llama || (name.is_string() && name.get<std::string>() == "LlamaForCausalLM");
    if (!llama)
      throw UnsupportedError(fmt::format("{}: architectures {} are not supported: moulin runs LlamaForCausalLM",
                                         reader.source(), architectures.dump()));
  }
  if (const auto model_type = reader.text("model_type"); model_type && *model_type != "llama")
    throw UnsupportedError(fmt::format("{}: model_type '{}' is not supported: moulin runs model_type 'llama'",
                                       reader.source(), *model_type));
}

RopeScaling parse_rope_scaling(const ConfigReader& reader) {
  RopeScaling scaling;
  if (!reader.has("rope_scaling")) return scaling;
  const auto& object = reader.root().at("rope_scaling");
  if (!object.is_object()) reader.fail("rope_scaling", "must be an object or null", object);
  // transformers accepts the legacy key "type" for "rope_type".
  const char* type_key = object.contains("rope_type") ? "rope_type" : "type";
  if (!object.contains(type_key) || !object.at(type_key).is_string())
    reader.fail("rope_scaling", "must name its 'rope_type'", object);
  const auto type = object.at(type_key).get<std::string>();
  if (type == "default") return scaling;
  const auto require = [&](const char* field) {
    if (!object.contains(field))
      throw FormatError(fmt::format("{}: field 'rope_scaling.{}' is required for rope_type '{}'", reader.source(),
                                    field, type));
  };
  if (type == "linear") {
    require("factor");
    scaling.type = RopeType::kLinear;
    scaling.factor = reader.positive_number_in(object, "factor", 1.0);
  } else if (type == "llama3") {
    for (const char* field : {"factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"})
      require(field);
    scaling.type = RopeType::kLlama3;
    scaling.factor = reader.positive_number_in(object, "factor", 1.0);
    scaling.low_freq_factor = reader.positive_number_in(object, "low_freq_factor", 1.0);
    scaling.high_freq_factor = reader.positive_number_in(object, "high_freq_factor", 4.0);
    scaling.original_max_position_embeddings = reader.integer(object.at("original_max_position_embeddings"),
                                                              "rope_scaling.original_max_position_embeddings");
    if (scaling.high_freq_factor <= scaling.low_freq_factor)
      throw FormatError(fmt::format("{}: field 'rope_scaling': high_freq_factor ({}) must exceed low_freq_factor ({})",
                                    reader.source(), scaling.high_freq_factor, scaling.low_freq_factor));
    if (scaling.original_max_position_embeddings <= 0)
      reader.fail("rope_scaling.original_max_position_embeddings", "must be positive", object);
  } else {
    throw UnsupportedError(fmt::format("{}: rope_scaling type '{}' is not supported (supported: default, linear, llama3)",
                                       reader.source(), type));
  }
  return scaling;
}

}  // namespace

std::int64_t LlamaConfig::parameter_count() const {
  const std::int64_t attention = hidden_size * (q_size() + 2 * kv_size()) + q_size() * hidden_size +
                                 (attention_bias ? q_size() + 2 * kv_size() + hidden_size : 0);
  const std::int64_t mlp = 3 * hidden_size * intermediate_size + (mlp_bias ? 2 * intermediate_size + hidden_size : 0);
  const std::int64_t per_layer = attention + mlp + 2 * hidden_size;
  const std::int64_t embeddings = vocab_size * hidden_size * (tie_word_embeddings ? 1 : 2);
  return embeddings + num_hidden_layers * per_layer + hidden_size;
}

LlamaConfig parse_llama_config(const json& root, const std::string& source) {
  if (!root.is_object()) throw FormatError(fmt::format("{}: must be a JSON object", source));
  const ConfigReader reader(root, source);
  check_architecture(reader);

  LlamaConfig config;
  config.raw = root;
  config.source = source;
  config.vocab_size = reader.positive_int("vocab_size", 32000);
  config.hidden_size = reader.positive_int("hidden_size", 4096);
  config.intermediate_size = reader.positive_int("intermediate_size", 11008);
  config.num_hidden_layers = reader.positive_int("num_hidden_layers", 32);
  config.num_attention_heads = reader.positive_int("num_attention_heads", 32);
  config.num_key_value_heads = reader.positive_int("num_key_value_heads", config.num_attention_heads);
  config.max_position_embeddings = reader.positive_int("max_position_embeddings", 2048);
  config.rms_norm_eps = reader.positive_number("rms_norm_eps", 1e-6);
  config.rope_theta = reader.positive_number("rope_theta", 10000.0);
  config.rope_scaling = parse_rope_scaling(reader);
  config.tie_word_embeddings = reader.boolean("tie_word_embeddings", false);
  config.attention_bias = reader.boolean("attention_bias", false);
  config.mlp_bias = reader.boolean("mlp_bias", false);
  config.hidden_act = reader.text("hidden_act").value_or("silu");
  config.torch_dtype = reader.text("torch_dtype");
  config.bos_token_ids = reader.token_ids("bos_token_id", {1});
  config.eos_token_ids = reader.token_ids("eos_token_id", {2});
  if (const auto pad = reader.token_ids("pad_token_id", {}); !pad.empty()) config.pad_token_id = pad.front();

  if (config.hidden_act != "silu")
    throw UnsupportedError(fmt::format("{}: hidden_act '{}' is not supported: Llama uses 'silu'", source, config.hidden_act));
  if (reader.has("head_dim")) {
    config.head_dim = reader.positive_int("head_dim", 0);
  } else {
    if (config.hidden_size % config.num_attention_heads != 0)
      throw FormatError(fmt::format("{}: hidden_size {} is not divisible by num_attention_heads {} and no head_dim "
                                    "is given",
                                    source, config.hidden_size, config.num_attention_heads));
    config.head_dim = config.hidden_size / config.num_attention_heads;
  }
  if (config.head_dim % 2 != 0)
    throw FormatError(fmt::format("{}: head_dim {} must be even for rotary embeddings", source, config.head_dim));
  if (config.num_attention_heads % config.num_key_value_heads != 0)
    throw FormatError(fmt::format("{}: num_attention_heads {} is not a multiple of num_key_value_heads {}", source,
                                  config.num_attention_heads, config.num_key_value_heads));
  // pretraining_tp > 1 only slices the same matmuls in transformers (the same function), so it is read for its
  // type and otherwise needs nothing.
  reader.positive_int("pretraining_tp", 1);
  return config;
}

LlamaConfig load_llama_config(const std::filesystem::path& folder_or_file) {
  const auto path = std::filesystem::is_directory(folder_or_file) ? folder_or_file / "config.json" : folder_or_file;
  return parse_llama_config(read_json_file(path), path.string());
}

json llama_config_to_json(const LlamaConfig& config) {
  json out = {
      {"architectures", {"LlamaForCausalLM"}},
      {"model_type", "llama"},
      {"vocab_size", config.vocab_size},
      {"hidden_size", config.hidden_size},
      {"intermediate_size", config.intermediate_size},
      {"num_hidden_layers", config.num_hidden_layers},
      {"num_attention_heads", config.num_attention_heads},
      {"num_key_value_heads", config.num_key_value_heads},
      {"head_dim", config.head_dim},
      {"max_position_embeddings", config.max_position_embeddings},
      {"rms_norm_eps", config.rms_norm_eps},
      {"rope_theta", config.rope_theta},
      {"tie_word_embeddings", config.tie_word_embeddings},
      {"attention_bias", config.attention_bias},
      {"mlp_bias", config.mlp_bias},
      {"hidden_act", config.hidden_act},
      {"pretraining_tp", 1},
  };
  switch (config.rope_scaling.type) {
    case RopeType::kDefault: out["rope_scaling"] = nullptr; break;
    case RopeType::kLinear: out["rope_scaling"] = {{"rope_type", "linear"}, {"factor", config.rope_scaling.factor}}; break;
    case RopeType::kLlama3:
      out["rope_scaling"] = {{"rope_type", "llama3"},
                             {"factor", config.rope_scaling.factor},
                             {"low_freq_factor", config.rope_scaling.low_freq_factor},
                             {"high_freq_factor", config.rope_scaling.high_freq_factor},
                             {"original_max_position_embeddings", config.rope_scaling.original_max_position_embeddings}};
      break;
  }
  const auto ids = [](const std::vector<std::int64_t>& values) -> json {
    if (values.empty()) return nullptr;
    if (values.size() == 1) return values.front();
    return values;
  };
  out["bos_token_id"] = ids(config.bos_token_ids);
  out["eos_token_id"] = ids(config.eos_token_ids);
  if (config.pad_token_id) out["pad_token_id"] = *config.pad_token_id;
  if (config.torch_dtype) out["torch_dtype"] = *config.torch_dtype;
  return out;
}

}  // namespace moulin
