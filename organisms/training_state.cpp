#include "organisms/training_state.h"

#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/torch_dtype.h"
#include "organisms/digest.h"

namespace moulin::organisms {
namespace {

constexpr const char* kFileName = "trainer_state.safetensors";

nlohmann::json records_to_json(const std::vector<TrainingRecord>& records) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : records) out.push_back({r.step, r.loss, r.learning_rate, r.gradient_norm, r.seconds});
  return out;
}

std::vector<TrainingRecord> records_from_json(const std::string& text, const std::filesystem::path& path) {
  std::vector<TrainingRecord> records;
  try {
    for (const auto& row : nlohmann::json::parse(text)) {
      records.push_back({row.at(0).get<std::int64_t>(), row.at(1).get<double>(), row.at(2).get<double>(),
                         row.at(3).get<double>(), row.at(4).get<double>()});
    }
  } catch (const nlohmann::json::exception& error) {
    throw FormatError(fmt::format("{}: metadata field 'records' is malformed: {}", path.string(), error.what()));
  }
  return records;
}

const std::string& metadata_field(const SafetensorsFile& file, const std::string& field) {
  const auto found = file.metadata().find(field);
  if (found == file.metadata().end())
    throw FormatError(fmt::format("{}: metadata field '{}' is missing (not a moulin training checkpoint?)",
                                  file.path().string(), field));
  return found->second;
}

}  // namespace

TrainingStateKey training_state_key(const LlamaConfig& config, const TokenStream& data, const TrainerOptions& options) {
  const nlohmann::json shaping = {
      {"config", llama_config_to_json(config)},
      {"batch_size", options.batch_size},
      {"sequence_length", options.sequence_length},
      {"steps", options.steps},
      {"learning_rate", options.learning_rate},
      {"final_learning_rate_ratio", options.final_learning_rate_ratio},
      {"warmup_steps", options.warmup_steps},
      {"weight_decay", options.weight_decay},
      {"betas", {options.beta1, options.beta2}},
      {"epsilon", options.epsilon},
      {"max_gradient_norm", options.max_gradient_norm},
      {"seed", options.seed},
      {"precision", precision_name(options.precision)},
  };
  Sha256 digest;
  digest.update_field(shaping.dump());
  digest.update(data.tokens.data(), data.tokens.size() * sizeof(std::int32_t));
  digest.update(data.loss_mask.data(), data.loss_mask.size());
  return {digest.hex(), fmt::format("{} steps, batch {}x{}, seed {}, {} tokens", options.steps, options.batch_size,
                                    options.sequence_length, options.seed, data.tokens.size())};
}

std::filesystem::path training_state_path(const std::filesystem::path& folder) { return folder / kFileName; }

void RestoredTrainingState::copy_into(const std::string& name, at::Tensor& destination) const {
  const TensorInfo* info = file.find(name);
  if (!info) throw FormatError(fmt::format("{}: tensor '{}' is missing", file.path().string(), name));
  if (info->dtype != DType::kF32 || info->shape != destination.sizes().vec())
    throw FormatError(fmt::format("{}: tensor '{}' is {} [{}], expected F32 [{}]", file.path().string(), name,
                                  dtype_safetensors_name(info->dtype), fmt::join(info->shape, ", "),
                                  fmt::join(destination.sizes(), ", ")));
  at::NoGradGuard no_grad;
  std::memcpy(destination.data_ptr(), file.data(*info), info->byte_size());
}

std::optional<RestoredTrainingState> load_training_state(const std::filesystem::path& folder,
                                                         const TrainingStateKey& key) {
  const auto path = training_state_path(folder);
  if (!std::filesystem::exists(path)) return std::nullopt;
  SafetensorsFile file = SafetensorsFile::open(path);
  const auto& stored_key = metadata_field(file, "run_key");
  if (stored_key != key.digest)
    throw ArgumentError(fmt::format("{}: this checkpoint belongs to another training run (config, options or data "
                                    "differ; this run: {}). Delete it or choose another folder.",
                                    path.string(), key.description));
  std::int64_t step = 0;
  const auto& step_text = metadata_field(file, "step");
  try {
    step = std::stoll(step_text);
  } catch (const std::exception&) {
    throw FormatError(fmt::format("{}: metadata field 'step' is not an integer: '{}'", path.string(), step_text));
  }
  auto records = records_from_json(metadata_field(file, "records"), path);
  if (static_cast<std::int64_t>(records.size()) != step)
    throw FormatError(fmt::format("{}: metadata field 'records' has {} entries for step {}", path.string(),
                                  records.size(), step));
  return RestoredTrainingState{step, std::move(records), std::move(file)};
}

void save_training_state(const std::filesystem::path& folder, const TrainingStateKey& key, std::int64_t step,
                         const std::vector<TrainingRecord>& records,
                         const std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  std::filesystem::create_directories(folder);
  std::vector<at::Tensor> contiguous;
  std::vector<TensorBlob> blobs;
  for (const auto& [name, tensor] : tensors) {
    contiguous.push_back(tensor.to(at::kFloat).contiguous());
    const auto& values = contiguous.back();
    blobs.push_back({name, DType::kF32, values.sizes().vec(), values.data_ptr(), static_cast<std::size_t>(values.nbytes())});
  }
  write_safetensors(training_state_path(folder), blobs,
                    {{"format", "moulin-trainer"},
                     {"run_key", key.digest},
                     {"step", std::to_string(step)},
                     {"records", records_to_json(records).dump()}});
}

}  // namespace moulin::organisms
