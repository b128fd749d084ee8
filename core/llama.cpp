#include "core/llama.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/checkpoint.h"
#include "core/cpu_kernels.h"
#include "core/error.h"
#include "core/rope.h"

namespace moulin {
namespace {

// Runs one named hook point: hands the activation to the hooks when they want it and checks what comes back.
class HookSite {
 public:
  HookSite(ForwardHooks* hooks, std::int64_t past_length) : hooks_(hooks), past_length_(past_length) {}

  bool wants(HookPoint point, int layer) const { return hooks_ && hooks_->wants(point, layer); }

  at::Tensor operator()(HookPoint point, int layer, at::Tensor activation) const {
    if (!wants(point, layer)) return activation;
    at::Tensor result = hooks_->visit(activation, HookContext{point, layer, past_length_});
    if (!result.defined() || result.sizes() != activation.sizes() || result.scalar_type() != activation.scalar_type())
      throw ArgumentError(fmt::format("hook on '{}' returned {} but the activation is {} [{}]",
                                      hook_point_name(point, layer),
                                      result.defined() ? fmt::format("{} [{}]", c10::toString(result.scalar_type()),
                                                                     fmt::join(result.sizes(), ", "))
                                                       : std::string("an undefined tensor"),
                                      c10::toString(activation.scalar_type()), fmt::join(activation.sizes(), ", ")));
    return result;
  }

 private:
  ForwardHooks* hooks_;
  std::int64_t past_length_;
};

// transformers' RMSNorm statistics on the plain torch path: rsqrt(mean(x^2) + eps) in fp32 [batch, pos, 1], and
// x times it rounded back to x's dtype (before the weight).
std::pair<at::Tensor, at::Tensor> rms_parts(const at::Tensor& x, double eps) {
  const at::Tensor x32 = x.to(at::kFloat);
  const at::Tensor inverse_rms = at::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return {inverse_rms, (x32 * inverse_rms).to(x.scalar_type())};
}

// RMSNorm with its hook points. hook_scale carries TransformerLens' scale (the RMS, sqrt(mean(x^2) + eps)); the
// computation multiplies by rsqrt as transformers does. Observing hooks see the values the computation uses and
// change nothing; a hook that replaces the scale or the normalized values makes the result follow the replacement.
at::Tensor hooked_rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps, const HookSite& hook,
                           HookPoint scale_point, HookPoint normalized_point, int layer) {
  const bool watch_scale = hook.wants(scale_point, layer), watch_normalized = hook.wants(normalized_point, layer);
  at::Tensor inverse_rms, normalized;
  at::Tensor result = cpu::rms_norm(x, weight, eps, watch_scale ? &inverse_rms : nullptr,
                                    watch_normalized ? &normalized : nullptr);
  if (!result.defined()) {  // the plain torch path (other devices and dtypes)
    std::tie(inverse_rms, normalized) = rms_parts(x, eps);
  } else if (!watch_scale && !watch_normalized) {
    return result;
  }
  bool replaced = !result.defined();
  if (watch_scale) {
    const at::Tensor scale = at::reciprocal(inverse_rms);
    const at::Tensor new_scale = hook(scale_point, layer, scale);
    if (!new_scale.is_same(scale)) {
      normalized = (x.to(at::kFloat) / new_scale).to(x.scalar_type());
      replaced = true;
    }
  }
  if (watch_normalized) {
    const at::Tensor new_normalized = hook(normalized_point, layer, normalized);
    replaced = replaced || !new_normalized.is_same(normalized);
    normalized = new_normalized;
  }
  return replaced ? weight * normalized : result;
}

// Additive attention bias [batch, 1, pos, past + pos]: 0 where a query may attend, the dtype's lowest value
// elsewhere (transformers' convention, which turns fully masked padding rows into a uniform softmax).
// Undefined when nothing needs masking (one new token, no padding).
at::Tensor attention_bias(const at::Tensor& key_valid, bool any_padding, std::int64_t past, std::int64_t tokens,
                          at::ScalarType dtype, c10::Device device) {
  if (tokens == 1 && !any_padding) return {};
  const auto total = past + tokens;
  const auto index_options = at::TensorOptions().dtype(at::kLong).device(device);
  at::Tensor allowed = at::arange(total, index_options).unsqueeze(0) <=
                       (at::arange(tokens, index_options) + past).unsqueeze(1);  // [pos, total] causal
  allowed = allowed.unsqueeze(0).unsqueeze(0);                                   // [1, 1, pos, total]
  if (any_padding) allowed = allowed & key_valid.unsqueeze(1).unsqueeze(1);       // [batch, 1, pos, total]
  const double lowest = dtype == at::kFloat      ? std::numeric_limits<float>::lowest()
                        : dtype == at::kBFloat16 ? -3.3895313892515355e38  // finfo(bfloat16).min
                        : dtype == at::kHalf     ? -65504.0
                                                 : std::numeric_limits<double>::lowest();
  return at::zeros(allowed.sizes(), at::TensorOptions().dtype(dtype).device(device)).masked_fill_(allowed.logical_not(), lowest);
}

// x [..., in] @ weight[out, in]^T (+ bias). A single row (batch-1 decoding) goes through a matrix-vector product
// (cpu::matrix_vector where the CPU allows, else at::mv): LibTorch's GEMM path pays a large fixed cost at one row,
// while these stream the weight at close to memory bandwidth (bench/bench_model measures both regimes).
at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  if (x.numel() == x.size(-1)) {
    at::Tensor out = cpu::matrix_vector(weight, x.reshape({-1}));
    if (!out.defined()) out = at::mv(weight, x.reshape({-1}));
    if (bias.defined()) out.add_(bias);
    auto sizes = x.sizes().vec();
    sizes.back() = weight.size(0);
    return out.view(sizes);
  }
  return bias.defined() ? at::linear(x, weight, bias) : at::linear(x, weight);
}

