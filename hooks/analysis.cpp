#include "hooks/analysis.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "hooks/hook_names.h"

namespace moulin {
namespace {

std::vector<std::string> residual_names(int layers) {
  std::vector<std::string> names;
  for (int l = 0; l < layers; ++l) names.push_back(hook_point_name(HookPoint::kResidPre, l));
  names.push_back(hook_point_name(HookPoint::kResidPost, layers - 1));
  return names;
}

void check_pair(const at::Tensor& clean, const at::Tensor& corrupted) {
  if (clean.dim() != 2 || clean.size(0) != 1 || clean.sizes() != corrupted.sizes())
    throw ArgumentError(fmt::format("patching needs clean and corrupted ids of one equal shape [1, pos], got [{}] and [{}]",
                                    fmt::join(clean.sizes(), ", "), fmt::join(corrupted.sizes(), ", ")));
}

// Runs `variants` copies of the corrupted input in batches, each with its own patch (`patch` edits row i of the
// activation for variant first + i), and returns the metric of every variant.
at::Tensor run_patched_variants(const LlamaModel& model, const at::Tensor& corrupted_ids, const PatchMetric& metric,
                                const PatchingOptions& options, int layer, std::int64_t variants,
                                const std::function<void(at::Tensor&, std::int64_t first)>& patch) {
  std::vector<at::Tensor> scores;
  for (std::int64_t first = 0; first < variants; first += options.batch_size) {
    const auto count = std::min(options.batch_size, variants - first);
    HookSet hooks(static_cast<int>(model.config().num_hidden_layers));
    hooks.add(HookAddress{options.point, layer}, [&](const at::Tensor& activation, const HookContext&) -> std::optional<at::Tensor> {
      at::Tensor patched = activation.clone();
      patch(patched, first);
      return patched;
    });
    ForwardOptions forward;
    forward.hooks = &hooks;
    if (options.attention_mask.defined()) forward.attention_mask = options.attention_mask.expand({count, -1});
    const at::Tensor values = metric(model.forward(corrupted_ids.expand({count, -1}), forward));
    if (values.dim() != 1 || values.size(0) != count)
      throw ArgumentError(fmt::format("the patching metric must return one value per batch row ([{}]), got [{}]", count,
                                      fmt::join(values.sizes(), ", ")));
    scores.push_back(values.to(at::kFloat).cpu());
  }
  return at::cat(scores);
}

at::Tensor clean_activations(const LlamaModel& model, const at::Tensor& clean_ids, const PatchingOptions& options) {
  const int layers = static_cast<int>(model.config().num_hidden_layers);
  CacheOptions cache_options;
  cache_options.names = NameFilter::predicate([point = options.point](const std::string& name) {
    const auto address = parse_hook_name(name);
    return address && address->point == point;
  });
  ForwardOptions forward;
  forward.attention_mask = options.attention_mask;
  forward.logits = LogitsFor::kNone;
  const auto [logits, cache] = run_with_cache(model, clean_ids, cache_options, forward);
  std::vector<at::Tensor> per_layer;
  for (int l = 0; l < layers; ++l) per_layer.push_back(cache.at(hook_point_name(options.point, l)));
  return at::stack(per_layer);  // [layers, 1, pos, ...]
}

}  // namespace

at::Tensor accumulated_resid(const ActivationCache& cache, int layers) {
  std::vector<at::Tensor> stream;
  for (const auto& name : residual_names(layers)) stream.push_back(cache.at(name));
  return at::stack(stream);
}

at::Tensor unembed_residual(const LlamaModel& model, const at::Tensor& residual) {
  const at::Tensor normed = rms_norm(residual.to(model.dtype()), model.weights().final_norm, model.config().rms_norm_eps);
  return at::matmul(normed, model.weights().lm_head.t()).to(at::kFloat);
}

at::Tensor logit_lens(const LlamaModel& model, const at::Tensor& input_ids, const std::vector<std::int64_t>& positions,
                      const ForwardOptions& forward) {
  const int layers = static_cast<int>(model.config().num_hidden_layers);
  CacheOptions options;
  options.names = NameFilter::names(residual_names(layers));
  ForwardOptions without_logits = forward;
  without_logits.logits = LogitsFor::kNone;
  const auto [logits, cache] = run_with_cache(model, input_ids, options, without_logits);
  const at::Tensor index = at::tensor(positions, at::kLong).to(model.device());
  return unembed_residual(model, accumulated_resid(cache, layers).index_select(2, index));
}

at::Tensor patching_sweep_positions(const LlamaModel& model, const at::Tensor& clean_ids, const at::Tensor& corrupted_ids,
                                    const PatchMetric& metric, const PatchingOptions& options) {
  check_pair(clean_ids, corrupted_ids);
  if (position_dim(options.point) != 1 || !hook_point_is_per_layer(options.point))
    throw ArgumentError("position sweeps patch a per-block [batch, pos, ...] point (not attention matrices)");
  const at::Tensor clean = clean_activations(model, clean_ids, options);
  const auto positions = clean_ids.size(1);
  std::vector<at::Tensor> rows;
  for (int layer = 0; layer < static_cast<int>(model.config().num_hidden_layers); ++layer) {
    const at::Tensor source = clean[layer][0];  // [pos, ...]
    rows.push_back(run_patched_variants(model, corrupted_ids, metric, options, layer, positions,
                                        [&](at::Tensor& activation, std::int64_t first) {
                                          for (std::int64_t i = 0; i < activation.size(0); ++i)
                                            activation[i][first + i].copy_(source[first + i]);
                                        }));
  }
  return at::stack(rows);
}

at::Tensor patching_sweep_heads(const LlamaModel& model, const at::Tensor& clean_ids, const at::Tensor& corrupted_ids,
                                const PatchMetric& metric, PatchingOptions options) {
  check_pair(clean_ids, corrupted_ids);
  if (options.point == HookPoint::kResidPre) options.point = HookPoint::kAttnZ;
  if (head_dim_index(options.point) != 2)
    throw ArgumentError(fmt::format("head sweeps patch a [batch, pos, head, d] point, not '{}'",
                                    hook_point_suffix(options.point)));
  const at::Tensor clean = clean_activations(model, clean_ids, options);
  const auto heads = clean.size(3);  // clean is [layers, 1, pos, head, d]
  std::vector<at::Tensor> rows;
  for (int layer = 0; layer < static_cast<int>(model.config().num_hidden_layers); ++layer) {
    const at::Tensor source = clean[layer][0];  // [pos, head, d]
    rows.push_back(run_patched_variants(model, corrupted_ids, metric, options, layer, heads,
                                        [&](at::Tensor& activation, std::int64_t first) {
                                          for (std::int64_t i = 0; i < activation.size(0); ++i)
                                            activation[i].select(1, first + i).copy_(source.select(1, first + i));
                                        }));
  }
  return at::stack(rows);
}

}  // namespace moulin
