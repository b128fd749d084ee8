#include "hooks/analysis.h"

#include <map>

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

// Rejects a patch that could not be applied to a run of `length` positions, before anything runs.
void check_patch(const ActivationPatch& patch, const at::Tensor& clean, std::int64_t length) {
  const std::string name = hook_point_name(patch.address.point, patch.address.layer);
  const int positions_dim = position_dim(patch.address.point);
  if (clean.size(0) != 1 || clean.size(positions_dim) != length)
    throw ArgumentError(fmt::format("patching '{}': the clean activation [{}] is not one run of {} positions", name,
                                    fmt::join(clean.sizes(), ", "), length));
  for (const auto position : patch.positions)
    if (position < 0 || position >= length)
      throw ArgumentError(fmt::format("patching '{}': position {} outside the run's {} positions", name, position, length));
  if (patch.heads.empty()) return;
  const int heads_dim = head_dim_index(patch.address.point);
  if (heads_dim < 0) throw ArgumentError(fmt::format("patching heads of '{}', which has no head dimension", name));
  for (const auto head : patch.heads)
    if (head < 0 || head >= clean.size(heads_dim))
      throw ArgumentError(fmt::format("patching '{}': head {} out of range ({} heads)", name, head, clean.size(heads_dim)));
}

// Copies the clean values one patch asks for into `row` of `activation` (in place; `clean` is [1, ...]).
void apply_patch(at::Tensor& activation, std::int64_t row, const at::Tensor& clean, const ActivationPatch& patch) {
  // Dimensions of one batch row.
  const int positions_dim = position_dim(patch.address.point) - 1;
  const int heads_dim = head_dim_index(patch.address.point) - 1;
  std::vector<std::pair<at::Tensor, at::Tensor>> pieces;  // (target view, source view)
  if (patch.heads.empty()) {
    pieces.emplace_back(activation[row], clean[0]);
  } else {
    for (const auto head : patch.heads) pieces.emplace_back(activation[row].select(heads_dim, head), clean[0].select(heads_dim, head));
  }
  // Selecting a head removes its dimension, shifting the position dimension when it came after.
  const int dim = !patch.heads.empty() && heads_dim < positions_dim ? positions_dim - 1 : positions_dim;
  const at::Tensor index =
      patch.positions.empty() ? at::Tensor() : at::tensor(patch.positions, at::kLong).to(activation.device());
  for (auto& [target, source] : pieces) {
    if (!index.defined()) {
      target.copy_(source);
    } else {
      target.index_copy_(dim, index, source.index_select(dim, index));
    }
  }
}

// The patches of one batch that touch one point, with the clean activation they copy from.
struct PointPatches {
  HookAddress address;
  at::Tensor clean;
  std::vector<std::pair<std::int64_t, const ActivationPatch*>> rows;  // (batch row, patch)
};

