#include "probes/last_token_activations.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "core/error.h"
#include "hooks/activation_cache.h"
#include "hooks/hook_chain.h"
#include "hooks/hook_names.h"
#include "hooks/hook_set.h"
#include "store/hook_selection.h"

namespace moulin::probes {
namespace {

std::vector<HookAddress> checked_addresses(const std::vector<std::string>& hook_names, int layers) {
  if (hook_names.empty()) throw ArgumentError("last_token_activations: no hook names");
  std::set<std::string> seen;
  std::vector<HookAddress> addresses;
  for (const auto& name : hook_names) {
    if (!seen.insert(name).second)
      throw ArgumentError(fmt::format("last_token_activations: hook '{}' is listed twice", name));
    const HookAddress address = resolve_hook_name(name, layers);
    if (address.point == HookPoint::kAttnScores || address.point == HookPoint::kAttnPattern)
      throw ArgumentError(fmt::format("last_token_activations: '{}' is an attention matrix, whose key axis spans the "
                                      "padded batch: it is not a per-token feature", name));
    addresses.push_back(address);
  }
  return addresses;
}

void check_prompts(const std::vector<std::vector<TokenId>>& prompts, std::int64_t vocab_size) {
  if (prompts.empty()) throw ArgumentError("last_token_activations: no prompts");
  for (std::size_t row = 0; row < prompts.size(); ++row) {
    if (prompts[row].empty()) throw ArgumentError(fmt::format("last_token_activations: prompt {} is empty", row));
    for (const TokenId id : prompts[row])
      if (id < 0 || id >= vocab_size)
        throw ArgumentError(fmt::format("last_token_activations: prompt {} holds token id {}, outside the vocabulary "
                                        "[0, {})", row, id, vocab_size));
  }
}

// Blocks after the deepest requested point need not run; points after the blocks (ln_final, unembed) need the
// whole forward pass with logits at every position (the cache keeps the last column).
void limit_forward(const std::vector<HookAddress>& addresses, ForwardOptions& forward) {
  int deepest = -1;
  for (const auto& address : addresses) {
    if (address.point == HookPoint::kLnFinalScale || address.point == HookPoint::kLnFinalNormalized ||
        address.point == HookPoint::kUnembedOut) {
      forward.logits = LogitsFor::kAll;
      forward.stop_at_layer = -1;
      return;
    }
    deepest = std::max(deepest, address.layer);
  }
  forward.stop_at_layer = deepest + 1;
}

// The prompts [first, first + count) right-aligned: ids and mask [count, width] int64.
std::pair<at::Tensor, at::Tensor> left_padded(const std::vector<std::vector<TokenId>>& prompts, std::size_t first,
                                              std::size_t count, TokenId pad_id) {
  std::size_t width = 0;
  for (std::size_t row = first; row < first + count; ++row) width = std::max(width, prompts[row].size());
  const auto batch = static_cast<std::int64_t>(count);
  at::Tensor ids = at::full({batch, static_cast<std::int64_t>(width)}, pad_id, at::kLong);
  at::Tensor mask = at::zeros({batch, static_cast<std::int64_t>(width)}, at::kLong);
  auto ids_at = ids.accessor<std::int64_t, 2>();
  auto mask_at = mask.accessor<std::int64_t, 2>();
  for (std::size_t row = 0; row < count; ++row) {
    const auto& prompt = prompts[first + row];
    const auto start = static_cast<std::int64_t>(width - prompt.size());
    for (std::size_t i = 0; i < prompt.size(); ++i) {
      ids_at[static_cast<std::int64_t>(row)][start + static_cast<std::int64_t>(i)] = prompt[i];
      mask_at[static_cast<std::int64_t>(row)][start + static_cast<std::int64_t>(i)] = 1;
    }
  }
  return {ids, mask};
}

}  // namespace

std::vector<std::string> probe_hook_names(const std::vector<std::string>& patterns, int layers) {
  std::vector<std::string> names;
  for (const auto& address : select_dump_hooks(patterns, layers)) names.push_back(hook_point_name(address.point, address.layer));
  return names;
}

std::vector<at::Tensor> last_token_activations(const LlamaModel& model, const std::vector<std::vector<TokenId>>& prompts,
                                               const std::vector<std::string>& hook_names,
                                               const LastTokenOptions& options) {
  const int layers = static_cast<int>(model.config().num_hidden_layers);
  const auto addresses = checked_addresses(hook_names, layers);
  check_prompts(prompts, model.config().vocab_size);
  if (options.batch_size < 1)
    throw ArgumentError(fmt::format("last_token_activations: batch_size must be >= 1, got {}", options.batch_size));
  if (options.pad_id < 0 || options.pad_id >= model.config().vocab_size)
    throw ArgumentError(fmt::format("last_token_activations: pad_id {} is outside the vocabulary [0, {})",
                                    options.pad_id, model.config().vocab_size));

  // No autograd, but not InferenceMode either: its tensors would refuse the caller's later in-place edits.
  const at::NoGradGuard no_grad;
  std::vector<std::vector<at::Tensor>> parts(hook_names.size());
  const auto batch_size = static_cast<std::size_t>(options.batch_size);
  for (std::size_t first = 0; first < prompts.size(); first += batch_size) {
    const std::size_t count = std::min(batch_size, prompts.size() - first);
    const auto [ids, mask] = left_padded(prompts, first, count, options.pad_id);
    const std::int64_t width = ids.size(1);

    ActivationCache cache;
    HookSet recorders(layers);
    CacheOptions cache_options;
    cache_options.names = NameFilter::names(hook_names);
    cache_options.positions = std::make_pair(width - 1, width);
    cache_options.dtype = at::kFloat;
    cache_options.device = c10::Device(c10::kCPU);
    add_caching_hooks(recorders, cache, cache_options);
    HookChain chain({options.hooks, &recorders});

    ForwardOptions forward;
    forward.attention_mask = mask;
    forward.hooks = chain.as_forward_hooks();
    forward.logits = LogitsFor::kNone;
    limit_forward(addresses, forward);
    model.forward(ids, forward);

    for (std::size_t h = 0; h < hook_names.size(); ++h)
      parts[h].push_back(cache.at(hook_names[h]).reshape({static_cast<std::int64_t>(count), -1}));
  }
  std::vector<at::Tensor> features;
  for (auto& hook_parts : parts) features.push_back(at::cat(hook_parts, 0));
  return features;
}

std::vector<std::vector<TokenId>> encode_prompts(const Tokenizer& tokenizer, const std::vector<std::string>& prompts,
                                                 const EncodeOptions& encode) {
  std::vector<std::vector<TokenId>> ids;
  ids.reserve(prompts.size());
  for (std::size_t row = 0; row < prompts.size(); ++row) {
    ids.push_back(tokenizer.encode(prompts[row], encode));
    if (ids.back().empty())
      throw ArgumentError(fmt::format("prompt {} ('{}') encodes to no token", row, prompts[row]));
  }
  return ids;
}

std::vector<at::Tensor> last_token_activations(const LlamaModel& model, const Tokenizer& tokenizer,
                                               const std::vector<std::string>& prompts,
                                               const std::vector<std::string>& hook_names,
                                               const LastTokenOptions& options, const EncodeOptions& encode) {
  return last_token_activations(model, encode_prompts(tokenizer, prompts, encode), hook_names, options);
}

}  // namespace moulin::probes
