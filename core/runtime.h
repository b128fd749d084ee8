#pragma once
// Process-wide LibTorch settings moulin's entry points (CLI, benchmarks, tests, Python) share.
#include <string_view>

#include <c10/core/Device.h>

namespace moulin {

// LibTorch defaults to one intra-op thread on some systems; use every core unless MOULIN_THREADS says otherwise.
// Returns the thread count in effect. Idempotent.
int init_runtime();
// "cpu", "cuda", "cuda:1"... Throws ArgumentError for unknown names, UnsupportedError when CUDA is absent.
c10::Device parse_device(std::string_view text);

}  // namespace moulin