// The logits in float32. On the CPU the product runs 128 rows at a time, each block widened to float32 while it
// is still in cache: the model-dtype logits of the whole batch never exist at once (1 GB for 4096 positions of
// Gaperon's 128,256-token vocabulary in bf16), and oneDNN ran the 32000-wide bf16 lm_head 1.5-2x faster in such
// blocks than as one product over 1024 rows, widening included (a Python microbenchmark; the whole forward's MFU
// moved within the noise).
at::Tensor unembed(const at::Tensor& hidden, const at::Tensor& lm_head) {
  constexpr std::int64_t kRowBlock = 128;
  const at::Tensor rows = hidden.reshape({-1, hidden.size(-1)});
  const std::int64_t count = rows.size(0), vocab = lm_head.size(0);
  auto sizes = hidden.sizes().vec();
  sizes.back() = vocab;
  if (!hidden.device().is_cpu() || count <= kRowBlock) {
    const at::Tensor logits = linear(hidden, lm_head, at::Tensor());
    if (at::Tensor widened = cpu::to_float32(logits); widened.defined()) return widened;
    return logits.to(at::kFloat);
  }
  at::Tensor logits = at::empty({count, vocab}, hidden.options().dtype(at::kFloat));
  for (std::int64_t start = 0; start < count; start += kRowBlock) {
    const std::int64_t length = std::min(kRowBlock, count - start);
    const at::Tensor block = linear(rows.narrow(0, start, length), lm_head, at::Tensor());
    at::Tensor target = logits.narrow(0, start, length);
    if (!cpu::to_float32(block, target).defined()) target.copy_(block);
  }
  return logits.view(sizes);
}

struct BlockInputs {
  const RopeTables& rope;
  const at::Tensor& bias;  // attention bias or undefined
  KVCache* cache;
  const HookSite& hook;
};

