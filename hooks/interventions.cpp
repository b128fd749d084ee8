#include "hooks/interventions.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "hooks/hook_names.h"

namespace moulin {
namespace {

// The positions of `positions` that fall inside this forward pass, relative to it, as an index tensor on
// `device`; undefined for "every position" and an empty tensor when none falls inside.
at::Tensor local_positions(const Positions& positions, const HookContext& context, std::int64_t length,
                           c10::Device device) {
  if (positions.empty()) return {};
  std::vector<std::int64_t> local;
  for (const auto position : positions)
    if (position >= context.past_length && position < context.past_length + length) local.push_back(position - context.past_length);
  return at::tensor(local, at::kLong).to(device);
}

// Applies `edit` to the activation, or only to the selected positions of it; returns a new tensor.
std::optional<at::Tensor> edit_positions(const at::Tensor& activation, const HookContext& context, const Positions& positions,
                                         const std::function<at::Tensor(const at::Tensor&, const at::Tensor&)>& edit) {
  const int dim = position_dim(context.point);
  const at::Tensor index = local_positions(positions, context, activation.size(dim), activation.device());
  if (!index.defined()) return edit(activation, index).to(activation.scalar_type());
  if (index.numel() == 0) return std::nullopt;
  at::Tensor result = activation.clone();
  result.index_copy_(dim, index, edit(activation.index_select(dim, index), index).to(activation.scalar_type()));
  return result;
}

}  // namespace

HookFn zero_ablation(Positions positions) {
  return [positions](const at::Tensor& activation, const HookContext& context) {
    return edit_positions(activation, context, positions, [](const at::Tensor& x, const at::Tensor&) { return at::zeros_like(x); });
  };
}

HookFn mean_ablation(at::Tensor mean, Positions positions) {
  return [mean, positions](const at::Tensor& activation, const HookContext& context) {
    return edit_positions(activation, context, positions, [&](const at::Tensor& x, const at::Tensor&) {
      return mean.to(x.device(), x.scalar_type()).expand_as(x).clone();
    });
  };
}

at::Tensor mean_activation(const at::Tensor& cached, HookPoint point) {
  // Average over batch and positions, keeping every other dimension.
  const int dim = position_dim(point);
  return cached.to(at::kFloat).mean(std::vector<std::int64_t>{0, dim});
}

HookFn head_ablation(std::vector<std::int64_t> heads, at::Tensor mean, Positions positions) {
  return [heads, mean, positions](const at::Tensor& activation, const HookContext& context) -> std::optional<at::Tensor> {
    const int head_dim = head_dim_index(context.point);
    if (head_dim < 0)
      throw ArgumentError(fmt::format("head_ablation on '{}', which has no head dimension",
                                      hook_point_name(context.point, context.layer)));
    for (const auto head : heads)
      if (head < 0 || head >= activation.size(head_dim))
        throw ArgumentError(fmt::format("head_ablation: head {} out of range on '{}' ({} heads)", head,
                                        hook_point_name(context.point, context.layer), activation.size(head_dim)));
    return edit_positions(activation, context, positions, [&](const at::Tensor& x, const at::Tensor&) {
      at::Tensor result = x.clone();
      const at::Tensor index = at::tensor(heads, at::kLong).to(x.device());
      at::Tensor replacement = at::zeros_like(x.index_select(head_dim, index));
      if (mean.defined()) {
        if (head_dim != 2)
          throw ArgumentError(fmt::format("head_ablation with a mean needs a [batch, pos, head, d] point, not '{}'",
                                          hook_point_name(context.point, context.layer)));
        // mean is [head, d]: pick the heads and broadcast over batch and positions.
        replacement = mean.to(x.device(), x.scalar_type()).index_select(0, index).expand_as(replacement).clone();
      }
      return result.index_copy_(head_dim, index, replacement);
    });
  };
}

HookFn patch_from(at::Tensor source, Positions positions) {
  return [source, positions](const at::Tensor& activation, const HookContext& context) {
    const int dim = position_dim(context.point);
    if (source.size(0) != activation.size(0) || source.size(dim) < context.past_length + activation.size(dim))
      throw ArgumentError(fmt::format("patch_from on '{}': source [{}] does not cover activation [{}] at positions from {}",
                                      hook_point_name(context.point, context.layer), fmt::join(source.sizes(), ", "),
                                      fmt::join(activation.sizes(), ", "), context.past_length));
    const at::Tensor aligned = source.narrow(dim, context.past_length, activation.size(dim)).to(activation.device());
    return edit_positions(activation, context, positions, [&](const at::Tensor& x, const at::Tensor& index) {
      return index.defined() ? aligned.index_select(dim, index) : aligned.clone();
    });
  };
}

HookFn steering(at::Tensor vector, double scale, Positions positions) {
  return [vector, scale, positions](const at::Tensor& activation, const HookContext& context) {
    return edit_positions(activation, context, positions, [&](const at::Tensor& x, const at::Tensor&) {
      return x + vector.to(x.device(), x.scalar_type()) * scale;
    });
  };
}

HookFn project_out(at::Tensor direction, Positions positions) {
  const at::Tensor unit = direction.to(at::kFloat) / direction.to(at::kFloat).norm();
  return [unit, positions](const at::Tensor& activation, const HookContext& context) {
    return edit_positions(activation, context, positions, [&](const at::Tensor& x, const at::Tensor&) {
      const at::Tensor x32 = x.to(at::kFloat);
      const at::Tensor u = unit.to(x.device());
      return x32 - (x32 * u).sum(-1, /*keepdim=*/true) * u;
    });
  };
}

}  // namespace moulin
