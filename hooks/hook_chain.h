#pragma once
// Several ForwardHooks consulted in order at every point: the caller's interventions, then recorders, or a model's
// long-lived hooks followed by one call's hooks. Each member sees the activation the previous one returned.
#include <vector>

#include <ATen/ATen.h>

#include "core/hook_points.h"

namespace moulin {

class HookChain : public ForwardHooks {
 public:
  HookChain() = default;
  explicit HookChain(std::vector<ForwardHooks*> members);
  // nullptr members are skipped, so optional hook sets can be passed as they are.
  void push_back(ForwardHooks* hooks);
  bool empty() const { return members_.empty(); }
  // The chain itself, or the single member, or nullptr: what to hand to ForwardOptions::hooks.
  ForwardHooks* as_forward_hooks();

  bool wants(HookPoint point, int layer) const override;
  at::Tensor visit(const at::Tensor& activation, const HookContext& context) override;

 private:
  std::vector<ForwardHooks*> members_;
};

}  // namespace moulin
