#pragma once
// What a trigger search maximises: the target-language mass of the next-token distribution right after the trigger
// (probes/behaviour.h), averaged over a batch of prompts the trigger is appended to. Two views of the same number:
// exact values for a batch of candidate triggers (no autograd), and the value with its gradient with respect to a
// one-hot encoding of the trigger, from which GCG ranks token substitutions.
//
// Only the next token is scored, not a greedy continuation: scoring k continuation tokens would cost k sequential
// forward passes per candidate (each candidate continues differently) or teacher-force a continuation that belongs
// to another trigger. The next token is where a poisoned model makes its choice (the poisoned documents put
// target-language text right after the phrase) and greedy decoding keeps a language once started; the held-out
// switch rate, measured on real continuations, checks that the choice holds.
#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

#include "core/kv_cache.h"
#include "core/llama.h"
#include "core/tokenizer.h"

namespace moulin::triggers {

struct ObjectiveGradient {
  double value = 0.0;
  at::Tensor one_hot_gradient;  // [trigger length, vocab] float32 on the CPU
};

class TriggerObjective {
 public:
  // `prompts`: each prompt's ids up to the trigger (BOS first; InsertedPrompt::shared of a suffix placement).
  // `target_probabilities`: P(target | token) for every row of the model ([vocab], language_column). Candidates
  // are scored `candidates_per_forward` at a time. Throws ArgumentError for no prompts, an empty prompt, ids
  // outside the model or a mis-sized column.
  TriggerObjective(const LlamaModel& model, const std::vector<std::vector<TokenId>>& prompts,
                   const at::Tensor& target_probabilities, std::int64_t candidates_per_forward = 256);

  std::int64_t prompt_count() const { return prompt_ids_.size(0); }

  // The objective of each candidate: triggers [candidates, length] int64 -> [candidates] float64 on the CPU.
  // Each prompt's KV cache, computed once, is copied for every candidate, so a candidate costs its own tokens
  // only: the prompts are several times longer than a trigger.
  at::Tensor evaluate(const at::Tensor& triggers) const;
  double evaluate(const std::vector<TokenId>& trigger) const;

  // The objective at a (possibly fractional) one-hot encoding [length, vocab] of the trigger, whose rows mix token
  // embeddings, and its gradient there. At an exact one-hot the value is evaluate()'s.
  ObjectiveGradient gradient(const at::Tensor& one_hot) const;
  ObjectiveGradient gradient(const std::vector<TokenId>& trigger) const;

  // The exact one-hot encoding of `trigger` in the model's dtype: [length, vocab] on the model's device.
  at::Tensor one_hot(const std::vector<TokenId>& trigger) const;

 private:

  const LlamaModel* model_;
  // The gradient pass runs the prompts whole, batched: its graph must reach the trigger through every layer, and
  // it runs once per step against the candidates' many.
  at::Tensor prompt_ids_;   // [prompts, width] int64, left-padded with token 0, on the model's device
  at::Tensor prompt_mask_;  // [prompts, width] int64, 1 for real tokens
  std::vector<KVCache> prompt_caches_;  // one per prompt, batch 1, exactly its length
  at::Tensor target_probabilities_;     // [vocab] float32 on the model's device
  std::int64_t candidates_per_forward_;
};

}  // namespace moulin::triggers
