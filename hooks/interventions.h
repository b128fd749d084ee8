#pragma once
// Built-in interventions, each a HookFn to attach to a point with HookSet::add. Positions are absolute (so the
// same intervention works across KV-cached generation steps, where each forward sees only the new positions);
// an empty position list means every position.
#include <vector>

#include <ATen/ATen.h>

#include "hooks/hook_set.h"

namespace moulin {

using Positions = std::vector<std::int64_t>;

// Replaces the activation (at `positions`) by zeros.
HookFn zero_ablation(Positions positions = {});
// Replaces the activation (at `positions`) by `mean`, broadcast over batch and positions: shape [d], [head, d], ...
// (see mean_activation).
HookFn mean_ablation(at::Tensor mean, Positions positions = {});
// Mean over batch and positions of a cached activation, for mean_ablation.
at::Tensor mean_activation(const at::Tensor& cached, HookPoint point);
// Zeroes (or sets to `mean`, shaped [head, ...]) the listed heads of a per-head point (q, k, v, rot_q, rot_k, z,
// attn_scores, pattern).
HookFn head_ablation(std::vector<std::int64_t> heads, at::Tensor mean = {}, Positions positions = {});
// Replaces the activation at `positions` by the same positions of `source` (an activation of another run, e.g.
// ActivationCache::at of the clean run, with the same batch size and at least as many positions).
HookFn patch_from(at::Tensor source, Positions positions = {});
// Adds scale * vector ([d] or the activation's trailing shape) at `positions`: activation steering.
HookFn steering(at::Tensor vector, double scale, Positions positions = {});
// Removes the component along `direction` ([d]): x - (x . u) u with u = direction / |direction|, in fp32.
HookFn project_out(at::Tensor direction, Positions positions = {});

}  // namespace moulin
