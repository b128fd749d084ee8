// `moulin demo`: the embedded default job for now. Writes a small random-weight Llama checkpoint in Hugging Face
// format, loads it back like any checkpoint, and runs a forward pass, a KV-cached greedy continuation and a
// cached-vs-uncached consistency check.
#include <chrono>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "apps/commands.h"
#include "apps/model_summary.h"
#include "core/error.h"
#include "core/llama.h"
#include "core/random_checkpoint.h"
#include "core/runtime.h"
#include "core/torch_dtype.h"

namespace moulin::cli {
namespace {

LlamaConfig demo_config() {
  LlamaConfig config;
  config.vocab_size = 4096;
  config.hidden_size = 256;
  config.intermediate_size = 688;
  config.num_hidden_layers = 4;
  config.num_attention_heads = 8;
  config.num_key_value_heads = 2;
  config.head_dim = 32;
  config.max_position_embeddings = 1024;
  config.rms_norm_eps = 1e-5;
  config.rope_theta = 500000.0;
  config.rope_scaling = {RopeType::kLlama3, 8.0, 1.0, 4.0, 256};
  config.bos_token_ids = {1};
  config.eos_token_ids = {2};
  return config;
}

void run_demo(const std::string& folder, const std::string& dtype_name, const std::string& device_name) {
  const int threads = init_runtime();
  const auto start = std::chrono::steady_clock::now();
  write_random_checkpoint(folder, demo_config(), RandomCheckpointOptions{DType::kF32, 7, 0}, /*overwrite=*/true);
  fmt::print("wrote a random-weight Llama checkpoint to {}\n", folder);

  const LlamaModel model = LlamaModel::load(folder, LoadOptions{parse_model_scalar_type(dtype_name), parse_device(device_name)});
  fmt::print("{}threads      {}\n\n", model_summary(model), threads);

  at::Generator generator = at::detail::createCPUGenerator(11);
  const at::Tensor prompt = at::randint(3, model.config().vocab_size, {1, 16}, generator, at::kLong);
  const at::Tensor logits = model.forward(prompt);
  fmt::print("forward      ids [1, 16] -> logits [{}], last position: mean {:.4f} std {:.4f} argmax {}\n",
             fmt::join(logits.sizes(), ", "), logits[0][-1].mean().item<double>(), logits[0][-1].std().item<double>(),
             logits[0][-1].argmax().item<std::int64_t>());

  // Greedy continuation through the KV cache, then the same sequence recomputed without a cache.
  constexpr std::int64_t kNewTokens = 8;
  KVCache cache = model.new_cache(1, prompt.size(1) + kNewTokens);
  ForwardOptions cached;
  cached.cache = &cache;
  cached.logits = LogitsFor::kLast;
  at::Tensor step_logits = model.forward(prompt, cached);
  std::vector<std::int64_t> generated;
  for (std::int64_t i = 0; i < kNewTokens; ++i) {
    const std::int64_t next = step_logits[0][-1].argmax().item<std::int64_t>();
    generated.push_back(next);
    step_logits = model.forward(at::full({1, 1}, next, at::kLong), cached);
  }
  const at::Tensor sequence = at::cat({prompt, at::tensor(generated, at::kLong).unsqueeze(0)}, 1);
  const at::Tensor full = model.forward(sequence.narrow(1, 0, sequence.size(1) - 1));
  const auto recomputed = full[0].narrow(0, prompt.size(1) - 1, kNewTokens).argmax(-1);
  const bool consistent = at::equal(recomputed.cpu(), at::tensor(generated, at::kLong));
  fmt::print("greedy       {} new tokens with the KV cache: [{}]\n", kNewTokens, fmt::join(generated, ", "));
  fmt::print("check        uncached recomputation gives the same tokens: {}\n", consistent ? "yes" : "NO");
  fmt::print("elapsed      {:.2f} s\n",
             std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  if (!consistent) throw moulin::Error("cached and uncached decoding disagree");
}

}  // namespace

void add_demo_command(CLI::App& app) {
  auto* command = app.add_subcommand("demo", "Write a small random-weight Llama checkpoint, load it and run it");
  auto folder = std::make_shared<std::string>("build/demo-model");
  auto dtype = std::make_shared<std::string>("float32");
  auto device = std::make_shared<std::string>("cpu");
  command->add_option("--out", *folder, "Folder for the generated checkpoint")->capture_default_str();
  command->add_option("--dtype", *dtype, "float32, bfloat16 or float16")->capture_default_str();
  command->add_option("--device", *device, "cpu, cuda or cuda:N")->capture_default_str();
  command->callback([=] { run_demo(*folder, *dtype, *device); });
}

}  // namespace moulin::cli
