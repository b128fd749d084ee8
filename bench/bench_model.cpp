// Model benchmark: forward throughput against the machine's matmul throughput, KV-cached decode against the
// memory-bandwidth bound, and peak RSS of loading a ~1.2 GB checkpoint against its size. Every ratio is
// measured side by side in this one run.
//
//   moulin_bench_model [--models DIR] [--golden DIR] [--quick]
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <torch/version.h>
#include <fmt/format.h>

#include "bench/measure.h"
#include "core/cpu_kernels.h"
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

// Seconds of `work` with moulin's fused CPU kernels on or off (off: LibTorch's ops alone, the comparison).
double timed_with_kernels(bool enabled, const std::function<void()>& work) {
  cpu::set_kernels_enabled(enabled);
  const auto start = std::chrono::steady_clock::now();
  work();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  cpu::set_kernels_enabled(true);
  return seconds;
}

// The forward against the matrix product timed next to it, round after round (measure.h says why). The 2048^3
// product is the bfloat16 reference; float32 uses 1024^3, 8x less work, as this machine's float32 is slow.
void print_forward(const LlamaModel& model, const std::string& name, bool quick) {
  MatmulReference reference(model.dtype(), model.dtype() == at::kFloat ? 1024 : 2048);
  for (const auto& [batch, tokens] : std::vector<std::pair<std::int64_t, std::int64_t>>{{1, 512}, {8, 128}}) {
    const at::Tensor ids = at::randint(3, model.config().vocab_size, {batch, tokens}, at::kLong);
    const auto forward = [&] { model.forward(ids); };
    const Interleaved timing({[&] { return reference.seconds_once(); }, [&] { return timed_with_kernels(true, forward); },
                              [&] { return timed_with_kernels(false, forward); }},
                             quick ? 3 : 7);
    const double flops = forward_flops(model.config(), batch, tokens);
    const double seconds = timing.median_seconds(1);
    // MFU per round: (flops / forward seconds) / (reference flops / reference seconds).
    const double relative = flops / reference.flops();
    fmt::print("  {:<16} {:<9} {:>2}x{:<4} {:>8.0f} tok/s {:>7.1f} GFLOP/s   MFU {:.2f} of {:.0f} GFLOP/s   "
               "(LibTorch ops alone: MFU {:.2f})\n",
               name, scalar_type_name(model.dtype()), batch, tokens, static_cast<double>(batch * tokens) / seconds,
               flops / seconds / 1e9, relative / timing.ratio(1, 0), reference.flops() / timing.median_seconds(0) / 1e9,
               relative / timing.ratio(2, 0));
  }
}

// Greedy decode against the memory read bandwidth timed next to it, round after round.
void print_decode(const LlamaModel& model, const std::string& name, ReadBandwidth& bandwidth, bool quick) {
  const std::int64_t prompt = 32, steps = quick ? 32 : 64;
  const at::Tensor ids = at::randint(3, model.config().vocab_size, {1, prompt}, at::kLong);
  KVCache cache = model.new_cache(1, prompt + steps + 1);
  ForwardOptions options;
  options.cache = &cache;
  options.logits = LogitsFor::kLast;
  const auto decode = [&](bool kernels) {
    cache.reset();
    at::Tensor logits = model.forward(ids, options);
    return timed_with_kernels(kernels, [&] {
      for (std::int64_t step = 0; step < steps; ++step) logits = model.forward(logits.argmax(-1), options);
    });
  };
  const Interleaved timing(
      {[&] { return bandwidth.seconds_once(); }, [&] { return decode(true); }, [&] { return decode(false); }},
      quick ? 3 : 5);
  const double bytes = decode_bytes(model, prompt + steps / 2);
  // ratio per round: (steps / decode seconds) / (bandwidth / bytes) = steps * bytes / buffer bytes / (decode / read).
  const double relative = static_cast<double>(steps) * bytes / bandwidth.bytes();
  const double bound = bandwidth.bytes() / timing.median_seconds(0) / bytes;
  fmt::print("  {:<16} {:<9} decode {:>7.1f} tok/s   bandwidth bound {:>8.1f} tok/s   ratio {:.2f}   "
             "(LibTorch ops alone: {:.2f})\n",
             name, scalar_type_name(model.dtype()), static_cast<double>(steps) / timing.median_seconds(1), bound,
             relative / timing.ratio(1, 0), relative / timing.ratio(2, 0));
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
  ReadBandwidth bandwidth(1ll << 30);

  std::vector<std::pair<std::string, fs::path>> models;
  for (const char* name : {"tiny-gqa", "tiny-llama3rope", "tiny-mha"})
    if (fs::exists(settings.golden / name / "config.json")) models.emplace_back(name, settings.golden / name);
  models.emplace_back("bench-124m", ensure_random_checkpoint(settings.models / "bench-124m", bench_124m_config()));

  fmt::print("forward (logits at every position); MFU: against a matrix product of the same dtype timed in turn with it\n");
  for (const auto& [name, path] : models)
    for (const auto dtype : {at::kFloat, at::kBFloat16})
      print_forward(LlamaModel::load(path, LoadOptions{dtype, c10::kCPU}), name, settings.quick);
  fmt::print("\ngreedy decode, batch 1, KV cache, 32-token prompt; bound: weight and cache bytes at the read bandwidth\n");
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
