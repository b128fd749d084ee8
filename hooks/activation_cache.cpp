#include "hooks/activation_cache.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "hooks/hook_chain.h"

namespace moulin {

at::Tensor ActivationCache::at(const std::string& name) const {
  const auto found = chunks_.find(name);
  if (found == chunks_.end()) {
    const auto known = names();
    throw ArgumentError(fmt::format("'{}' is not in the activation cache ({} names cached{}{})", name, known.size(),
                                    known.empty() ? "" : ", e.g. ", known.empty() ? "" : known.front()));
  }
  const auto& [point, parts] = found->second;
  if (parts.size() == 1) return parts.front();
  std::vector<at::Tensor> joined = parts;
  if (point == HookPoint::kAttnScores || point == HookPoint::kAttnPattern) {
    // Later decoding steps attend to more keys: earlier rows get the missing keys as zero attention.
    const auto keys = parts.back().size(-1);
    for (auto& part : joined)
      if (part.size(-1) < keys) part = at::constant_pad_nd(part, {0, keys - part.size(-1)}, 0);
  }
  return at::cat(joined, position_dim(point));
}

std::vector<std::string> ActivationCache::names() const {
  std::vector<std::string> names;
  for (const auto& [name, chunks] : chunks_) names.push_back(name);
  return names;
}

std::int64_t ActivationCache::byte_size() const {
  std::int64_t total = 0;
  for (const auto& [name, chunks] : chunks_)
    for (const auto& part : chunks.parts) total += static_cast<std::int64_t>(part.nbytes());
  return total;
}

void ActivationCache::append(const std::string& name, HookPoint point, at::Tensor activation) {
  auto& chunks = chunks_[name];
  chunks.point = point;
  chunks.parts.push_back(std::move(activation));
}

HookSet::Handle add_caching_hooks(HookSet& hooks, ActivationCache& cache, const CacheOptions& options) {
  return hooks.add(options.names, [&cache, options](const at::Tensor& activation, const HookContext& context)
                                      -> std::optional<at::Tensor> {
    at::Tensor kept = activation;
    if (options.positions) {
      const int dim = position_dim(context.point);
      const auto first = std::max(options.positions->first - context.past_length, std::int64_t{0});
      const auto last = std::min(options.positions->second - context.past_length, activation.size(dim));
      if (last <= first) return std::nullopt;
      kept = kept.narrow(dim, first, last - first);
    }
    kept = kept.detach().to(options.device.value_or(kept.device()), options.dtype.value_or(kept.scalar_type()));
    // A stored view would change if a later hook wrote into the activation in place: own the memory.
    if (kept.data_ptr() == activation.data_ptr() || !kept.is_contiguous()) kept = kept.clone(at::MemoryFormat::Contiguous);
    cache.append(hook_point_name(context.point, context.layer), context.point, std::move(kept));
    return std::nullopt;
  });
}

std::pair<at::Tensor, ActivationCache> run_with_cache(const LlamaModel& model, const at::Tensor& input_ids,
                                                      const CacheOptions& options, ForwardOptions forward) {
  ActivationCache cache;
  HookSet recorders(static_cast<int>(model.config().num_hidden_layers));
  add_caching_hooks(recorders, cache, options);
  // The caller's interventions first, so the cache holds what the forward pass actually used.
  HookChain chain({forward.hooks, &recorders});
  forward.hooks = chain.as_forward_hooks();
  at::Tensor logits = model.forward(input_ids, forward);
  return {std::move(logits), std::move(cache)};
}

}  // namespace moulin
