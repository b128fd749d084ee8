#pragma once
// Activations at the last token of each prompt, for probes: prompts run in left-padded batches (so every
// prompt's last token sits in the last column, and positions are counted over real tokens as generate does), and
// caching hooks (hooks/activation_cache.h) keep only that column, so memory is [prompts, features] per hook
// whatever the prompt lengths. Blocks after the last requested one are not run.
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "core/hook_points.h"
#include "core/llama.h"
#include "core/tokenizer.h"

namespace moulin::probes {

struct LastTokenOptions {
  std::int64_t batch_size = 16;   // prompts per forward pass
  TokenId pad_id = 0;             // fills the left padding, which the attention mask hides
  // Interventions active during the forwards (run before the recorders, so the features are what the patched
  // model computes). Positions they name are columns of the left-padded batch.
  ForwardHooks* hooks = nullptr;
};

// The hook names that patterns select in a model with `layers` blocks, in forward order, with the same syntax as
// `moulin dump --hooks` (store/hook_selection.h): "blocks.*.hook_resid_post" is every layer's residual stream.
// Throws ArgumentError for unknown names, attention matrices and patterns that match nothing.
std::vector<std::string> probe_hook_names(const std::vector<std::string>& patterns, int layers);

// For each of `hook_names` (full names, in any order, without repeats): [prompts, features] float32 on the CPU,
// the activation at each prompt's last token, its per-token shape flattened (d_model; heads x d_head for
// attn.hook_z...). Throws ArgumentError for no prompts, an empty prompt, ids outside the vocabulary, a bad
// batch size or pad id, unknown or repeated names, and attention scores/patterns (their key axis is the padded
// width, not a per-token feature).
std::vector<at::Tensor> last_token_activations(const LlamaModel& model, const std::vector<std::vector<TokenId>>& prompts,
                                               const std::vector<std::string>& hook_names,
                                               const LastTokenOptions& options = {});
// The same from texts, encoded with `encode` (by default with the tokenizer's prefix, <|begin_of_text|>).
std::vector<at::Tensor> last_token_activations(const LlamaModel& model, const Tokenizer& tokenizer,
                                               const std::vector<std::string>& prompts,
                                               const std::vector<std::string>& hook_names,
                                               const LastTokenOptions& options = {}, const EncodeOptions& encode = {});

// Encodes every text, throwing ArgumentError naming the text that encodes to no token.
std::vector<std::vector<TokenId>> encode_prompts(const Tokenizer& tokenizer, const std::vector<std::string>& prompts,
                                                 const EncodeOptions& encode = {});

}  // namespace moulin::probes
