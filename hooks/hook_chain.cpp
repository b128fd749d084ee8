#include "hooks/hook_chain.h"

namespace moulin {

HookChain::HookChain(std::vector<ForwardHooks*> members) {
  for (auto* member : members) push_back(member);
}

void HookChain::push_back(ForwardHooks* hooks) {
  if (hooks) members_.push_back(hooks);
}

ForwardHooks* HookChain::as_forward_hooks() {
  if (members_.empty()) return nullptr;
  return members_.size() == 1 ? members_.front() : this;
}

bool HookChain::wants(HookPoint point, int layer) const {
  for (const auto* member : members_)
    if (member->wants(point, layer)) return true;
  return false;
}

at::Tensor HookChain::visit(const at::Tensor& activation, const HookContext& context) {
  at::Tensor current = activation;
  for (auto* member : members_)
    if (member->wants(context.point, context.layer)) current = member->visit(current, context);
  return current;
}

}  // namespace moulin
