#include "probes/behaviour.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "core/error.h"

namespace moulin::probes {
namespace {

// float32 unless an input is float64: bf16 logits would lose the small differences these metrics measure.
at::ScalarType metric_dtype(const at::Tensor& a, const at::Tensor& b) {
  return a.scalar_type() == at::kDouble || b.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

void check_logits(const at::Tensor& logits, const char* function) {
  if (!logits.defined() || logits.dim() < 1 || logits.size(-1) == 0)
    throw ArgumentError(fmt::format("{}: logits must be [..., vocab] with vocab > 0", function));
}

void check_token_ids(const std::vector<TokenId>& ids, std::int64_t vocab_size, const char* what, std::size_t row) {
  for (const TokenId id : ids)
    if (id < 0 || id >= vocab_size)
      throw ArgumentError(fmt::format("target log-probabilities: {} {} holds token id {}, outside the vocabulary "
                                      "[0, {})", what, row, id, vocab_size));
}

// prompt + target of every row, right-aligned in ids [batch, width] (padded with token 0, which the mask hides)
// and mask [batch, width] int64 (1 for real tokens): the layout whose positions the model derives as generate
// does, and in which every target ends in the last column.
std::pair<at::Tensor, at::Tensor> right_aligned(const std::vector<std::vector<TokenId>>& prompts,
                                                const std::vector<std::vector<TokenId>>& targets) {
  std::size_t width = 0;
  for (std::size_t row = 0; row < prompts.size(); ++row)
    width = std::max(width, prompts[row].size() + targets[row].size());
  const auto batch = static_cast<std::int64_t>(prompts.size());
  at::Tensor ids = at::zeros({batch, static_cast<std::int64_t>(width)}, at::kLong);
  at::Tensor mask = at::zeros({batch, static_cast<std::int64_t>(width)}, at::kLong);
  auto ids_at = ids.accessor<std::int64_t, 2>();
  auto mask_at = mask.accessor<std::int64_t, 2>();
  for (std::size_t row = 0; row < prompts.size(); ++row) {
    const auto r = static_cast<std::int64_t>(row);
    auto column = static_cast<std::int64_t>(width - prompts[row].size() - targets[row].size());
    for (const auto* part : {&prompts[row], &targets[row]})
      for (const TokenId id : *part) {
        ids_at[r][column] = id;
        mask_at[r][column] = 1;
        ++column;
      }
  }
  return {ids, mask};
}

}  // namespace

at::Tensor target_language_mass(const at::Tensor& logits, const at::Tensor& language_probabilities) {
  check_logits(logits, "target_language_mass");
  if (!language_probabilities.defined() || language_probabilities.dim() != 1 ||
      language_probabilities.size(0) != logits.size(-1))
    throw ArgumentError(fmt::format("target_language_mass: logits have a vocabulary of {} but the language "
                                    "probabilities are [{}]", logits.size(-1),
                                    language_probabilities.defined()
                                        ? fmt::format("{}", fmt::join(language_probabilities.sizes(), ", "))
                                        : "undefined"));
  const auto dtype = metric_dtype(logits, language_probabilities);
  const at::Tensor next_token = at::softmax(logits.to(dtype), -1);
  return at::matmul(next_token, language_probabilities.to(logits.device(), dtype));
}

at::Tensor target_language_mass(const at::Tensor& logits, const TokenLanguageTable& table, std::string_view language) {
  return target_language_mass(logits, table.column(language));
}

at::Tensor language_masses(const at::Tensor& logits, const TokenLanguageTable& table) {
  check_logits(logits, "language_masses");
  if (table.probabilities.size(0) != logits.size(-1))
    throw ArgumentError(fmt::format("language_masses: logits have a vocabulary of {} but the token language table "
                                    "has {} rows", logits.size(-1), table.probabilities.size(0)));
  const auto dtype = metric_dtype(logits, logits);
  return at::matmul(at::softmax(logits.to(dtype), -1), table.probabilities.to(logits.device(), dtype));
}

at::Tensor next_token_kl(const at::Tensor& logits_p, const at::Tensor& logits_q) {
  check_logits(logits_p, "next_token_kl");
  if (!logits_q.defined() || logits_p.sizes() != logits_q.sizes())
    throw ArgumentError(fmt::format("next_token_kl: logits_p is [{}] but logits_q is [{}]",
                                    fmt::join(logits_p.sizes(), ", "),
                                    logits_q.defined() ? fmt::format("{}", fmt::join(logits_q.sizes(), ", "))
                                                       : "undefined"));
  const auto dtype = metric_dtype(logits_p, logits_q);
  const at::Tensor log_p = at::log_softmax(logits_p.to(dtype), -1);
  const at::Tensor log_q = at::log_softmax(logits_q.to(logits_p.device(), dtype), -1);
  const at::Tensor p = log_p.exp();
  // 0 * log(0 / q) is 0 by convention; masking the difference (not the product) also keeps the gradient free of
  // 0 * inf where p has -inf logits.
  const at::Tensor log_ratio = at::where(p > 0, log_p - log_q, at::zeros_like(log_p));
  return (p * log_ratio).sum(-1);
}

std::vector<std::vector<double>> target_token_log_probabilities(const LlamaModel& model,
                                                                const std::vector<std::vector<TokenId>>& prompts,
                                                                const std::vector<std::vector<TokenId>>& targets,
                                                                ForwardHooks* hooks) {
  if (prompts.size() != targets.size())
    throw ArgumentError(fmt::format("target log-probabilities: {} prompts but {} targets", prompts.size(),
                                    targets.size()));
  const std::int64_t vocab_size = model.config().vocab_size;
  std::size_t longest_target = 0;
  for (std::size_t row = 0; row < prompts.size(); ++row) {
    if (prompts[row].empty())
      throw ArgumentError(fmt::format("target log-probabilities: prompt {} is empty; a prompt must condition the "
                                      "first target token (start it with the BOS token)", row));
    check_token_ids(prompts[row], vocab_size, "prompt", row);
    check_token_ids(targets[row], vocab_size, "target", row);
    longest_target = std::max(longest_target, targets[row].size());
  }
  std::vector<std::vector<double>> scores(prompts.size());
  if (longest_target == 0) return scores;

  const auto [ids, mask] = right_aligned(prompts, targets);
  ForwardOptions options;
  options.attention_mask = mask;
  options.hooks = hooks;
  options.logits = LogitsFor::kAll;
  const at::Tensor logits = model.forward(ids, options);

  // Targets end in the last column, so the last `longest_target` columns hold every target token and the columns
  // one to the left predict them. Normalising only those keeps the [batch, width, vocab] log-softmax out.
  const auto target_columns = static_cast<std::int64_t>(longest_target);
  const std::int64_t width = ids.size(1);
  const at::Tensor predicting = logits.narrow(1, width - 1 - target_columns, target_columns);
  const at::Tensor log_probabilities = at::log_softmax(predicting, -1);
  const at::Tensor target_ids = ids.narrow(1, width - target_columns, target_columns).to(logits.device());
  const at::Tensor chosen =
      log_probabilities.gather(-1, target_ids.unsqueeze(-1)).squeeze(-1).to(at::kCPU, at::kDouble).contiguous();
  const auto chosen_at = chosen.accessor<double, 2>();
  for (std::size_t row = 0; row < prompts.size(); ++row) {
    const auto first = static_cast<std::int64_t>(longest_target - targets[row].size());
    for (std::int64_t column = first; column < target_columns; ++column)
      scores[row].push_back(chosen_at[static_cast<std::int64_t>(row)][column]);
  }
  return scores;
}

std::vector<double> target_log_probabilities(const LlamaModel& model, const std::vector<std::vector<TokenId>>& prompts,
                                             const std::vector<std::vector<TokenId>>& targets, ForwardHooks* hooks) {
  std::vector<double> sums;
  for (const auto& per_token : target_token_log_probabilities(model, prompts, targets, hooks)) {
    double sum = 0.0;
    for (const double value : per_token) sum += value;
    sums.push_back(sum);
  }
  return sums;
}

double target_log_probability(const LlamaModel& model, const std::vector<TokenId>& prompt_ids,
                              const std::vector<TokenId>& target_ids, ForwardHooks* hooks) {
  return target_log_probabilities(model, {prompt_ids}, {target_ids}, hooks).front();
}

}  // namespace moulin::probes
