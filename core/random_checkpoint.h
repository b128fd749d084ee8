#pragma once
// Writes a Hugging Face-format Llama checkpoint with random weights: the embedded default of the first README
// command, the benchmark models and the loader tests. Linear and embedding weights ~ 0.02 N(0,1), norm weights
// ~ 1 + 0.1 N(0,1) (so norms are exercised), seeded.
#include <cstdint>
#include <filesystem>

#include "core/config.h"
#include "core/dtype.h"

namespace moulin {

struct RandomCheckpointOptions {
  DType dtype = DType::kF32;           // storage dtype of the weights
  std::uint64_t seed = 0;
  std::uint64_t max_shard_bytes = 0;   // > 0: split into shards with model.safetensors.index.json
};

// Creates `folder` (must not hold a config.json yet, unless overwrite) with config.json and the weights.
void write_random_checkpoint(const std::filesystem::path& folder, const LlamaConfig& config,
                             const RandomCheckpointOptions& options, bool overwrite = false);

// bench-124m: hidden 768, 12 layers, 12 heads / 4 KV heads, FFN 2048, vocab 32000, untied, RoPE theta 500000.
LlamaConfig bench_124m_config();

}  // namespace moulin
