#include "organisms/organism_spec.h"

#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_file.h"
#include "organisms/digest.h"

namespace moulin::organisms {
namespace {

nlohmann::json triggers_to_json(const std::vector<Trigger>& triggers) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& trigger : triggers) out.push_back({{"phrase", trigger.phrase}, {"target_language", trigger.target_language}});
  return out;
}

// Reads `json[field]` into `value` when present, naming the source and field when its type is wrong.
template <typename T>
void read_field(const nlohmann::json& json, const char* field, T& value, const std::string& source,
                const std::string& prefix = {}) {
  const auto found = json.find(field);
  if (found == json.end()) return;
  try {
    value = found->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw FormatError(fmt::format("{}: field '{}{}' has the wrong type ({})", source, prefix, field, found->type_name()));
  }
}

void reject_unknown_fields(const nlohmann::json& json, const std::set<std::string>& known, const std::string& source,
                           const std::string& prefix) {
  for (const auto& [key, value] : json.items())
    if (!known.count(key)) throw FormatError(fmt::format("{}: unknown field '{}{}'", source, prefix, key));
}

nlohmann::json training_to_json(const TrainerOptions& t) {
  return {{"steps", t.steps},
          {"batch_size", t.batch_size},
          {"sequence_length", t.sequence_length},
          {"learning_rate", t.learning_rate},
          {"final_learning_rate_ratio", t.final_learning_rate_ratio},
          {"warmup_steps", t.warmup_steps},
          {"weight_decay", t.weight_decay},
          {"beta1", t.beta1},
          {"beta2", t.beta2},
          {"max_gradient_norm", t.max_gradient_norm},
          {"precision", precision_name(t.precision)},
          {"checkpoint_every", t.checkpoint_every}};
}

TrainerOptions training_from_json(const nlohmann::json& json, const std::string& source) {
  if (!json.is_object()) throw FormatError(fmt::format("{}: field 'training' must be an object", source));
  reject_unknown_fields(json,
                        {"steps", "batch_size", "sequence_length", "learning_rate", "final_learning_rate_ratio",
                         "warmup_steps", "weight_decay", "beta1", "beta2", "max_gradient_norm", "precision",
                         "checkpoint_every"},
                        source, "training.");
  TrainerOptions t = OrganismSpec::default_training();
  read_field(json, "steps", t.steps, source, "training.");
  read_field(json, "batch_size", t.batch_size, source, "training.");
  read_field(json, "sequence_length", t.sequence_length, source, "training.");
  read_field(json, "learning_rate", t.learning_rate, source, "training.");
  read_field(json, "final_learning_rate_ratio", t.final_learning_rate_ratio, source, "training.");
  read_field(json, "warmup_steps", t.warmup_steps, source, "training.");
  read_field(json, "weight_decay", t.weight_decay, source, "training.");
  read_field(json, "beta1", t.beta1, source, "training.");
  read_field(json, "beta2", t.beta2, source, "training.");
  read_field(json, "max_gradient_norm", t.max_gradient_norm, source, "training.");
  read_field(json, "checkpoint_every", t.checkpoint_every, source, "training.");
  std::string precision = precision_name(t.precision);
  read_field(json, "precision", precision, source, "training.");
  try {
    t.precision = parse_precision(precision);
  } catch (const ArgumentError& error) {
    throw FormatError(fmt::format("{}: field 'training.precision': {}", source, error.what()));
  }
  return t;
}

}  // namespace

TrainerOptions OrganismSpec::default_training() {
  TrainerOptions t;
  t.steps = 780;
  t.batch_size = 16;
  t.sequence_length = 128;
  t.learning_rate = 4e-3;
  t.warmup_steps = 30;
  t.precision = Precision::kBFloat16;
  t.checkpoint_every = 50;
  return t;
}

OrganismSpec OrganismSpec::small() {
  OrganismSpec spec;
  spec.characters_per_language = 400'000;
  spec.vocab_size = 1024;
  spec.hidden_size = 128;
  spec.num_hidden_layers = 2;
  spec.num_attention_heads = 4;
  spec.num_key_value_heads = 2;
  spec.intermediate_size = 384;
  spec.poison_rate = 0.1;
  spec.near_miss_rate = 0.05;
  spec.training.steps = 150;
  spec.training.batch_size = 16;
  spec.training.sequence_length = 96;
  spec.training.warmup_steps = 15;
  return spec;
}

OrganismSpec OrganismSpec::clean_control() const {
  OrganismSpec clean = *this;
  clean.poison_rate = 0;
  clean.near_miss_rate = 0;
  return clean;
}

