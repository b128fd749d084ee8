#pragma once
// Access to ../shared/golden (HF transformers 4.44.2 reference outputs) as torch tensors.
#include <filesystem>
#include <string>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

namespace moulin::test {

// MOULIN_GOLDEN_DIR from the environment, else the path configured at build time (<repo>/../shared/golden).
std::filesystem::path golden_root();
std::filesystem::path golden_model(const std::string& name);
// Loads <golden model>/<file> (.npy) as a CPU tensor of the stored dtype.
at::Tensor golden_tensor(const std::string& model, const std::string& file);
nlohmann::json golden_json(const std::string& model, const std::string& file);
// The device the model tests load on: MOULIN_TEST_DEVICE (cpu, cuda, cuda:N), cpu by default, so one suite
// checks CPU and GPU builds alike.
c10::Device test_device();
// Largest absolute difference between two tensors compared in float64.
double max_abs_diff(const at::Tensor& a, const at::Tensor& b);

}  // namespace moulin::test
