#include "hooks/hook_set.h"

#include <fmt/format.h>

#include "core/error.h"

namespace moulin {

NameFilter NameFilter::names(std::vector<std::string> names) {
  NameFilter filter;
  filter.names_ = std::move(names);
  return filter;
}

NameFilter NameFilter::predicate(std::function<bool(const std::string&)> accepts) {
  NameFilter filter;
  filter.accepts_ = std::move(accepts);
  return filter;
}

NameFilter NameFilter::all() {
  return predicate([](const std::string&) { return true; });
}

NameFilter NameFilter::all_but_attention_matrices() {
  return predicate([](const std::string& name) {
    return name.find("hook_pattern") == std::string::npos && name.find("hook_attn_scores") == std::string::npos;
  });
}

std::vector<HookAddress> NameFilter::select(int layers) const {
  std::vector<HookAddress> selected;
  if (!accepts_) {
    for (const auto& name : names_) selected.push_back(resolve_hook_name(name, layers));
    return selected;
  }
  for (const auto& address : all_hook_addresses(layers))
    if (accepts_(hook_point_name(address.point, address.layer))) selected.push_back(address);
  return selected;
}

HookSet::HookSet(int layers)
    : layers_(layers), slots_(static_cast<std::size_t>(layers + 1) * kHookPointCount) {}

std::size_t HookSet::slot(HookPoint point, int layer) const {
  return static_cast<std::size_t>(layer + 1) * kHookPointCount + static_cast<std::size_t>(point);
}

HookSet::Handle HookSet::add(const HookAddress& address, HookFn fn) {
  if (!fn) throw ArgumentError("cannot add an empty hook function");
  if (address.layer >= layers_ || address.layer < -1 || hook_point_is_per_layer(address.point) != (address.layer >= 0))
    throw ArgumentError(fmt::format("no hook point {} in a model with {} blocks",
                                    hook_point_name(address.point, address.layer), layers_));
  const Handle handle = next_handle_++;
  slots_[slot(address.point, address.layer)].push_back({handle, std::move(fn)});
  ++count_;
  return handle;
}

HookSet::Handle HookSet::add(const std::string& name, HookFn fn) { return add(resolve_hook_name(name, layers_), std::move(fn)); }

HookSet::Handle HookSet::add(const NameFilter& filter, HookFn fn) {
  const auto addresses = filter.select(layers_);
  if (addresses.empty()) throw ArgumentError("the hook filter selects no hook point");
  const Handle handle = next_handle_++;
  for (const auto& address : addresses) {
    slots_[slot(address.point, address.layer)].push_back({handle, fn});
    ++count_;
  }
  return handle;
}

void HookSet::remove(Handle handle) {
  for (auto& entries : slots_) {
    const auto before = entries.size();
    entries.erase(std::remove_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.handle == handle; }),
                  entries.end());
    count_ -= before - entries.size();
  }
}

void HookSet::clear() {
  for (auto& entries : slots_) entries.clear();
  count_ = 0;
}

bool HookSet::wants(HookPoint point, int layer) const { return count_ > 0 && !slots_[slot(point, layer)].empty(); }

at::Tensor HookSet::visit(const at::Tensor& activation, const HookContext& context) {
  at::Tensor current = activation;
  for (const auto& entry : slots_[slot(context.point, context.layer)])
    if (auto replacement = entry.fn(current, context)) current = std::move(*replacement);
  return current;
}

}  // namespace moulin
