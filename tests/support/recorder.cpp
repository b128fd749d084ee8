#include "tests/support/recorder.h"

#include <stdexcept>

namespace moulin::test {

at::Tensor Recorder::visit(const at::Tensor& activation, const HookContext& context) {
  recorded_[hook_point_name(context.point, context.layer)] = activation.detach().clone();
  return activation;
}

const at::Tensor& Recorder::at(const std::string& name) const {
  const auto found = recorded_.find(name);
  if (found == recorded_.end()) throw std::runtime_error("nothing recorded at " + name);
  return found->second;
}

}  // namespace moulin::test
