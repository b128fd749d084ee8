#pragma once
// Test helper: a ForwardHooks that records copies of chosen hook points, keyed by full hook name.
#include <map>
#include <set>
#include <string>

#include <ATen/ATen.h>

#include "core/hook_points.h"

namespace moulin::test {

class Recorder : public ForwardHooks {
 public:
  explicit Recorder(std::set<HookPoint> points) : points_(std::move(points)) {}
  bool wants(HookPoint point, int) const override { return points_.count(point) > 0; }
  at::Tensor visit(const at::Tensor& activation, const HookContext& context) override;
  const at::Tensor& at(const std::string& name) const;

 private:
  std::set<HookPoint> points_;
  std::map<std::string, at::Tensor> recorded_;
};

}  // namespace moulin::test