at::Tensor attention(const at::Tensor& x, const LayerWeights& w, const LlamaConfig& c, int layer,
                     const BlockInputs& in) {
  const auto batch = x.size(0), tokens = x.size(1);
  const auto heads = c.num_attention_heads, kv_heads = c.num_key_value_heads, head_dim = c.head_dim;
  const at::Tensor qkv = linear(x, w.qkv_proj, w.qkv_bias);  // [batch, pos, q_size + 2 kv_size]
  at::Tensor q = in.hook(HookPoint::kAttnQ, layer, qkv.narrow(-1, 0, c.q_size()).view({batch, tokens, heads, head_dim}));
  at::Tensor k = in.hook(HookPoint::kAttnK, layer,
                         qkv.narrow(-1, c.q_size(), c.kv_size()).view({batch, tokens, kv_heads, head_dim}));
  at::Tensor v = in.hook(HookPoint::kAttnV, layer,
                         qkv.narrow(-1, c.q_size() + c.kv_size(), c.kv_size()).view({batch, tokens, kv_heads, head_dim}));
  q = in.hook(HookPoint::kAttnRotQ, layer, apply_rope(q, in.rope));
  k = in.hook(HookPoint::kAttnRotK, layer, apply_rope(k, in.rope));

  at::Tensor keys = k.transpose(1, 2), values = v.transpose(1, 2);  // [batch, kv_heads, pos, head_dim]
  if (in.cache) std::tie(keys, values) = in.cache->append(layer, keys, values);
  const auto total = keys.size(2);

  const double divisor = std::sqrt(static_cast<double>(head_dim));
  // One new position (decoding): loops over the cache instead of batched matmuls (cpu_kernels.h says why).
  at::Tensor scores = tokens == 1 ? cpu::decode_scores(q.view({batch, heads, head_dim}), keys, in.bias, divisor)
                                  : at::Tensor();
  const bool decoding = scores.defined();
  // Query heads sharing a kv head are consecutive (transformers' repeat_kv), so grouping them as one
  // [kv_heads, group * pos] matrix lets one batched matmul serve the whole group without copying keys.
  const auto groups = c.kv_groups();
  if (!decoding) {
    const at::Tensor grouped_q = q.transpose(1, 2).contiguous().view({batch, kv_heads, groups * tokens, head_dim});
    scores = at::matmul(grouped_q, keys.transpose(-1, -2)).view({batch, heads, tokens, total});
    scores.div_(divisor);
    if (in.bias.defined()) scores.add_(in.bias);
  }
  scores = in.hook(HookPoint::kAttnScores, layer, scores);
  at::Tensor probabilities = cpu::attention_softmax(scores);
  if (!probabilities.defined()) probabilities = at::softmax(scores, -1, at::kFloat).to(x.scalar_type());
  const at::Tensor pattern = in.hook(HookPoint::kAttnPattern, layer, probabilities);

  at::Tensor z;  // [batch, pos, heads, head_dim]
  if (decoding) {
    if (const at::Tensor decoded = cpu::decode_values(pattern, values); decoded.defined())
      z = decoded.view({batch, 1, heads, head_dim});
  }
  if (!z.defined())
    z = at::matmul(pattern.reshape({batch, kv_heads, groups * tokens, total}), values)
            .view({batch, heads, tokens, head_dim})
            .transpose(1, 2);
  z = in.hook(HookPoint::kAttnZ, layer, z);
  return linear(z.reshape({batch, tokens, heads * head_dim}), w.o_proj, w.o_bias);
}

at::Tensor mlp(const at::Tensor& x, const LayerWeights& w, const LlamaConfig& c, int layer, const HookSite& hook) {
  const at::Tensor gate_up = linear(x, w.gate_up_proj, w.gate_up_bias);  // [batch, pos, 2 d_mlp]
  const at::Tensor gate = hook(HookPoint::kMlpPre, layer, gate_up.narrow(-1, 0, c.intermediate_size));
  const at::Tensor up = hook(HookPoint::kMlpPreLinear, layer, gate_up.narrow(-1, c.intermediate_size, c.intermediate_size));
  at::Tensor activation = cpu::silu_mul(gate, up);
  if (!activation.defined()) activation = at::silu(gate) * up;
  const at::Tensor post = hook(HookPoint::kMlpPost, layer, activation);
  return linear(post, w.down_proj, w.down_bias);
}

