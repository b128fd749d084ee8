#pragma once
// Measurement helpers shared by the benchmarks: every figure is a median over repeats, taken in the same
// process as the reference it is compared with (the machines are shared and noisy).
#include <chrono>
#include <cstdint>
#include <functional>

#include <ATen/ATen.h>
#include <filesystem>

#include "core/config.h"

namespace moulin::bench {

// Median seconds of `repeats` calls of `work` after `warmup` calls.
double median_seconds(const std::function<void()>& work, int repeats, int warmup = 1);

// GFLOP/s of an [n, n] x [n, n] matrix product in `dtype` on the CPU (the machine's matmul throughput).
double matmul_gflops(at::ScalarType dtype, std::int64_t n);
// GB/s of reading a `bytes`-sized buffer once (a reduction over it): the memory read bandwidth.
double read_bandwidth_gbs(std::int64_t bytes);

// Peak and current resident set size of this process, in bytes (from /proc/self/status).
std::int64_t peak_rss_bytes();
std::int64_t current_rss_bytes();

// A random-weight fp32 checkpoint of `config` in `folder`, generated on first use and reused afterwards.
std::filesystem::path ensure_random_checkpoint(const std::filesystem::path& folder, const LlamaConfig& config);

}  // namespace moulin::bench
