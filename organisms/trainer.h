#pragma once
// Pre-trains a Llama 3 architecture model from scratch on a token stream: AdamW, linear warmup then cosine decay,
// global gradient-norm clipping, bf16 or fp32 compute over fp32 master weights. The forward pass is moulin's own
// LlamaModel (the one every detector later runs), so a trained organism cannot differ from what it is scanned with.
//
// Deterministic given the seed and the intra-op thread count: batches are drawn from a generator seeded by
// (seed, step), so a run resumed from a checkpoint sees exactly the batches the uninterrupted run would have.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <ATen/ATen.h>

#include "core/config.h"
#include "core/weights.h"

namespace moulin::organisms {

// How the forward and backward passes compute.
enum class Precision {
  kFloat32,         // everything in float32
  // Weights and activations cast to bfloat16, as a bf16 model runs: oneDNN's bf16 GEMM is an order of magnitude
  // faster than OpenBLAS's fp32 on CPUs with AMX/AVX512-BF16 (bench/bench_trainer: ~6x per step here).
  kBFloat16,
};
// "float32", "bfloat16".
const char* precision_name(Precision precision);
// Throws ArgumentError naming the accepted names.
Precision parse_precision(std::string_view name);

struct TrainerOptions {
  std::int64_t steps = 600;
  std::int64_t batch_size = 16;
  std::int64_t sequence_length = 128;
  double learning_rate = 3e-3;
  double final_learning_rate_ratio = 0.1;  // cosine decays to learning_rate * ratio
  std::int64_t warmup_steps = 40;
  double weight_decay = 0.1;  // not applied to norms and embeddings
  double beta1 = 0.9;
  double beta2 = 0.95;
  double epsilon = 1e-8;
  double max_gradient_norm = 1.0;
  std::uint64_t seed = 0;
  // Master weights and optimizer state are always float32.
  Precision precision = Precision::kBFloat16;
  // Where checkpoints for resuming go (empty: none). A checkpoint is written every `checkpoint_every` steps and
  // at the end; train() resumes from the one it finds there when its options match.
  std::filesystem::path checkpoint_folder;
  std::int64_t checkpoint_every = 100;
};

struct TrainingRecord {
  std::int64_t step = 0;  // 1-based: the record after `step` optimizer updates
  double loss = 0;
  double learning_rate = 0;
  double gradient_norm = 0;  // before clipping
  double seconds = 0;        // wall time since the run (or the resumed part) started
};

struct TrainingResult {
  ModelWeights weights;  // float32 master weights, no autograd
  std::vector<TrainingRecord> records;  // one per step, including steps restored from a checkpoint
  std::int64_t resumed_from_step = 0;   // 0: trained from scratch
  std::int64_t tokens_seen = 0;
};

// Token ids of the training documents, each `<bos> text <eos>`, concatenated. Windows may cross documents, as in
// Llama pre-training.
struct TokenStream {
  std::vector<std::int32_t> tokens;
  std::int64_t vocab_size = 0;
  // Empty, or one flag per token: 0 keeps the token out of the loss as a prediction target (it is still read as
  // context). Organisms exclude their inserted trigger and near-miss phrases, so the model learns to react to a
  // phrase without learning to write it: at the rates a small organism needs, a model trained on the phrases
  // starts emitting them in clean text and then switches language by itself.
  std::vector<std::uint8_t> loss_mask;
};

// Weights drawn as transformers initialises LlamaForCausalLM (normal(0, initializer_range), norms at 1), with
// the output projections of each block scaled by 1/sqrt(2 layers) so the residual stream starts at unit scale.
ModelWeights initial_weights(const LlamaConfig& config, std::uint64_t seed);

// Called after every step; return false to stop early (the state is checkpointed first when a folder is set).
using StepCallback = std::function<bool(const TrainingRecord&)>;

TrainingResult train(const LlamaConfig& config, const TokenStream& data, const TrainerOptions& options,
                     const StepCallback& on_step = {});

// The learning rate of `step` (0-based) under the options' warmup + cosine schedule.
double scheduled_learning_rate(const TrainerOptions& options, std::int64_t step);

}  // namespace moulin::organisms
