// Training throughput of the organism trainer: tokens/s and model FLOP rate for bf16 and fp32 compute over the
// same model, batch and machine, measured side by side, and the projected training time of the default organism
// (its architecture, batch and step count; the environment variables below override the shape for experiments).
#include <cstdio>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "bench/measure.h"
#include "core/runtime.h"
#include "organisms/organism_spec.h"
#include "organisms/trainer.h"

using namespace moulin;

namespace {

std::int64_t env_or(const char* name, std::int64_t fallback) {
  const char* value = std::getenv(name);
  return value ? std::stoll(value) : fallback;
}

LlamaConfig config_from_env(const organisms::OrganismSpec& spec) {
  LlamaConfig config = spec.model_config(env_or("VOCAB", static_cast<std::int64_t>(spec.vocab_size)), 0, 1);
  config.hidden_size = env_or("D_MODEL", config.hidden_size);
  config.intermediate_size = env_or("D_MLP", config.intermediate_size);
  config.num_hidden_layers = env_or("LAYERS", config.num_hidden_layers);
  config.num_attention_heads = env_or("HEADS", config.num_attention_heads);
  config.num_key_value_heads = env_or("KV_HEADS", config.num_key_value_heads);
  config.head_dim = config.hidden_size / config.num_attention_heads;
  return config;
}

}  // namespace

int main() {
  const int threads = init_runtime();
  const organisms::OrganismSpec spec;
  const LlamaConfig config = config_from_env(spec);
  organisms::TokenStream data;
  data.vocab_size = config.vocab_size;
  for (std::int64_t i = 0; i < 400000; ++i) data.tokens.push_back(static_cast<std::int32_t>((i * 7919) % config.vocab_size));

  organisms::TrainerOptions options = spec.training;
  options.batch_size = env_or("BATCH", options.batch_size);
  options.sequence_length = env_or("SEQ", options.sequence_length);
  options.steps = env_or("STEPS", 6);
  options.warmup_steps = 1;
  options.checkpoint_folder.clear();

  const double non_embedding = static_cast<double>(config.num_hidden_layers) *
                               (config.hidden_size * (config.q_size() + 2 * config.kv_size()) +
                                config.q_size() * config.hidden_size + 3.0 * config.hidden_size * config.intermediate_size);
  const double head = static_cast<double>(config.vocab_size) * config.hidden_size;
  const double attention = 2.0 * config.num_hidden_layers * options.sequence_length * config.q_size();  // per token, fwd
  const double flops_per_token = 6 * (non_embedding + head) + 3 * attention;
  fmt::print("model: d {} layers {} heads {}/{} mlp {} vocab {}; {:.2f} M params ({:.2f} M non-embedding); {} threads\n",
             config.hidden_size, config.num_hidden_layers, config.num_attention_heads, config.num_key_value_heads,
             config.intermediate_size, config.vocab_size, (non_embedding + 2 * head) / 1e6, non_embedding / 1e6, threads);
  constexpr int kModes = 2;
  double seconds_per_step[kModes];
  const organisms::Precision precisions[kModes] = {organisms::Precision::kBFloat16, organisms::Precision::kFloat32};
  for (int i = 0; i < kModes; ++i) {
    options.precision = precisions[i];
    const auto result = organisms::train(config, data, options);
    // The first step pays one-off allocations and oneDNN kernel creation: time the rest.
    const auto& records = result.records;
    seconds_per_step[i] = (records.back().seconds - records.front().seconds) / static_cast<double>(records.size() - 1);
    const double tokens_per_second = options.batch_size * options.sequence_length / seconds_per_step[i];
    fmt::print("{:>12}: {:.3f} s/step, {:.0f} tokens/s, {:.1f} GFLOP/s model, final loss {:.3f}\n",
               organisms::precision_name(precisions[i]), seconds_per_step[i], tokens_per_second,
               tokens_per_second * flops_per_token / 1e9, records.back().loss);
  }
  fmt::print("bfloat16 speed-up over float32: {:.2f}x\n", seconds_per_step[1] / seconds_per_step[0]);
  fmt::print("default organism: {} steps x {:.3f} s = {:.1f} min of training at bfloat16 (goal: <= 5 min on 2 cores)\n",
             spec.training.steps, seconds_per_step[0], spec.training.steps * seconds_per_step[0] / 60);
  fmt::print("matmul peak here: bf16 {:.0f} GFLOP/s, fp32 {:.0f} GFLOP/s\n", bench::matmul_gflops(at::kBFloat16, 1024),
             bench::matmul_gflops(at::kFloat, 1024));
  return 0;
}
