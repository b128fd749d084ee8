#include "bench/measure.h"

#include <algorithm>
#include <ATen/Parallel.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/random_checkpoint.h"

namespace moulin::bench {

double median_seconds(const std::function<void()>& work, int repeats, int warmup) {
  for (int i = 0; i < warmup; ++i) work();
  std::vector<double> times;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    work();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

double matmul_gflops(at::ScalarType dtype, std::int64_t n) {
  MatmulReference reference(dtype, n);
  return reference.flops() / median_seconds([&] { reference.seconds_once(); }, 7, 2) / 1e9;
}

MatmulReference::MatmulReference(at::ScalarType dtype, std::int64_t n)
    : n_(n), a_(at::randn({n, n}).to(dtype)), b_(at::randn({n, n}).to(dtype)), out_(at::empty({n, n}, a_.options())) {}

double MatmulReference::seconds_once() {
  const auto start = std::chrono::steady_clock::now();
  at::mm_out(out_, a_, b_);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

ReadBandwidth::ReadBandwidth(std::int64_t bytes)
    : words_(static_cast<std::size_t>(bytes / 8), 1), floats_(at::ones({bytes / 4}, at::kFloat)) {}

double ReadBandwidth::seconds_once() {
  const auto words = static_cast<std::int64_t>(words_.size());
  std::vector<std::uint64_t> partial(static_cast<std::size_t>(at::get_num_threads()) * 8, 0);
  auto start = std::chrono::steady_clock::now();
  at::parallel_for(0, words, words / at::get_num_threads() + 1, [&](std::int64_t begin, std::int64_t end) {
    std::uint64_t sum[4] = {0, 0, 0, 0};
    std::int64_t i = begin;
    for (; i + 4 <= end; i += 4)
      for (int j = 0; j < 4; ++j) sum[j] += words_[static_cast<std::size_t>(i + j)];
    for (; i < end; ++i) sum[0] += words_[static_cast<std::size_t>(i)];
    partial[static_cast<std::size_t>(at::get_thread_num()) * 8] += sum[0] + sum[1] + sum[2] + sum[3];
  });
  const double integer_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (partial[0] == 42) std::printf(" ");  // keeps the sums observable so the loop is not optimised away
  start = std::chrono::steady_clock::now();
  (void)floats_.sum().item<float>();
  const double torch_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return std::min(integer_seconds, torch_seconds);
}

Interleaved::Interleaved(const std::vector<std::function<double()>>& steps, int rounds) {
  for (const auto& step : steps) (void)step();  // warm-up
  for (int round = 0; round < rounds; ++round) {
    std::vector<double> seconds;
    for (const auto& step : steps) seconds.push_back(step());
    seconds_.push_back(std::move(seconds));
  }
}

namespace {
double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const auto n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}
}  // namespace

double Interleaved::median_seconds(std::size_t step) const {
  std::vector<double> values;
  for (const auto& round : seconds_) values.push_back(round.at(step));
  return median(values);
}

double Interleaved::ratio(std::size_t step, std::size_t reference) const {
  std::vector<double> values;
  for (const auto& round : seconds_) values.push_back(round.at(step) / round.at(reference));
  return median(values);
}

namespace {
std::int64_t status_kb(const std::string& key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(key, 0) == 0) return std::stoll(line.substr(key.size()));
  return -1;
}
}  // namespace

std::filesystem::path ensure_random_checkpoint(const std::filesystem::path& folder, const LlamaConfig& config) {
  if (!std::filesystem::exists(folder / "config.json")) {
    fmt::print("  generating {} ...\n", folder.string());
    std::fflush(stdout);
    write_random_checkpoint(folder, config, RandomCheckpointOptions{DType::kF32, 124, 0});
  }
  return folder;
}

std::int64_t peak_rss_bytes() { return status_kb("VmHWM:") * 1024; }
std::int64_t current_rss_bytes() { return status_kb("VmRSS:") * 1024; }

}  // namespace moulin::bench
