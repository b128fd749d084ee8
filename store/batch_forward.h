#pragma once
// One forward pass over a batch of token windows, keeping chosen rows of chosen hook points. It is an observing hook
// per point (hooks/hook_set.h), like the activation cache: the dump has no private way into the model.
#include <cstdint>
#include <memory>
#include <vector>

#include <ATen/ATen.h>

#include "core/llama.h"
#include "hooks/hook_set.h"

namespace moulin {

class BatchForward {
 public:
  // Stores `hooks` in `dtype`. The pass stops after the deepest block a hook needs, and computes the final norm
  // and logits only when a final point (ln_final.*, unembed.hook_out) is asked for.
  BatchForward(const LlamaModel& model, std::vector<HookAddress> hooks, at::ScalarType dtype);

  // Runs `windows` (token ids; right-padded to the longest, with an attention mask, so padding cannot reach real
  // tokens) and returns, per hook, [rows.size(), row_shape...] CPU tensors in the stored dtype, where rows[i] is
  // b * longest + p for position p of window b.
  std::vector<at::Tensor> run(const std::vector<std::vector<std::int64_t>>& windows, const std::vector<std::int64_t>& rows);

  // The shape of one stored row per hook ([d], [heads, d_head], ...), found by running one token.
  std::vector<std::vector<std::int64_t>> row_shapes();

 private:
  struct Capture {
    at::Tensor rows;                   // flat row indices on the model's device
    std::vector<at::Tensor> outputs;  // per hook
  };
  const LlamaModel& model_;
  std::vector<HookAddress> hooks_;
  at::ScalarType dtype_;
  ForwardOptions forward_;
  std::unique_ptr<Capture> capture_;  // stable address for the hook functions
  HookSet hook_set_;
};

}  // namespace moulin
