#pragma once
// Measurement helpers shared by the benchmarks: every figure is a median over repeats, taken in the same
// process as the reference it is compared with (the machines are shared and noisy).
#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include <ATen/ATen.h>
#include <filesystem>

#include "core/config.h"

namespace moulin::bench {

// Median seconds of `repeats` calls of `work` after `warmup` calls.
double median_seconds(const std::function<void()>& work, int repeats, int warmup = 1);

// GFLOP/s of an [n, n] x [n, n] matrix product in `dtype` on the CPU (the machine's matmul throughput).
double matmul_gflops(at::ScalarType dtype, std::int64_t n);

// One timing of each reference, for measurements interleaved with what they are compared to.
class MatmulReference {
 public:
  MatmulReference(at::ScalarType dtype, std::int64_t n);
  double seconds_once();  // one [n, n] x [n, n] product
  double flops() const { return 2.0 * static_cast<double>(n_) * static_cast<double>(n_) * static_cast<double>(n_); }

 private:
  std::int64_t n_;
  at::Tensor a_, b_, out_;
};

// The memory read bandwidth: streaming reads of a `bytes`-sized buffer (bytes() / seconds_once() is GB/s x 1e9).
class ReadBandwidth {
 public:
  explicit ReadBandwidth(std::int64_t bytes);
  double seconds_once();  // one read of the buffer: the faster of a plain integer sum and a torch sum
  double bytes() const { return static_cast<double>(words_.size()) * 8.0; }

 private:
  std::vector<std::uint64_t> words_;
  at::Tensor floats_;
};

// Runs every timed step once per round, in turn, for `rounds` rounds after one warm-up round; each step returns the
// seconds it measured. On a shared machine the speed on offer drifts by 2x within minutes, so a figure is only
// comparable with a reference timed next to it: ratio(i, j) is the median over rounds of step i's seconds over
// step j's in the same round.
class Interleaved {
 public:
  Interleaved(const std::vector<std::function<double()>>& steps, int rounds);
  double median_seconds(std::size_t step) const;
  double ratio(std::size_t step, std::size_t reference) const;

 private:
  std::vector<std::vector<double>> seconds_;  // [round][step]
};

// Peak and current resident set size of this process, in bytes (from /proc/self/status).
std::int64_t peak_rss_bytes();
std::int64_t current_rss_bytes();

// A random-weight fp32 checkpoint of `config` in `folder`, generated on first use and reused afterwards.
std::filesystem::path ensure_random_checkpoint(const std::filesystem::path& folder, const LlamaConfig& config);

}  // namespace moulin::bench