at::Tensor block(at::Tensor residual, const LayerWeights& w, const LlamaConfig& c, int layer, const BlockInputs& in) {
  residual = in.hook(HookPoint::kResidPre, layer, residual);
  const at::Tensor attn_in =
      hooked_rms_norm(residual, w.input_norm, c.rms_norm_eps, in.hook, HookPoint::kLn1Scale, HookPoint::kLn1Normalized, layer);
  const at::Tensor attn_out = in.hook(HookPoint::kAttnOut, layer, attention(attn_in, w, c, layer, in));
  residual = in.hook(HookPoint::kResidMid, layer, residual + attn_out);
  const at::Tensor mlp_in = hooked_rms_norm(residual, w.post_attention_norm, c.rms_norm_eps, in.hook,
                                            HookPoint::kLn2Scale, HookPoint::kLn2Normalized, layer);
  const at::Tensor mlp_out = in.hook(HookPoint::kMlpOut, layer, mlp(mlp_in, w, c, layer, in.hook));
  return in.hook(HookPoint::kResidPost, layer, residual + mlp_out);
}

}  // namespace

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  if (at::Tensor fused = cpu::rms_norm(x, weight, eps); fused.defined()) return fused;
  return weight * rms_parts(x, eps).second;
}

LlamaModel LlamaModel::load(const std::filesystem::path& folder, const LoadOptions& options) {
  try {
    LlamaConfig config = load_llama_config(folder);
    const Checkpoint checkpoint = Checkpoint::open(folder);
    ModelWeights weights = load_weights(checkpoint, config, options);
    LlamaModel model(std::move(config), std::move(weights), options);
    model.path_ = folder;
    return model;
  } catch (const Error&) {
    throw;
  } catch (const std::exception& error) {  // torch allocation or device failures, with the folder for context
    throw Error(fmt::format("{}: loading the model failed: {}", folder.string(), error.what()));
  }
}

LlamaModel::LlamaModel(LlamaConfig config, ModelWeights weights, const LoadOptions& options)
    : config_(std::move(config)), weights_(std::move(weights)), options_(options) {
  inv_freq_ = rope_inv_freq(config_).to(options_.device);
}

KVCache LlamaModel::new_cache(std::int64_t batch, std::int64_t capacity) const {
  return KVCache(config_, batch, capacity, options_.dtype, options_.device);
}

at::Tensor LlamaModel::embed(const at::Tensor& input_ids) const {
  if (input_ids.dim() != 2 || input_ids.scalar_type() != at::kLong)
    throw ArgumentError(fmt::format("input_ids must be int64 [batch, pos], got {} [{}]",
                                    c10::toString(input_ids.scalar_type()), fmt::join(input_ids.sizes(), ", ")));
  if (input_ids.numel() == 0) throw ArgumentError("input_ids is empty");
  const auto low = input_ids.min().item<std::int64_t>(), high = input_ids.max().item<std::int64_t>();
  if (low < 0 || high >= config_.vocab_size)
    throw ArgumentError(fmt::format("token id {} is outside the vocabulary [0, {})", low < 0 ? low : high,
                                    config_.vocab_size));
  return at::embedding(weights_.embed_tokens, input_ids.to(options_.device));
}

at::Tensor LlamaModel::forward(const at::Tensor& input_ids, const ForwardOptions& options) const {
  const HookSite hook(options.hooks, options.cache ? options.cache->length() : 0);
  return forward_residual(hook(HookPoint::kEmbed, -1, embed(input_ids)), 0, options);
}

