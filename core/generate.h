#pragma once
// Autoregressive generation on LlamaModel::forward with a KV cache: the cache is allocated once for prompt plus
// new tokens, the prompt is run once (prefill, last-position logits only), then each step feeds one token per
// row. Prompts of different lengths are left-padded and decoded together; each row gets the tokens it would get
// alone. Greedy or sampled (core/sampling.h), with eos ids, stop strings, streaming and hooks.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/hook_points.h"
#include "core/llama.h"
#include "core/sampling.h"
#include "core/tokenizer.h"

namespace moulin {

enum class StopReason {
  kMaxNewTokens,  // produced max_new_tokens
  kEos,           // emitted one of the eos ids (kept as the last token)
  kStopString,    // the new text contains a stop string (the token completing it is kept)
  kCallback,      // the streaming callback asked to stop
};
// "max_new_tokens", "eos", "stop_string", "callback".
std::string_view stop_reason_name(StopReason reason);

// Text of token ids, for stop strings. token_decoder() makes one from a Tokenizer.
using TokenDecoder = std::function<std::string(const std::vector<TokenId>& ids)>;
// Called for every new token of every running row, in generation order (step by step, rows in order within a
// step). Returning false stops that row (StopReason::kCallback) after this token.
using TokenCallback = std::function<bool(std::size_t row, TokenId token)>;

struct GenerateOptions {
  std::int64_t max_new_tokens = 32;  // per row; 0 returns the prompts
  SamplingOptions sampling;          // greedy unless sampling.do_sample
  // Seeds a CPU generator created for each generate() call: the same seed gives the same tokens.
  std::uint64_t seed = 0;
  // A row that emits one of these stops. Empty: rows stop only at max_new_tokens, stop strings or the callback
  // (callers usually pass the model's or tokenizer's eos ids).
  std::vector<TokenId> eos_ids;
  // Left padding of shorter prompts and the token fed to finished rows (never attended by real tokens).
  // Default: the first eos id inside the vocabulary, else 0.
  std::optional<TokenId> pad_id;
  // A row stops once the text of its new tokens contains one of these. Needs `decode`.
  std::vector<std::string> stop_strings;
  TokenDecoder decode;
  TokenCallback on_token;         // streaming; may be empty
  ForwardHooks* hooks = nullptr;  // passed to every forward: the prefill, then one position per step
};

struct GeneratedSequence {
  std::vector<TokenId> ids;  // the prompt (unpadded) followed by the new tokens
  std::size_t prompt_length = 0;
  StopReason stop_reason = StopReason::kMaxNewTokens;

  std::size_t new_token_count() const { return ids.size() - prompt_length; }
  std::vector<TokenId> new_ids() const { return {ids.begin() + static_cast<std::ptrdiff_t>(prompt_length), ids.end()}; }
};

// One sequence per prompt. Throws ArgumentError for empty prompts, ids outside the vocabulary, bad sampling
// options (sampling_validate) or stop strings without a decoder; errors thrown by callbacks and hooks propagate.
std::vector<GeneratedSequence> generate(const LlamaModel& model, const std::vector<std::vector<TokenId>>& prompts,
                                        const GenerateOptions& options = {});

// A decoder over `tokenizer` (special tokens kept, so "<|eot_id|>" can be a stop string). `tokenizer` must
// outlive it.
TokenDecoder token_decoder(const Tokenizer& tokenizer);

}  // namespace moulin
