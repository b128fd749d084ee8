#include "core/runtime.h"

#include <cstdlib>
#include <string>
#include <thread>

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include "core/error.h"

namespace moulin {

int init_runtime() {
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  if (const char* requested = std::getenv("MOULIN_THREADS"); requested && *requested) {
    char* end = nullptr;
    const long value = std::strtol(requested, &end, 10);
    if (*end != '\0' || value <= 0)
      throw ArgumentError(fmt::format("MOULIN_THREADS='{}' must be a positive integer", requested));
    threads = static_cast<int>(value);
  }
  if (threads > 0 && at::get_num_threads() != threads) at::set_num_threads(threads);
  return at::get_num_threads();
}

c10::Device parse_device(std::string_view text) {
  c10::Device device(c10::kCPU);
  try {
    device = c10::Device(std::string(text));
  } catch (const std::exception&) {
    throw ArgumentError(fmt::format("unknown device '{}': use cpu, cuda or cuda:N", text));
  }
  if (device.is_cuda() && !at::hasCUDA())
    throw UnsupportedError(fmt::format("device '{}' requested but this LibTorch build has no CUDA or no GPU is visible",
                                       text));
  if (!device.is_cpu() && !device.is_cuda())
    throw UnsupportedError(fmt::format("device '{}' is not supported: use cpu or cuda", text));
  return device;
}

}  // namespace moulin