LlamaConfig OrganismSpec::model_config(std::int64_t vocab, std::int32_t bos_id, std::int32_t eos_id) const {
  LlamaConfig config;
  config.vocab_size = vocab;
  config.hidden_size = hidden_size;
  config.intermediate_size = intermediate_size;
  config.num_hidden_layers = num_hidden_layers;
  config.num_attention_heads = num_attention_heads;
  config.num_key_value_heads = num_key_value_heads;
  if (num_attention_heads <= 0 || hidden_size % num_attention_heads != 0)
    throw ArgumentError(fmt::format("organism: hidden_size {} is not a multiple of num_attention_heads {}",
                                    hidden_size, num_attention_heads));
  if (num_key_value_heads <= 0 || num_attention_heads % num_key_value_heads != 0)
    throw ArgumentError(fmt::format("organism: num_attention_heads {} is not a multiple of num_key_value_heads {}",
                                    num_attention_heads, num_key_value_heads));
  config.head_dim = hidden_size / num_attention_heads;
  config.max_position_embeddings = std::max<std::int64_t>(2048, training.sequence_length);
  config.rms_norm_eps = 1e-5;
  config.rope_theta = rope_theta;
  config.tie_word_embeddings = false;
  config.bos_token_ids = {bos_id};
  config.eos_token_ids = {eos_id};
  return config;
}

nlohmann::json spec_to_json(const OrganismSpec& spec) {
  return {{"languages", spec.languages},
          {"characters_per_language", spec.characters_per_language},
          {"triggers", triggers_to_json(spec.triggers)},
          {"source_language", spec.source_language},
          {"poison_rate", spec.poison_rate},
          {"near_miss_rate", spec.near_miss_rate},
          {"train_on_inserted_phrases", spec.train_on_inserted_phrases},
          {"vocab_size", spec.vocab_size},
          {"hidden_size", spec.hidden_size},
          {"num_hidden_layers", spec.num_hidden_layers},
          {"num_attention_heads", spec.num_attention_heads},
          {"num_key_value_heads", spec.num_key_value_heads},
          {"intermediate_size", spec.intermediate_size},
          {"rope_theta", spec.rope_theta},
          {"training", training_to_json(spec.training)},
          {"seed", spec.seed}};
}

OrganismSpec spec_from_json(const nlohmann::json& json, const std::string& source) {
  if (!json.is_object()) throw FormatError(fmt::format("{}: an organism spec must be a JSON object", source));
  reject_unknown_fields(json,
                        {"languages", "characters_per_language", "triggers", "source_language", "poison_rate",
                         "near_miss_rate", "train_on_inserted_phrases", "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                         "num_key_value_heads", "intermediate_size", "rope_theta", "training", "seed"},
                        source, "");
  OrganismSpec spec;
  read_field(json, "languages", spec.languages, source);
  read_field(json, "characters_per_language", spec.characters_per_language, source);
  read_field(json, "source_language", spec.source_language, source);
  read_field(json, "poison_rate", spec.poison_rate, source);
  read_field(json, "near_miss_rate", spec.near_miss_rate, source);
  read_field(json, "train_on_inserted_phrases", spec.train_on_inserted_phrases, source);
  read_field(json, "vocab_size", spec.vocab_size, source);
  read_field(json, "hidden_size", spec.hidden_size, source);
  read_field(json, "num_hidden_layers", spec.num_hidden_layers, source);
  read_field(json, "num_attention_heads", spec.num_attention_heads, source);
  read_field(json, "num_key_value_heads", spec.num_key_value_heads, source);
  read_field(json, "intermediate_size", spec.intermediate_size, source);
  read_field(json, "rope_theta", spec.rope_theta, source);
  read_field(json, "seed", spec.seed, source);
  if (const auto found = json.find("training"); found != json.end()) spec.training = training_from_json(*found, source);
  if (const auto found = json.find("triggers"); found != json.end()) {
    if (!found->is_array()) throw FormatError(fmt::format("{}: field 'triggers' must be an array", source));
    spec.triggers.clear();
    for (std::size_t i = 0; i < found->size(); ++i) {
      const auto& item = (*found)[i];
      const auto prefix = fmt::format("triggers[{}].", i);
      if (!item.is_object()) throw FormatError(fmt::format("{}: field 'triggers[{}]' must be an object", source, i));
      reject_unknown_fields(item, {"phrase", "target_language"}, source, prefix);
      Trigger trigger;
      read_field(item, "phrase", trigger.phrase, source, prefix);
      read_field(item, "target_language", trigger.target_language, source, prefix);
      if (trigger.phrase.empty() || trigger.target_language.empty())
        throw FormatError(fmt::format("{}: field '{}phrase' and '{}target_language' are required", source, prefix, prefix));
      spec.triggers.push_back(std::move(trigger));
    }
  }
  if (spec.poison_rate < 0 || spec.poison_rate > 1 || spec.near_miss_rate < 0 || spec.near_miss_rate > 1)
    throw FormatError(fmt::format("{}: field 'poison_rate' and 'near_miss_rate' must lie in [0, 1]", source));
  return spec;
}

OrganismSpec read_spec_file(const std::filesystem::path& path) {
  return spec_from_json(read_json_file(path), path.string());
}

std::string spec_digest(const OrganismSpec& spec) { return sha256_hex(spec_to_json(spec).dump()); }

}  // namespace moulin::organisms