at::Tensor clean_cache_of_point(const LlamaModel& model, const at::Tensor& clean_ids, const PatchingOptions& options,
                                ActivationCache& cache) {
  CacheOptions cache_options;
  cache_options.names = NameFilter::predicate([point = options.point](const std::string& name) {
    const auto address = parse_hook_name(name);
    return address && address->point == point;
  });
  ForwardOptions forward;
  forward.attention_mask = options.attention_mask;
  forward.logits = LogitsFor::kNone;
  cache = run_with_cache(model, clean_ids, cache_options, forward).second;
  return cache.at(hook_point_name(options.point, 0));
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

at::Tensor run_patch_variants(const LlamaModel& model, const at::Tensor& corrupted_ids, const ActivationCache& clean_cache,
                              const std::vector<PatchVariant>& variants, const PatchMetric& metric,
                              const PatchingOptions& options) {
  if (corrupted_ids.dim() != 2 || corrupted_ids.size(0) != 1)
    throw ArgumentError(fmt::format("patching needs corrupted ids of shape [1, pos], got [{}]",
                                    fmt::join(corrupted_ids.sizes(), ", ")));
  if (options.batch_size < 1) throw ArgumentError(fmt::format("patching batch size {} is not positive", options.batch_size));
  const int layers = static_cast<int>(model.config().num_hidden_layers);
  std::map<std::string, at::Tensor> clean;  // by hook name, on the model's device and in its dtype
  for (const auto& variant : variants)
    for (const auto& patch : variant) {
      const std::string name = hook_point_name(patch.address.point, patch.address.layer);
      if (clean.count(name) == 0) clean[name] = clean_cache.at(name).to(model.device(), model.dtype());
      check_patch(patch, clean[name], corrupted_ids.size(1));
    }

  const auto total = static_cast<std::int64_t>(variants.size());
  std::vector<at::Tensor> scores;
  for (std::int64_t first = 0; first < total; first += options.batch_size) {
    const auto count = std::min(options.batch_size, total - first);
    std::map<std::string, PointPatches> by_point;
    for (std::int64_t row = 0; row < count; ++row)
      for (const auto& patch : variants[static_cast<std::size_t>(first + row)]) {
        const std::string name = hook_point_name(patch.address.point, patch.address.layer);
        auto [entry, added] = by_point.try_emplace(name, PointPatches{patch.address, clean[name], {}});
        entry->second.rows.emplace_back(row, &patch);
      }
    HookSet hooks(layers);
    for (const auto& [name, point] : by_point)
      hooks.add(point.address, [&point = point](const at::Tensor& activation, const HookContext&) -> std::optional<at::Tensor> {
        at::Tensor patched = activation.clone();
        for (const auto& [row, patch] : point.rows) apply_patch(patched, row, point.clean, *patch);
        return patched;
      });
    ForwardOptions forward;
    forward.hooks = &hooks;
    forward.logits = options.logits;
    if (options.attention_mask.defined()) forward.attention_mask = options.attention_mask.expand({count, -1});
    const at::Tensor values = metric(model.forward(corrupted_ids.expand({count, -1}), forward));
    if (values.dim() != 1 || values.size(0) != count)
      throw ArgumentError(fmt::format("the patching metric must return one value per batch row ([{}]), got [{}]", count,
                                      fmt::join(values.sizes(), ", ")));
    scores.push_back(values.to(at::kFloat).cpu());
  }
  return scores.empty() ? at::empty({0}, at::kFloat) : at::cat(scores);
}

at::Tensor patching_sweep_positions(const LlamaModel& model, const at::Tensor& clean_ids, const at::Tensor& corrupted_ids,
                                    const PatchMetric& metric, const PatchingOptions& options) {
  check_pair(clean_ids, corrupted_ids);
  if (position_dim(options.point) != 1 || !hook_point_is_per_layer(options.point))
    throw ArgumentError("position sweeps patch a per-block [batch, pos, ...] point (not attention matrices)");
  ActivationCache cache;
  clean_cache_of_point(model, clean_ids, options, cache);
  const int layers = static_cast<int>(model.config().num_hidden_layers);
  const auto positions = clean_ids.size(1);
  std::vector<PatchVariant> variants;
  for (int layer = 0; layer < layers; ++layer)
    for (std::int64_t position = 0; position < positions; ++position)
      variants.push_back({ActivationPatch{{options.point, layer}, {position}, {}}});
  return run_patch_variants(model, corrupted_ids, cache, variants, metric, options).view({layers, positions});
}

at::Tensor patching_sweep_heads(const LlamaModel& model, const at::Tensor& clean_ids, const at::Tensor& corrupted_ids,
                                const PatchMetric& metric, PatchingOptions options) {
  check_pair(clean_ids, corrupted_ids);
  if (options.point == HookPoint::kResidPre) options.point = HookPoint::kAttnZ;
  if (head_dim_index(options.point) != 2)
    throw ArgumentError(fmt::format("head sweeps patch a [batch, pos, head, d] point, not '{}'",
                                    hook_point_suffix(options.point)));
  ActivationCache cache;
  const auto heads = clean_cache_of_point(model, clean_ids, options, cache).size(2);  // [1, pos, head, d]
  const int layers = static_cast<int>(model.config().num_hidden_layers);
  std::vector<PatchVariant> variants;
  for (int layer = 0; layer < layers; ++layer)
    for (std::int64_t head = 0; head < heads; ++head) variants.push_back({ActivationPatch{{options.point, layer}, {}, {head}}});
  return run_patch_variants(model, corrupted_ids, cache, variants, metric, options).view({layers, heads});
}

}  // namespace moulin
