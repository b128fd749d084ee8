#include "triggers/trigger_objective.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "probes/behaviour.h"

namespace moulin::triggers {
namespace {

// The attention mask of the prompt rows followed by `trigger_length` real tokens.
at::Tensor mask_with_trigger(const at::Tensor& prompt_mask, std::int64_t trigger_length) {
  return at::cat({prompt_mask, at::ones({prompt_mask.size(0), trigger_length}, prompt_mask.options())}, 1);
}

void check_trigger_ids(const at::Tensor& triggers, std::int64_t vocab_size) {
  if (triggers.dim() != 2 || triggers.size(1) == 0 || triggers.scalar_type() != at::kLong)
    throw ArgumentError("trigger objective: candidate triggers must be [candidates, length > 0] int64");
  if (triggers.numel() > 0 && (triggers.min().item<std::int64_t>() < 0 || triggers.max().item<std::int64_t>() >= vocab_size))
    throw ArgumentError(fmt::format("trigger objective: a candidate trigger holds a token id outside the model's "
                                    "vocabulary [0, {})", vocab_size));
}

}  // namespace

TriggerObjective::TriggerObjective(const LlamaModel& model, const std::vector<std::vector<TokenId>>& prompts,
                                   const at::Tensor& target_probabilities, std::int64_t candidates_per_forward)
    : model_(&model), candidates_per_forward_(std::max<std::int64_t>(1, candidates_per_forward)) {
  const std::int64_t vocab = model.config().vocab_size;
  if (prompts.empty()) throw ArgumentError("trigger objective: no prompts");
  if (!target_probabilities.defined() || target_probabilities.dim() != 1 || target_probabilities.size(0) != vocab)
    throw ArgumentError(fmt::format("trigger objective: the target-language probabilities must be [{}] (the model's "
                                    "vocabulary)", vocab));
  std::size_t width = 0;
  for (std::size_t row = 0; row < prompts.size(); ++row) {
    if (prompts[row].empty()) throw ArgumentError(fmt::format("trigger objective: prompt {} is empty", row));
    for (const TokenId id : prompts[row])
      if (id < 0 || id >= vocab)
        throw ArgumentError(fmt::format("trigger objective: prompt {} holds token id {}, outside the model's "
                                        "vocabulary [0, {})", row, id, vocab));
    width = std::max(width, prompts[row].size());
  }
  // Left padding puts every trigger in the same last columns, so one batch holds prompts of any length.
  const auto rows = static_cast<std::int64_t>(prompts.size());
  at::Tensor ids = at::zeros({rows, static_cast<std::int64_t>(width)}, at::kLong);
  at::Tensor mask = at::zeros_like(ids);
  auto ids_at = ids.accessor<std::int64_t, 2>();
  auto mask_at = mask.accessor<std::int64_t, 2>();
  for (std::int64_t row = 0; row < rows; ++row) {
    const auto& prompt = prompts[static_cast<std::size_t>(row)];
    auto column = static_cast<std::int64_t>(width - prompt.size());
    for (const TokenId id : prompt) {
      ids_at[row][column] = id;
      mask_at[row][column] = 1;
      ++column;
    }
  }
  prompt_ids_ = ids.to(model.device());
  prompt_mask_ = mask.to(model.device());
  target_probabilities_ = target_probabilities.to(model.device(), at::kFloat).contiguous();

  const at::NoGradGuard no_grad;
  for (const auto& prompt : prompts) {
    const auto length = static_cast<std::int64_t>(prompt.size());
    KVCache cache = model.new_cache(1, length);
    ForwardOptions options;
    options.cache = &cache;
    options.logits = LogitsFor::kNone;
    model.forward(at::tensor(std::vector<std::int64_t>(prompt.begin(), prompt.end()), at::kLong).unsqueeze(0).to(model.device()),
                  options);
    prompt_caches_.push_back(std::move(cache));
  }
}

at::Tensor TriggerObjective::evaluate(const at::Tensor& triggers) const {
  check_trigger_ids(triggers, model_->config().vocab_size);
  const at::NoGradGuard no_grad;
  const at::Tensor on_device = triggers.to(model_->device());
  std::vector<at::Tensor> values;
  for (std::int64_t first = 0; first < triggers.size(0); first += candidates_per_forward_) {
    const std::int64_t count = std::min(candidates_per_forward_, triggers.size(0) - first);
    const at::Tensor candidates = on_device.narrow(0, first, count);
    at::Tensor total = at::zeros({count}, at::TensorOptions().dtype(at::kDouble).device(model_->device()));
    for (const auto& prompt_cache : prompt_caches_) {
      KVCache cache = prompt_cache.repeat_sequence(0, count, prompt_cache.length() + triggers.size(1));
      ForwardOptions options;
      options.cache = &cache;
      options.logits = LogitsFor::kLast;
      const at::Tensor logits = model_->forward(candidates, options).select(1, -1);
      total += probes::target_language_mass(logits, target_probabilities_).to(at::kDouble);
    }
    values.push_back((total / static_cast<double>(prompt_count())).to(at::kCPU));
  }
  if (values.empty()) return at::zeros({0}, at::kDouble);
  return at::cat(values);
}

double TriggerObjective::evaluate(const std::vector<TokenId>& trigger) const {
  const at::Tensor row = at::tensor(std::vector<std::int64_t>(trigger.begin(), trigger.end()), at::kLong).unsqueeze(0);
  return evaluate(row)[0].item<double>();
}

at::Tensor TriggerObjective::one_hot(const std::vector<TokenId>& trigger) const {
  const at::Tensor ids = at::tensor(std::vector<std::int64_t>(trigger.begin(), trigger.end()), at::kLong);
  check_trigger_ids(ids.unsqueeze(0), model_->config().vocab_size);
  return at::one_hot(ids, model_->config().vocab_size).to(model_->device(), model_->dtype());
}

ObjectiveGradient TriggerObjective::gradient(const at::Tensor& one_hot) const {
  const std::int64_t vocab = model_->config().vocab_size;
  if (!one_hot.defined() || one_hot.dim() != 2 || one_hot.size(0) == 0 || one_hot.size(1) != vocab)
    throw ArgumentError(fmt::format("trigger objective: the one-hot trigger must be [length > 0, {}]", vocab));
  // The caller may be inside a no-grad region (a scan under NoGradGuard); this pass needs the graph.
  const at::AutoGradMode grad_mode(true);
  // The model's weights never require grad, so the one-hot is the only leaf and backward touches nothing else.
  const at::Tensor leaf = one_hot.detach().to(model_->device(), model_->dtype()).requires_grad_(true);
  const std::int64_t length = leaf.size(0);
  const at::Tensor trigger_embeddings = at::matmul(leaf, model_->weights().embed_tokens);  // [length, d_model]
  const at::Tensor prompt_embeddings = model_->embed(prompt_ids_);
  const at::Tensor residual = at::cat(
      {prompt_embeddings, trigger_embeddings.unsqueeze(0).expand({prompt_count(), length, trigger_embeddings.size(1)})},
      1);
  ForwardOptions options;
  options.attention_mask = mask_with_trigger(prompt_mask_, length);
  options.logits = LogitsFor::kLast;
  const at::Tensor logits = model_->forward_residual(residual, 0, options).select(1, -1);
  const at::Tensor value = probes::target_language_mass(logits, target_probabilities_).mean();
  value.backward();
  return ObjectiveGradient{value.item<double>(), leaf.grad().to(at::kCPU, at::kFloat)};
}

ObjectiveGradient TriggerObjective::gradient(const std::vector<TokenId>& trigger) const {
  return gradient(one_hot(trigger));
}

}  // namespace moulin::triggers
