#pragma once
// The Llama 3 model: config + weights loaded once, and a forward pass that matches transformers'
// LlamaForCausalLM (eager attention) numerically. Every activation passes a named hook point (core/hook_points.h).
#include <filesystem>

#include <ATen/ATen.h>

#include "core/config.h"
#include "core/hook_points.h"
#include "core/kv_cache.h"
#include "core/weights.h"

namespace moulin {

// Which positions get logits: computing the [pos, vocab] projection for positions nobody reads is the largest
// avoidable cost of decoding and scanning.
enum class LogitsFor { kAll, kLast, kNone };

struct ForwardOptions {
  // [batch, past + pos] or [batch, pos], 1 for real tokens and 0 for padding. Undefined: every token is real.
  at::Tensor attention_mask;
  // [batch, pos] int64. Undefined: derived as transformers' generate does (number of real tokens before each
  // position; padding gets 1), or past..past+pos without a mask.
  at::Tensor position_ids;
  KVCache* cache = nullptr;        // read and extended in place when given
  ForwardHooks* hooks = nullptr;   // observers and interventions; nullptr costs nothing
  LogitsFor logits = LogitsFor::kAll;
  // >= 0: stop before block `stop_at_layer` and return the residual stream entering it ([batch, pos, d_model], the
  // model dtype) instead of logits, as TransformerLens' stop_at_layer. Not combinable with a cache.
  int stop_at_layer = -1;
};

class LlamaModel {
 public:
  // Loads config.json and the safetensors weights of a Hugging Face model folder.
  static LlamaModel load(const std::filesystem::path& folder, const LoadOptions& options = {});
  LlamaModel(LlamaConfig config, ModelWeights weights, const LoadOptions& options);

  const LlamaConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  at::ScalarType dtype() const { return options_.dtype; }
  c10::Device device() const { return options_.device; }
  const std::filesystem::path& path() const { return path_; }

  // A cache for `batch` sequences of up to `capacity` positions, in the model's dtype and device.
  KVCache new_cache(std::int64_t batch, std::int64_t capacity) const;

  // input_ids [batch, pos] int64 -> logits [batch, pos (or 1 with LogitsFor::kLast), vocab] float32, as
  // transformers returns them (computed in the model dtype, then upcast). Undefined with LogitsFor::kNone.
  at::Tensor forward(const at::Tensor& input_ids, const ForwardOptions& options = {}) const;
  // The same from a residual stream [batch, pos, d_model] entering block `start_at_layer`: token embeddings with
  // start 0 (gradient-based trigger search differentiates through these; they do not pass hook_embed), or a
  // stream saved from another run to resume from (TransformerLens' start_at_layer; not combinable with a cache).
  at::Tensor forward_residual(const at::Tensor& residual, int start_at_layer = 0, const ForwardOptions& options = {}) const;
  // Token embeddings of input_ids, checking every id is inside the vocabulary.
  at::Tensor embed(const at::Tensor& input_ids) const;

 private:
  LlamaConfig config_;
  ModelWeights weights_;
  LoadOptions options_;
  std::filesystem::path path_;
  at::Tensor inv_freq_;  // [head_dim / 2] fp32 on the model's device
};

// transformers' LlamaRMSNorm: statistics in fp32, cast back to the input dtype, then times the weight.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

}  // namespace moulin