at::Tensor LlamaModel::forward_residual(const at::Tensor& embeddings, int start_at_layer, const ForwardOptions& options) const {
  const int layers = static_cast<int>(weights_.layers.size());
  const int stop_at_layer = options.stop_at_layer >= 0 ? options.stop_at_layer : layers;
  if (embeddings.dim() != 3 || embeddings.size(2) != config_.hidden_size)
    throw ArgumentError(fmt::format("residual stream must be [batch, pos, {}], got [{}]", config_.hidden_size,
                                    fmt::join(embeddings.sizes(), ", ")));
  if (start_at_layer < 0 || start_at_layer > stop_at_layer || stop_at_layer > layers)
    throw ArgumentError(fmt::format("layers [{}, {}) are not a range of this model's {} blocks", start_at_layer,
                                    stop_at_layer, layers));
  if (options.cache && (start_at_layer > 0 || options.stop_at_layer >= 0))
    throw ArgumentError("start_at_layer and stop_at_layer cannot be combined with a KV cache: skipped blocks would "
                        "leave it incomplete");
  const auto batch = embeddings.size(0), tokens = embeddings.size(1);
  const auto device = options_.device;
  const std::int64_t past = options.cache ? options.cache->length() : 0;
  const HookSite hook(options.hooks, past);

  // Which keys are real tokens, over [0, past + pos).
  at::Tensor new_valid;
  if (options.attention_mask.defined()) {
    const auto& mask = options.attention_mask;
    if (mask.dim() != 2 || mask.size(0) != batch || (mask.size(1) != tokens && mask.size(1) != past + tokens))
      throw ArgumentError(fmt::format("attention_mask must be [{}, {}] or [{}, {}], got [{}]", batch, tokens, batch,
                                      past + tokens, fmt::join(mask.sizes(), ", ")));
    new_valid = mask.narrow(1, mask.size(1) - tokens, tokens).to(device).ne(0);
  } else {
    new_valid = at::ones({batch, tokens}, at::TensorOptions().dtype(at::kBool).device(device));
  }
  at::Tensor key_valid = options.cache ? options.cache->append_key_mask(new_valid) : new_valid;
  const bool any_padding = options.attention_mask.defined() || (options.cache && past > 0)
                               ? !key_valid.all().item<bool>()
                               : false;

  at::Tensor positions = options.position_ids;
  if (positions.defined()) {
    if (positions.sizes() != at::IntArrayRef{batch, tokens})
      throw ArgumentError(fmt::format("position_ids must be [{}, {}], got [{}]", batch, tokens,
                                      fmt::join(positions.sizes(), ", ")));
    positions = positions.to(device, at::kLong);
  } else if (any_padding) {
    positions = (key_valid.to(at::kLong).cumsum(1) - 1).masked_fill_(key_valid.logical_not(), 1).narrow(1, past, tokens);
  } else {
    positions = at::arange(past, past + tokens, at::TensorOptions().dtype(at::kLong).device(device)).expand({batch, tokens});
  }

  const RopeTables rope = rope_tables(inv_freq_, positions, options_.dtype);
  const at::Tensor bias = attention_bias(key_valid, any_padding, past, tokens, options_.dtype, device);
  const BlockInputs inputs{rope, bias, options.cache, hook};

  at::Tensor residual = embeddings.to(device, options_.dtype);
  for (int l = start_at_layer; l < stop_at_layer; ++l)
    residual = block(residual, weights_.layers[static_cast<std::size_t>(l)], config_, l, inputs);
  if (options.cache) options.cache->advance(tokens);
  if (options.stop_at_layer >= 0) return residual;

  if (options.logits == LogitsFor::kNone) return {};
  if (options.logits == LogitsFor::kLast) residual = residual.narrow(1, tokens - 1, 1);
  const at::Tensor final_hidden = hooked_rms_norm(residual, weights_.final_norm, config_.rms_norm_eps, hook,
                                                  HookPoint::kLnFinalScale, HookPoint::kLnFinalNormalized, -1);
  return hook(HookPoint::kUnembedOut, -1, unembed(final_hidden, weights_.lm_head));
}

}  // namespace moulin
