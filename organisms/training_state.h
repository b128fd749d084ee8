#pragma once
// The resumable state of a training run: fp32 parameters and AdamW moments as named tensors in one safetensors
// file, with the step, the loss records and a key of everything that determines the run in its metadata. One file
// written atomically (temporary file, then rename), so an interrupted run leaves either the previous checkpoint or
// the new one, never a mix.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

#include "core/config.h"
#include "core/safetensors.h"
#include "organisms/trainer.h"

namespace moulin::organisms {

// A digest of the config, the options that shape the trajectory and the token stream: resuming under another key
// would silently mix two different runs.
struct TrainingStateKey {
  std::string digest;
  std::string description;  // human-readable summary for error messages
};
TrainingStateKey training_state_key(const LlamaConfig& config, const TokenStream& data, const TrainerOptions& options);

std::filesystem::path training_state_path(const std::filesystem::path& folder);

struct RestoredTrainingState {
  std::int64_t step = 0;
  std::vector<TrainingRecord> records;
  SafetensorsFile file;
  // Copies the stored tensor `name` into `destination`; FormatError naming the file and tensor when it is missing
  // or its shape or dtype differs.
  void copy_into(const std::string& name, at::Tensor& destination) const;
};

// nullopt when the folder has no checkpoint. Throws FormatError (naming the file and field) when the checkpoint
// is corrupt, and ArgumentError when it belongs to a run with another key.
std::optional<RestoredTrainingState> load_training_state(const std::filesystem::path& folder,
                                                         const TrainingStateKey& key);

void save_training_state(const std::filesystem::path& folder, const TrainingStateKey& key, std::int64_t step,
                         const std::vector<TrainingRecord>& records,
                         const std::vector<std::pair<std::string, at::Tensor>>& tensors);

}  // namespace moulin::organisms
