#include "tests/support/golden.h"

#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "core/json_file.h"
#include "core/runtime.h"
#include "tests/support/npy.h"

namespace moulin::test {

std::filesystem::path golden_root() {
  if (const char* root = std::getenv("MOULIN_GOLDEN_DIR"); root && *root) return root;
  return MOULIN_DEFAULT_GOLDEN_DIR;
}

std::filesystem::path golden_model(const std::string& name) {
  const auto folder = golden_root() / name;
  if (!std::filesystem::exists(folder / "config.json"))
    throw std::runtime_error("golden model missing: " + folder.string() + " (set MOULIN_GOLDEN_DIR)");
  return folder;
}

at::Tensor golden_tensor(const std::string& model, const std::string& file) {
  const NpyArray array = read_npy(golden_model(model) / file);
  at::ScalarType type;
  if (array.descr == "<f4") type = at::kFloat;
  else if (array.descr == "<f8") type = at::kDouble;
  else if (array.descr == "<i8") type = at::kLong;
  else throw std::runtime_error(file + ": unexpected npy dtype " + array.descr);
  at::Tensor tensor = at::empty(array.shape, at::TensorOptions().dtype(type));
  std::memcpy(tensor.data_ptr(), array.bytes.data(), array.bytes.size());
  return tensor;
}

nlohmann::json golden_json(const std::string& model, const std::string& file) {
  return read_json_file(golden_model(model) / file);
}

c10::Device test_device() {
  const char* name = std::getenv("MOULIN_TEST_DEVICE");
  return parse_device(name && *name ? name : "cpu");
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.cpu().to(at::kDouble) - b.cpu().to(at::kDouble)).abs().max().item<double>();
}

}  // namespace moulin::test
