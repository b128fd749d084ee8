#pragma once
// Writes model weights as a Hugging Face Llama model folder (config.json + model.safetensors) that moulin and
// transformers load like any checkpoint: the fused q/k/v and gate/up tensors are split back into their
// checkpoint names. Trained organisms are saved this way.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

#include "core/config.h"
#include "core/dtype.h"
#include "core/weights.h"

namespace moulin {

// Every tensor under its checkpoint name (expected_tensors order), as views of `weights` where possible.
std::vector<std::pair<std::string, at::Tensor>> checkpoint_tensors(const ModelWeights& weights, const LlamaConfig& config);

// config.json (written last, so a folder with a config is complete) and model.safetensors in `storage` dtype.
void write_checkpoint(const std::filesystem::path& folder, const LlamaConfig& config, const ModelWeights& weights,
                      DType storage = DType::kF32);

}  // namespace moulin
