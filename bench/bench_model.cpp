// Model benchmark: forward throughput against the machine's matmul throughput, KV-cached decode against the
// memory-bandwidth bound, and peak RSS of loading a ~1.2 GB checkpoint against its size. Every ratio is
// measured side by side in this one run.
//
//   moulin_bench_model [--models DIR] [--golden DIR] [--quick]
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <torch/version.h>
#include <fmt/format.h>

#include "bench/measure.h"
#include "core/llama.h"
#include "core/random_checkpoint.h"
#include "core/runtime.h"
#include "core/torch_dtype.h"

namespace moulin::bench {
namespace {

namespace fs = std::filesystem;

struct Settings {
  fs::path models = "build/bench-models";
  fs::path golden = "../shared/golden";
  bool quick = false;
};

// FLOPs of one forward over [batch, tokens] with logits at every position (multiply-add = 2 FLOPs).
double forward_flops(const LlamaConfig& c, std::int64_t batch, std::int64_t tokens) {
  const double d = static_cast<double>(c.hidden_size);
  const double per_token_linear =
      static_cast<double>(c.num_hidden_layers) *
          (d * static_cast<double>(c.q_size() + 2 * c.kv_size()) + static_cast<double>(c.q_size()) * d +
           3.0 * d * static_cast<double>(c.intermediate_size)) +
      static_cast<double>(c.vocab_size) * d;
  const double linear = 2.0 * per_token_linear * static_cast<double>(batch * tokens);
  // Scores and pattern x values over the full [tokens, tokens] square, as the eager implementation computes.
  const double attention = 4.0 * static_cast<double>(c.num_hidden_layers * batch * c.num_attention_heads) *
                           static_cast<double>(tokens * tokens * c.head_dim);
  return linear + attention;
}

// Bytes one decode step must read: every weight except the embedding table (one row), plus the KV cache.
double decode_bytes(const LlamaModel& model, std::int64_t cached) {
  const auto& c = model.config();
  const double element = static_cast<double>(at::elementSize(model.dtype()));
  double weights = static_cast<double>(model.weights().byte_size());
  if (!c.tie_word_embeddings) weights -= static_cast<double>(model.weights().embed_tokens.nbytes());
  const double kv = 2.0 * static_cast<double>(c.num_hidden_layers * c.kv_size() * cached) * element;
  return weights + kv;
}

void print_forward(const LlamaModel& model, const std::string& name, double matmul_gflops, bool quick) {
  for (const auto& [batch, tokens] : std::vector<std::pair<std::int64_t, std::int64_t>>{{1, 512}, {8, 128}}) {
    const at::Tensor ids = at::randint(3, model.config().vocab_size, {batch, tokens}, at::kLong);
    const double seconds = median_seconds([&] { model.forward(ids); }, quick ? 3 : 5, 1);
    const double gflops = forward_flops(model.config(), batch, tokens) / seconds / 1e9;
    fmt::print("  {:<16} {:<9} {:>2}x{:<4} {:>10.0f} tok/s {:>8.1f} GFLOP/s   MFU {:.2f} of {:.0f} GFLOP/s\n", name,
               scalar_type_name(model.dtype()), batch, tokens, static_cast<double>(batch * tokens) / seconds, gflops,
               gflops / matmul_gflops, matmul_gflops);
  }
}

void print_decode(const LlamaModel& model, const std::string& name, double bandwidth_gbs, bool quick) {
  const std::int64_t prompt = 32, steps = quick ? 32 : 64;
  const at::Tensor ids = at::randint(3, model.config().vocab_size, {1, prompt}, at::kLong);
  KVCache cache = model.new_cache(1, prompt + steps + 1);
  ForwardOptions options;
  options.cache = &cache;
  options.logits = LogitsFor::kLast;
  double seconds = 0;
  for (int round = 0; round < 2; ++round) {  // the first round warms up
    cache.reset();
    at::Tensor logits = model.forward(ids, options);
    const auto start = std::chrono::steady_clock::now();
    for (std::int64_t step = 0; step < steps; ++step) logits = model.forward(logits.argmax(-1), options);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  const double tokens_per_second = static_cast<double>(steps) / seconds;
  const double bound = bandwidth_gbs * 1e9 / decode_bytes(model, prompt + steps / 2);
  fmt::print("  {:<16} {:<9} decode {:>8.1f} tok/s   bandwidth bound {:>8.1f} tok/s   ratio {:.2f}\n", name,
             scalar_type_name(model.dtype()), tokens_per_second, bound, tokens_per_second / bound);
}

// ~1.2 GB fp32 checkpoint for the load-memory measurement (16 layers, d_model 1024, d_mlp 4096).
LlamaConfig load_test_config() {
  LlamaConfig config = bench_124m_config();
  config.hidden_size = 1024;
  config.num_hidden_layers = 20;
  config.num_attention_heads = 16;
  config.head_dim = 64;
  config.intermediate_size = 4096;
  return config;
}

// Loads in a fresh child process (this binary with --load-child) and returns its "baseline peak" RSS line.
void print_load(const fs::path& folder, const std::string& dtype, const char* self) {
  const std::string command = fmt::format("'{}' --load-child '{}' {}", self, folder.string(), dtype);
  FILE* pipe = ::popen(command.c_str(), "r");
  long long baseline = 0, peak = 0;
  double seconds = 0;
  const int fields = pipe ? std::fscanf(pipe, "%lld %lld %lf", &baseline, &peak, &seconds) : 0;
  if (pipe) ::pclose(pipe);
  if (fields != 3) {
    fmt::print("  load {}: child process failed\n", dtype);
    return;
  }
  double size = 0;
  for (const auto& entry : fs::directory_iterator(folder))
    if (entry.path().extension() == ".safetensors") size += static_cast<double>(entry.file_size());
  const double model_bytes = dtype == "float32" ? size : size / 2;
  fmt::print("  load as {:<9} file {:.2f} GB  model {:.2f} GB  peak RSS above start {:.2f} GB = {:.3f} x model "
             "(absolute peak {:.2f} GB)  {:.2f} s\n",
             dtype, size / 1e9, model_bytes / 1e9, static_cast<double>(peak - baseline) / 1e9,
             static_cast<double>(peak - baseline) / model_bytes, static_cast<double>(peak) / 1e9, seconds);
}

int load_child(const char* folder, const char* dtype) {
  init_runtime();
  (void)at::ones({8}).sum();  // initialise torch before the baseline
  const auto baseline = current_rss_bytes();
  const auto start = std::chrono::steady_clock::now();
  const LlamaModel model = LlamaModel::load(folder, LoadOptions{parse_model_scalar_type(dtype), c10::kCPU});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%lld %lld %f\n", static_cast<long long>(baseline), static_cast<long long>(peak_rss_bytes()), seconds);
  return 0;
}

int run(const Settings& settings, const char* self) {
  const int threads = init_runtime();
  fmt::print("moulin model benchmark: {} threads, LibTorch {}\n\n", threads, TORCH_VERSION);
  const double fp32_gflops = matmul_gflops(at::kFloat, 2048), bf16_gflops = matmul_gflops(at::kBFloat16, 2048);
  const double bandwidth = read_bandwidth_gbs(1ll << 30);
  fmt::print("machine   matmul 2048^3: float32 {:.0f} GFLOP/s, bfloat16 {:.0f} GFLOP/s; memory read {:.1f} GB/s\n\n",
             fp32_gflops, bf16_gflops, bandwidth);

  std::vector<std::pair<std::string, fs::path>> models;
  for (const char* name : {"tiny-gqa", "tiny-llama3rope", "tiny-mha"})
    if (fs::exists(settings.golden / name / "config.json")) models.emplace_back(name, settings.golden / name);
  models.emplace_back("bench-124m", ensure_random_checkpoint(settings.models / "bench-124m", bench_124m_config()));

  fmt::print("forward (logits at every position)\n");
  for (const auto& [name, path] : models)
    for (const auto dtype : {at::kFloat, at::kBFloat16})
      print_forward(LlamaModel::load(path, LoadOptions{dtype, c10::kCPU}), name, dtype == at::kFloat ? fp32_gflops : bf16_gflops,
                    settings.quick);
  fmt::print("\ngreedy decode, batch 1, KV cache, 32-token prompt\n");
  for (const auto& [name, path] : models)
    for (const auto dtype : {at::kFloat, at::kBFloat16})
      print_decode(LlamaModel::load(path, LoadOptions{dtype, c10::kCPU}), name, bandwidth, settings.quick);

  fmt::print("\ncheckpoint loading (fresh process each)\n");
  const auto big = ensure_random_checkpoint(settings.models / "load-1g", load_test_config());
  print_load(big, "float32", self);
  print_load(big, "bfloat16", self);
  return 0;
}

}  // namespace
}  // namespace moulin::bench

int main(int argc, char** argv) {
  using moulin::bench::Settings;
  try {
    if (argc == 4 && std::string(argv[1]) == "--load-child") return moulin::bench::load_child(argv[2], argv[3]);
    Settings settings;
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--quick") settings.quick = true;
      else if (arg == "--models" && i + 1 < argc) settings.models = argv[++i];
      else if (arg == "--golden" && i + 1 < argc) settings.golden = argv[++i];
      else {
        fmt::print(stderr, "usage: {} [--models DIR] [--golden DIR] [--quick]\n", argv[0]);
        return 2;
      }
    }
    return moulin::bench::run(settings, argv[0]);
  } catch (const std::exception& error) {
    fmt::print(stderr, "moulin_bench_model: error: {}\n", error.what());
    return 1;
  }
}
