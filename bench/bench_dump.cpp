// Cost of dumping on bench-124m: `dump_activations` storing hook_resid_post of every block (float32, batches of 8
// windows of 128 tokens) against the same forward passes without dumping, measured alternately in one run (and the
// forward passes with the dump's capturing hooks but no writing, to tell the hooks' share from the writer's). Also the
// MB/s the dump wrote, next to the sequential write speed of the same disk measured in the same run (buffered, as
// the dump writes, and synced to the device), and the peak memory.
//
//   moulin_bench_dump [--models DIR] [--out DIR] [--dtype float32|bfloat16] [--batches N] [--rounds N]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench/measure.h"
#include "core/error.h"
#include "core/llama.h"
#include "core/random_checkpoint.h"
#include "core/runtime.h"
#include "core/torch_dtype.h"
#include "store/batch_forward.h"
#include "store/dump.h"
#include "store/hook_selection.h"

namespace moulin::bench {
namespace {

constexpr std::int64_t kBatch = 8, kContext = 128;

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

double seconds_of(const std::function<void()>& work) { return median_seconds(work, 1, 0); }

// MB/s of writing `bytes` to a new file in `folder` in 8 MiB blocks: into the page cache (what the dump does) and,
// with fdatasync at the end, onto the device.
std::pair<double, double> disk_write_mbs(const std::filesystem::path& folder, std::int64_t bytes) {
  const auto path = folder / "bench-disk-write.bin";
  const std::vector<char> block(8 << 20, 'x');
  double buffered = 0, synced = 0;
  for (const bool sync : {false, true}) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) throw FileError(fmt::format("cannot write {}", path.string()));
    const double seconds = seconds_of([&] {
      for (std::int64_t written = 0; written < bytes; written += static_cast<std::int64_t>(block.size()))
        if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size()))
          throw FileError(fmt::format("writing {} failed", path.string()));
      if (sync) ::fdatasync(fd);
    });
    ::close(fd);
    (sync ? synced : buffered) = static_cast<double>(bytes) / seconds / 1e6;
    std::filesystem::remove(path);
  }
  return {buffered, synced};
}

