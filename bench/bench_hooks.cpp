// Hook overhead on bench-124m, batch 8 x 128: a forward with an empty hook set, caching hook_resid_post of every
// block, and caching every point except attention matrices, each against the plain forward measured alternately
// in the same run.
//
//   moulin_bench_hooks [--models DIR] [--dtype bfloat16|float32] [--rounds N]
#include <algorithm>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "bench/measure.h"
#include "core/llama.h"
#include "core/random_checkpoint.h"
#include "core/runtime.h"
#include "core/torch_dtype.h"
#include "hooks/activation_cache.h"

namespace moulin::bench {
namespace {

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

struct Variant {
  std::string label;
  std::function<void()> run;
  std::vector<double> seconds;
};

int run(const std::filesystem::path& models, at::ScalarType dtype, int rounds) {
  const int threads = init_runtime();
  const auto folder = ensure_random_checkpoint(models / "bench-124m", bench_124m_config());
  const LlamaModel model = LlamaModel::load(folder, LoadOptions{dtype, c10::kCPU});
  const int layers = static_cast<int>(model.config().num_hidden_layers);
  const at::Tensor ids = at::randint(3, model.config().vocab_size, {8, 128}, at::kLong);
  fmt::print("moulin hook benchmark: bench-124m {}, batch 8 x 128, {} threads, {} alternating rounds\n\n",
             scalar_type_name(dtype), threads, rounds);

  HookSet empty(layers);
  std::int64_t resid_bytes = 0, all_bytes = 0;
  const auto cached_forward = [&](const NameFilter& names, std::int64_t& bytes) {
    ActivationCache cache;
    HookSet hooks(layers);
    CacheOptions options;
    options.names = names;
    add_caching_hooks(hooks, cache, options);
    ForwardOptions forward;
    forward.hooks = &hooks;
    model.forward(ids, forward);
    bytes = cache.byte_size();
  };
  std::vector<Variant> variants{
      {"plain forward", [&] { model.forward(ids); }, {}},
      {"empty hook set", [&] {
         ForwardOptions forward;
         forward.hooks = &empty;
         model.forward(ids, forward);
       }, {}},
      {"cache hook_resid_post (all blocks)", [&] {
         cached_forward(NameFilter::predicate([](const std::string& n) { return n.find("hook_resid_post") != std::string::npos; }),
                        resid_bytes);
       }, {}},
      {"cache every point but patterns/scores", [&] { cached_forward(NameFilter::all_but_attention_matrices(), all_bytes); }, {}},
  };
  for (auto& variant : variants) variant.run();  // warm-up
  for (int round = 0; round < rounds; ++round)
    for (auto& variant : variants) variant.seconds.push_back(median_seconds(variant.run, 1, 0));

  const double plain = median(variants[0].seconds);
  for (const auto& variant : variants)
    fmt::print("  {:<40} {:8.1f} ms   ratio {:.3f}\n", variant.label, median(variant.seconds) * 1e3,
               median(variant.seconds) / plain);
  fmt::print("\n  cached bytes per token: hook_resid_post {:.0f} B, every point but patterns {:.0f} B\n",
             static_cast<double>(resid_bytes) / static_cast<double>(ids.numel()),
             static_cast<double>(all_bytes) / static_cast<double>(ids.numel()));
  return 0;
}

}  // namespace
}  // namespace moulin::bench

int main(int argc, char** argv) {
  std::filesystem::path models = "build/bench-models";
  std::string dtype = "bfloat16";
  int rounds = 9;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--models") models = argv[i + 1];
    else if (flag == "--dtype") dtype = argv[i + 1];
    else if (flag == "--rounds") rounds = std::stoi(argv[i + 1]);
  }
  try {
    return moulin::bench::run(models, moulin::parse_model_scalar_type(dtype), rounds);
  } catch (const std::exception& error) {
    fmt::print(stderr, "moulin_bench_hooks: error: {}\n", error.what());
    return 1;
  }
}
