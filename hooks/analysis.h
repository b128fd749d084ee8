#pragma once
// Analyses built from the hook mechanism: the logit lens over the residual stream, and activation-patching sweeps
// between a clean and a corrupted run.
#include <functional>

#include <ATen/ATen.h>

#include "core/llama.h"
#include "hooks/activation_cache.h"

namespace moulin {

// The residual stream entering each block and leaving the last one: [layers + 1, batch, pos, d_model], from a
// cache holding every blocks.{l}.hook_resid_pre and the last hook_resid_post (TransformerLens' accumulated_resid).
at::Tensor accumulated_resid(const ActivationCache& cache, int layers);
// Logits the model would give if the stream stopped there: final RMSNorm and unembedding applied to `residual`
// [..., d_model] -> [..., vocab] float32. Applied to accumulated_resid this is the logit lens.
at::Tensor unembed_residual(const LlamaModel& model, const at::Tensor& residual);
// The logit lens at chosen positions: [layers + 1, batch, positions.size(), vocab] for `input_ids`.
at::Tensor logit_lens(const LlamaModel& model, const at::Tensor& input_ids, const std::vector<std::int64_t>& positions,
                      const ForwardOptions& forward = {});

// A scalar from the logits of a run (logit difference, target-language mass, KL...). Receives logits
// [batch, pos, vocab] float32 and returns one value per batch row [batch].
using PatchMetric = std::function<at::Tensor(const at::Tensor& logits)>;

struct PatchingOptions {
  HookPoint point = HookPoint::kResidPre;  // patched point (per block)
  std::int64_t batch_size = 16;            // patched variants run together in one batch
  at::Tensor attention_mask;               // [1, pos] shared by both runs, optional
};

// For every block l and position p: the corrupted run with point l at position p patched from the clean run,
// scored by `metric`: [layers, pos]. clean_ids and corrupted_ids are [1, pos] of equal length.
at::Tensor patching_sweep_positions(const LlamaModel& model, const at::Tensor& clean_ids, const at::Tensor& corrupted_ids,
                                    const PatchMetric& metric, const PatchingOptions& options = {});
// For every block l and head h: the corrupted run with head h of attn.hook_z (or the point given, which must
// have heads) patched from the clean run at all positions: [layers, heads].
at::Tensor patching_sweep_heads(const LlamaModel& model, const at::Tensor& clean_ids, const at::Tensor& corrupted_ids,
                                const PatchMetric& metric, PatchingOptions options = {});

}  // namespace moulin