int run(const std::filesystem::path& models, const std::filesystem::path& out, at::ScalarType dtype, int batches,
        int rounds) {
  const int threads = init_runtime();
  std::filesystem::create_directories(out);
  const auto folder = ensure_random_checkpoint(models / "bench-124m", bench_124m_config());
  const LlamaModel model = LlamaModel::load(folder, LoadOptions{dtype, c10::kCPU});
  const int layers = static_cast<int>(model.config().num_hidden_layers);

  // A pre-tokenized corpus of batches x 8 documents of 128 tokens: one window each, full batches, no padding.
  std::mt19937_64 random(7);
  std::uniform_int_distribution<std::int64_t> token(3, model.config().vocab_size - 1);
  std::vector<at::Tensor> inputs;
  const auto corpus = out / "bench-dump-corpus.jsonl";
  {
    std::ofstream file(corpus);
    for (int b = 0; b < batches; ++b) {
      at::Tensor ids = at::empty({kBatch, kContext}, at::kLong);
      for (std::int64_t d = 0; d < kBatch; ++d) {
        std::vector<std::int64_t> document(kContext);
        for (auto& id : document) id = token(random);
        std::copy(document.begin(), document.end(), ids[d].data_ptr<std::int64_t>());
        file << nlohmann::json{{"ids", document}}.dump() << "\n";
      }
      inputs.push_back(ids);
    }
  }
  DumpOptions options;
  options.out = out / "bench-dump.h5";
  options.corpus.path = corpus;
  options.hooks = {"blocks.*.hook_resid_post"};
  options.batch_size = kBatch;
  options.context_length = kContext;
  options.existing = ExistingStore::kOverwrite;
  options.dtype = at::kFloat;

  // What the dump computes: the same windows, stopping after the last block (no final norm, no logits).
  const auto forward_only = [&] {
    const c10::InferenceMode inference;
    ForwardOptions forward;
    forward.stop_at_layer = layers;
    for (const auto& ids : inputs) (void)model.forward(ids, forward);
  };
  // The same with the dump's capturing hooks (copying every stored row out), but nothing written: what the hooks
  // cost apart from the writer.
  BatchForward capture(model, select_dump_hooks(options.hooks, layers), at::kFloat);
  std::vector<std::int64_t> all_rows(static_cast<std::size_t>(kBatch * kContext));
  for (std::size_t i = 0; i < all_rows.size(); ++i) all_rows[i] = static_cast<std::int64_t>(i);
  std::vector<std::vector<std::vector<std::int64_t>>> windows;
  for (const auto& ids : inputs) {
    windows.emplace_back();
    for (std::int64_t d = 0; d < kBatch; ++d)
      windows.back().emplace_back(ids[d].data_ptr<std::int64_t>(), ids[d].data_ptr<std::int64_t>() + kContext);
  }
  const auto forward_with_capture = [&] {
    const c10::InferenceMode inference;
    for (const auto& batch : windows) (void)capture.run(batch, all_rows);
  };
  DumpResult result;
  const auto dump = [&] { result = dump_activations(model, nullptr, options); };

  fmt::print("moulin dump benchmark: bench-124m {}, {} batches of {} x {} tokens, {} threads, {} alternating rounds\n",
             scalar_type_name(dtype), batches, kBatch, kContext, threads, rounds);
  fmt::print("  storing blocks.*.hook_resid_post ({} hooks x {} float32 per token) to {}\n\n", layers,
             model.config().hidden_size, options.out.string());
  forward_only();  // warm up: first-touch of weights, thread pools
  std::vector<double> forward_seconds, capture_seconds, dump_seconds, ratios, capture_ratios;
  for (int round = 0; round < rounds; ++round) {
    forward_seconds.push_back(seconds_of(forward_only));
    dump_seconds.push_back(seconds_of(dump));
    capture_seconds.push_back(seconds_of(forward_with_capture));
    ratios.push_back(dump_seconds.back() / forward_seconds.back());
    capture_ratios.push_back(capture_seconds.back() / forward_seconds.back());
    fmt::print("  round {}: forward {:7.2f} s   dump {:7.2f} s (ratio {:.3f})   hooks only {:7.2f} s (ratio {:.3f})\n",
               round + 1, forward_seconds.back(), dump_seconds.back(), ratios.back(), capture_seconds.back(),
               capture_ratios.back());
  }
  const double megabytes = static_cast<double>(result.bytes) / 1e6;
  const auto [buffered, synced] = disk_write_mbs(out, result.bytes);
  const double ratio = median(ratios);
  fmt::print("\n  forward only (median)          {:8.2f} s\n", median(forward_seconds));
  fmt::print("  dump (median)                  {:8.2f} s   ratio {:.3f} (target <= 1.10: {})\n", median(dump_seconds),
             ratio, ratio <= 1.10 ? "met" : "MISSED");
  fmt::print("  of which in forward passes     {:8.2f} s, waiting for the writer {:.2f} s\n", result.forward_seconds,
             result.queue_wait_seconds);
  fmt::print("  hooks without writing (median) {:8.2f} s   ratio {:.3f}\n", median(capture_seconds), median(capture_ratios));
  fmt::print("  written per dump               {:8.1f} MB ({} tokens), {:.1f} MB/s\n", megabytes, result.tokens,
             megabytes / median(dump_seconds));
  fmt::print("  disk sequential write          {:8.1f} MB/s buffered, {:.1f} MB/s synced (same folder, same size)\n",
             buffered, synced);
  fmt::print("  peak resident memory           {:8.1f} MB (model {:.1f} MB)\n", static_cast<double>(peak_rss_bytes()) / 1e6,
             static_cast<double>(model.weights().byte_size()) / 1e6);
  std::filesystem::remove(options.out);
  std::filesystem::remove(corpus);
  return 0;
}

}  // namespace
}  // namespace moulin::bench

int main(int argc, char** argv) {
  std::filesystem::path models = "build/bench-models";
  std::filesystem::path out = "build/bench-dump";
  std::string dtype = "float32";
  int batches = 8, rounds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--models") models = argv[i + 1];
    else if (flag == "--out") out = argv[i + 1];
    else if (flag == "--dtype") dtype = argv[i + 1];
    else if (flag == "--batches") batches = std::stoi(argv[i + 1]);
    else if (flag == "--rounds") rounds = std::stoi(argv[i + 1]);
  }
  try {
    return moulin::bench::run(models, out, moulin::parse_model_scalar_type(dtype), batches, rounds);
  } catch (const std::exception& error) {
    fmt::print(stderr, "moulin_bench_dump: error: {}\n", error.what());
    return 1;
  }
}
