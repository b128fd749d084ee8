#pragma once
// Behaviour metrics on next-token distributions and on teacher-forced targets: how much probability goes to
// tokens of a target language, how far a trigger moves the distribution (KL), and how likely a given
// continuation is. The distribution metrics are differentiable in the logits, for gradient-based trigger search.
#include <string_view>
#include <vector>

#include <ATen/ATen.h>

#include "core/hook_points.h"
#include "core/llama.h"
#include "core/tokenizer.h"
#include "probes/token_language.h"

namespace moulin::probes {

// sum over v of softmax(logits)[..., v] * language_probabilities[v]: the expected P(language | next token).
// logits [..., vocab], language_probabilities [vocab] (a TokenLanguageTable column, any device) -> [...], in
// float32 (float64 when the logits are). Differentiable in the logits. Throws ArgumentError when the vocabulary
// sizes differ.
at::Tensor target_language_mass(const at::Tensor& logits, const at::Tensor& language_probabilities);
// The same with table.column(language); throws ArgumentError naming the known languages when it is absent.
at::Tensor target_language_mass(const at::Tensor& logits, const TokenLanguageTable& table, std::string_view language);
// Every language at once: logits [..., vocab] -> [..., languages] (table.languages order), each row summing to 1.
at::Tensor language_masses(const at::Tensor& logits, const TokenLanguageTable& table);

// KL(p || q) = sum over v of p_v (log p_v - log q_v) with p = softmax(logits_p), q = softmax(logits_q), for each
// position: [..., vocab] twice (same shape) -> [...], float32 (float64 when either input is). Tokens p gives no
// mass (logit -inf) add 0; tokens only q rules out make it +inf. Differentiable in both. Throws ArgumentError when
// the shapes differ.
at::Tensor next_token_kl(const at::Tensor& logits_p, const at::Tensor& logits_q);

// Teacher forcing: log p(target_t | prompt, target_<t) for every target token, from one forward pass of
// prompt + target. Several rows are left-padded into one batch (positions counted over real tokens only, as
// generate does), so a row scores as it would alone. Log-probabilities come from the model's float32 logits;
// hooks, when given, see the padded batch. An empty target scores nothing (sum 0).
// Throws ArgumentError for different numbers of prompts and targets, an empty prompt (nothing would condition
// the first target token) and token ids outside the model's vocabulary.
std::vector<std::vector<double>> target_token_log_probabilities(const LlamaModel& model,
                                                                const std::vector<std::vector<TokenId>>& prompts,
                                                                const std::vector<std::vector<TokenId>>& targets,
                                                                ForwardHooks* hooks = nullptr);
// Per row: the sum of its target tokens' log-probabilities, log p(target | prompt).
std::vector<double> target_log_probabilities(const LlamaModel& model, const std::vector<std::vector<TokenId>>& prompts,
                                             const std::vector<std::vector<TokenId>>& targets,
                                             ForwardHooks* hooks = nullptr);
double target_log_probability(const LlamaModel& model, const std::vector<TokenId>& prompt_ids,
                              const std::vector<TokenId>& target_ids, ForwardHooks* hooks = nullptr);

}  // namespace moulin::probes
