#pragma once
// Analyses built from the hook mechanism: the logit lens over the residual stream, and activation-patching sweeps
// between a clean and a corrupted run.
#include <functional>

#include <ATen/ATen.h>

#include "core/llama.h"
#include "hooks/activation_cache.h"
#include "hooks/interventions.h"

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
  // Logits the metric receives: a metric of the last position only spares the [batch, pos, vocab] tensor, which
  // is large for a 128k vocabulary.
  LogitsFor logits = LogitsFor::kAll;
};

// One piece of a patched run: the activation at `address` replaced by the clean run's at `positions` (empty:
// every position) and, on a per-head point, only for `heads` (empty: every head).
struct ActivationPatch {
  HookAddress address;
  Positions positions;
  std::vector<std::int64_t> heads;
};
// All the patches of one run, applied together; an empty variant is the corrupted run itself.
using PatchVariant = std::vector<ActivationPatch>;

// The corrupted run once per variant (batched, options.batch_size at a time), each with its patches taken from
// `clean_cache` (a run_with_cache of clean ids as long as corrupted_ids, holding every patched point), scored by
// `metric`: [variants] float32. Baselines given as variants (nothing patched; the embedding patched everywhere, which
// is the clean run) go through the same batched forwards as the patches they are compared with, so the
// identities of patching hold to the last bit of a batch row. options.point is not used. Throws ArgumentError for corrupted_ids not [1, pos], a patched point missing from
// the cache or of another length, a head or position out of range, and heads on a point without heads.
at::Tensor run_patch_variants(const LlamaModel& model, const at::Tensor& corrupted_ids, const ActivationCache& clean_cache,
                              const std::vector<PatchVariant>& variants, const PatchMetric& metric,
                              const PatchingOptions& options = {});

// For every block l and position p: the corrupted run with point l at position p patched from the clean run,
// scored by `metric`: [layers, pos]. clean_ids and corrupted_ids are [1, pos] of equal length.
at::Tensor patching_sweep_positions(const LlamaModel& model, const at::Tensor& clean_ids, const at::Tensor& corrupted_ids,
                                    const PatchMetric& metric, const PatchingOptions& options = {});
// For every block l and head h: the corrupted run with head h of attn.hook_z (or the point given, which must
// have heads) patched from the clean run at all positions: [layers, heads].
at::Tensor patching_sweep_heads(const LlamaModel& model, const at::Tensor& clean_ids, const at::Tensor& corrupted_ids,
                                const PatchMetric& metric, PatchingOptions options = {});

}  // namespace moulin
