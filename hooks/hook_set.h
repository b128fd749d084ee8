#pragma once
// A set of hook functions attached to named points, handed to LlamaModel::forward through ForwardOptions::hooks.
// A hook sees the activation and its context and returns nothing (observe) or a replacement (intervene), so
// reading and writing share one signature, as in TransformerLens. Hooks live exactly as long as their HookSet:
// there is no global hook state to forget to clean up.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "core/hook_points.h"
#include "hooks/hook_names.h"

namespace moulin {

using HookFn = std::function<std::optional<at::Tensor>(const at::Tensor& activation, const HookContext& context)>;

// Which hook points: listed names (checked against the model), or any name a predicate accepts.
class NameFilter {
 public:
  static NameFilter names(std::vector<std::string> names);
  static NameFilter predicate(std::function<bool(const std::string&)> accepts);
  static NameFilter all();
  // Every point except attention scores and patterns: [batch, head, pos, pos] tensors are quadratic in length.
  static NameFilter all_but_attention_matrices();

  // The addresses selected in a model with `layers` blocks. Throws ArgumentError for unknown listed names.
  std::vector<HookAddress> select(int layers) const;

 private:
  std::vector<std::string> names_;
  std::function<bool(const std::string&)> accepts_;
};

class HookSet : public ForwardHooks {
 public:
  using Handle = std::size_t;

  explicit HookSet(int layers);

  // Attaches `fn` to one point (a full name such as "blocks.3.hook_resid_post"). Several hooks on one point run in
  // the order they were added, each seeing the previous one's result.
  Handle add(const std::string& name, HookFn fn);
  Handle add(const NameFilter& filter, HookFn fn);
  Handle add(const HookAddress& address, HookFn fn);
  void remove(Handle handle);
  void clear();
  bool empty() const { return count_ == 0; }
  int layers() const { return layers_; }

  bool wants(HookPoint point, int layer) const override;
  at::Tensor visit(const at::Tensor& activation, const HookContext& context) override;

 private:
  struct Entry {
    Handle handle;
    HookFn fn;
  };
  std::size_t slot(HookPoint point, int layer) const;
  int layers_;
  std::vector<std::vector<Entry>> slots_;  // [(layer + 1) * kHookPointCount + point]
  std::size_t count_ = 0;
  Handle next_handle_ = 1;
};

}  // namespace moulin
