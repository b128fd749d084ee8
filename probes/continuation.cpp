#include "probes/continuation.h"

#include <algorithm>
#include <limits>

#include "hooks/hook_chain.h"

namespace moulin::probes {
namespace {

// Sets the logits of some tokens to -inf at the unembedding, so neither greedy nor sampled decoding picks them.
class SuppressTokens : public ForwardHooks {
 public:
  explicit SuppressTokens(std::vector<TokenId> ids) : ids_(std::move(ids)) {}
  bool wants(HookPoint point, int) const override { return point == HookPoint::kUnembedOut && !ids_.empty(); }
  at::Tensor visit(const at::Tensor& logits, const HookContext&) override {
    at::Tensor out = logits.clone();
    for (const auto id : ids_)
      if (id >= 0 && id < out.size(-1)) out.select(-1, id).fill_(-std::numeric_limits<float>::infinity());
    return out;
  }

 private:
  std::vector<TokenId> ids_;
};

}  // namespace

std::vector<Continuation> continue_prompts(const LlamaModel& model, const Tokenizer& tokenizer,
                                           const std::vector<std::string>& prompts, const ContinuationOptions& options) {
  GenerateOptions generation;
  generation.max_new_tokens = options.max_new_tokens;
  generation.sampling = options.sampling;
  SuppressTokens suppress_eos(options.suppress_eos ? tokenizer.eos_ids() : std::vector<TokenId>{});
  HookChain hooks;
  hooks.push_back(options.hooks);
  if (options.suppress_eos) hooks.push_back(&suppress_eos);
  else generation.eos_ids = tokenizer.eos_ids();
  generation.hooks = hooks.as_forward_hooks();
  std::vector<Continuation> out;
  out.reserve(prompts.size());
  const auto batch = static_cast<std::size_t>(std::max<std::int64_t>(1, options.batch_size));
  for (std::size_t begin = 0; begin < prompts.size(); begin += batch) {
    const auto end = std::min(prompts.size(), begin + batch);
    std::vector<std::vector<TokenId>> ids;
    for (std::size_t i = begin; i < end; ++i) ids.push_back(tokenizer.encode(prompts[i], EncodeOptions{true, false}));
    // A distinct seed per batch: sampled batches must not repeat each other.
    generation.seed = options.seed + begin;
    for (const auto& sequence : generate(model, ids, generation)) {
      Continuation continuation;
      continuation.text = tokenizer.decode(sequence.new_ids(), /*skip_special_tokens=*/true);
      continuation.language = detect_language(continuation.text);
      out.push_back(std::move(continuation));
    }
  }
  return out;
}

std::vector<std::string> continuation_languages(const std::vector<Continuation>& continuations) {
  std::vector<std::string> languages;
  languages.reserve(continuations.size());
  for (const auto& continuation : continuations) languages.push_back(continuation.language.language);
  return languages;
}

}  // namespace moulin::probes
