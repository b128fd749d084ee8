#include "core/generate.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"

namespace moulin {
namespace {

void validate(const LlamaModel& model, const std::vector<std::vector<TokenId>>& prompts, const GenerateOptions& options,
              TokenId pad_id) {
  if (prompts.empty()) throw ArgumentError("generate needs at least one prompt");
  for (std::size_t row = 0; row < prompts.size(); ++row)
    if (prompts[row].empty()) throw ArgumentError(fmt::format("prompt {} is empty", row));
  if (options.max_new_tokens < 0)
    throw ArgumentError(fmt::format("max_new_tokens must be >= 0, got {}", options.max_new_tokens));
  sampling_validate(options.sampling);
  if (pad_id < 0 || pad_id >= model.config().vocab_size)
    throw ArgumentError(fmt::format("pad id {} is outside the vocabulary [0, {})", pad_id, model.config().vocab_size));
  if (!options.stop_strings.empty() && !options.decode)
    throw ArgumentError("stop strings need a decoder (GenerateOptions::decode) to turn tokens into text");
  for (const auto& stop : options.stop_strings)
    if (stop.empty()) throw ArgumentError("stop strings must not be empty");
}

// Prompts right-aligned in ids [batch, width] int64 (padded with pad_id) and mask [batch, width] int64 (1 for
// real tokens): the layout whose positions the model derives as transformers' generate does.
std::pair<at::Tensor, at::Tensor> left_pad(const std::vector<std::vector<TokenId>>& prompts, TokenId pad_id) {
  std::size_t width = 0;
  for (const auto& prompt : prompts) width = std::max(width, prompt.size());
  const auto batch = static_cast<std::int64_t>(prompts.size());
  at::Tensor ids = at::full({batch, static_cast<std::int64_t>(width)}, pad_id, at::kLong);
  at::Tensor mask = at::zeros({batch, static_cast<std::int64_t>(width)}, at::kLong);
  auto ids_at = ids.accessor<std::int64_t, 2>();
  auto mask_at = mask.accessor<std::int64_t, 2>();
  for (std::size_t row = 0; row < prompts.size(); ++row) {
    const std::size_t pad = width - prompts[row].size();
    for (std::size_t i = 0; i < prompts[row].size(); ++i) {
      ids_at[static_cast<std::int64_t>(row)][static_cast<std::int64_t>(pad + i)] = prompts[row][i];
      mask_at[static_cast<std::int64_t>(row)][static_cast<std::int64_t>(pad + i)] = 1;
    }
  }
  return {ids, mask};
}

// The first eos id the model can embed (a tokenizer's eos may lie outside a small model's vocabulary), else 0.
TokenId default_pad_id(const LlamaModel& model, const std::vector<TokenId>& eos_ids) {
  for (const TokenId id : eos_ids)
    if (id >= 0 && id < model.config().vocab_size) return id;
  return 0;
}

bool contains_stop_string(const std::string& text, const std::vector<std::string>& stop_strings) {
  return std::any_of(stop_strings.begin(), stop_strings.end(),
                     [&](const std::string& stop) { return text.find(stop) != std::string::npos; });
}

// Why `sequence` stops after its newest token `token`, if it does. Stop strings decode all the row's new tokens
// each step: O(new tokens) of tokenizer work, small next to a forward pass, and exact however the decoder merges
// bytes across token boundaries.
std::optional<StopReason> stop_after(const GeneratedSequence& sequence, TokenId token, bool callback_continues,
                                     const GenerateOptions& options) {
  const auto& eos = options.eos_ids;
  if (std::find(eos.begin(), eos.end(), token) != eos.end()) return StopReason::kEos;
  if (!options.stop_strings.empty() && contains_stop_string(options.decode(sequence.new_ids()), options.stop_strings))
    return StopReason::kStopString;
  if (!callback_continues) return StopReason::kCallback;
  return std::nullopt;
}

}  // namespace

std::string_view stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::kMaxNewTokens:
      return "max_new_tokens";
    case StopReason::kEos:
      return "eos";
    case StopReason::kStopString:
      return "stop_string";
    case StopReason::kCallback:
      return "callback";
  }
  return "unknown";
}

std::vector<GeneratedSequence> generate(const LlamaModel& model, const std::vector<std::vector<TokenId>>& prompts,
                                        const GenerateOptions& options) {
  const TokenId pad_id = options.pad_id.value_or(default_pad_id(model, options.eos_ids));
  validate(model, prompts, options, pad_id);

  std::vector<GeneratedSequence> sequences(prompts.size());
  for (std::size_t row = 0; row < prompts.size(); ++row) {
    sequences[row].ids = prompts[row];
    sequences[row].ids.reserve(prompts[row].size() + static_cast<std::size_t>(options.max_new_tokens));
    sequences[row].prompt_length = prompts[row].size();
  }
  if (options.max_new_tokens == 0) return sequences;

  const auto [ids, mask] = left_pad(prompts, pad_id);
  const auto batch = ids.size(0), width = ids.size(1);
  const bool padded = !mask.all().item<bool>();

  KVCache cache = model.new_cache(batch, width + options.max_new_tokens);
  ForwardOptions forward;
  forward.cache = &cache;
  forward.hooks = options.hooks;
  forward.logits = LogitsFor::kLast;
  if (padded) forward.attention_mask = mask;
  at::Tensor logits = model.forward(ids, forward);  // [batch, 1, vocab]
  forward.attention_mask = at::Tensor();            // new tokens are real; the cache remembers the padding

  // The repetition penalty's memory of which tokens each row holds, updated in place each step.
  at::Tensor seen;
  if (options.sampling.repetition_penalty != 1.0)
    seen = sampling_token_presence(ids.to(model.device()), padded ? mask.to(model.device()) : at::Tensor(),
                                   model.config().vocab_size);
  at::Generator generator = at::detail::createCPUGenerator(options.seed);

  std::vector<bool> running(prompts.size(), true);
  std::size_t running_count = prompts.size();
  for (std::int64_t step = 0; step < options.max_new_tokens; ++step) {
    at::Tensor next = sampling_next_tokens(logits.select(1, 0), options.sampling, seen, generator);  // [batch] cpu
    auto next_at = next.accessor<std::int64_t, 1>();
    for (std::size_t row = 0; row < sequences.size(); ++row) {
      if (!running[row]) {
        next_at[static_cast<std::int64_t>(row)] = pad_id;
        continue;
      }
      const auto token = static_cast<TokenId>(next_at[static_cast<std::int64_t>(row)]);
      sequences[row].ids.push_back(token);
      const bool callback_continues = !options.on_token || options.on_token(row, token);
      if (const auto reason = stop_after(sequences[row], token, callback_continues, options)) {
        sequences[row].stop_reason = *reason;
        running[row] = false;
        --running_count;
      }
    }
    // No forward after the last token: nobody would read its logits.
    if (running_count == 0 || step + 1 == options.max_new_tokens) break;
    const at::Tensor step_ids = next.view({batch, 1});
    if (seen.defined()) seen.scatter_(1, step_ids.to(seen.device()), true);
    logits = model.forward(step_ids, forward);
  }
  return sequences;
}

TokenDecoder token_decoder(const Tokenizer& tokenizer) {
  return [&tokenizer](const std::vector<TokenId>& ids) { return tokenizer.decode(ids, /*skip_special_tokens=*/false); };
}

}  // namespace moulin
