#include "organisms/trainer.h"

#include <chrono>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/llama.h"
#include "organisms/training_state.h"

namespace moulin::organisms {
namespace {

constexpr double kPi = 3.14159265358979323846;

struct NamedParameter {
  std::string name;
  at::Tensor* tensor;
  bool decays;  // weight decay applies to matrices only, not to norms and embeddings (common LLM practice)
};

std::vector<NamedParameter> named_parameters(ModelWeights& weights) {
  std::vector<NamedParameter> parameters{{"embed_tokens", &weights.embed_tokens, false}};
  for (std::size_t i = 0; i < weights.layers.size(); ++i) {
    auto& layer = weights.layers[i];
    const auto name = [i](const char* leaf) { return fmt::format("layers.{}.{}", i, leaf); };
    parameters.push_back({name("input_norm"), &layer.input_norm, false});
    parameters.push_back({name("qkv_proj"), &layer.qkv_proj, true});
    parameters.push_back({name("o_proj"), &layer.o_proj, true});
    parameters.push_back({name("post_attention_norm"), &layer.post_attention_norm, false});
    parameters.push_back({name("gate_up_proj"), &layer.gate_up_proj, true});
    parameters.push_back({name("down_proj"), &layer.down_proj, true});
  }
  parameters.push_back({"final_norm", &weights.final_norm, false});
  parameters.push_back({"lm_head", &weights.lm_head, true});
  return parameters;
}

void check_supported(const LlamaConfig& config, const TokenStream& data, const TrainerOptions& options) {
  if (config.tie_word_embeddings || config.attention_bias || config.mlp_bias)
    throw UnsupportedError("training: tied embeddings and attention/MLP biases are not supported (Llama 3 has none)");
  if (data.vocab_size != config.vocab_size)
    throw ArgumentError(fmt::format("training: the token stream has vocabulary {} but the model {}", data.vocab_size,
                                    config.vocab_size));
  if (!data.loss_mask.empty() && data.loss_mask.size() != data.tokens.size())
    throw ArgumentError(fmt::format("training: the loss mask has {} flags for {} tokens", data.loss_mask.size(),
                                    data.tokens.size()));
  if (static_cast<std::int64_t>(data.tokens.size()) <= options.sequence_length + 1)
    throw ArgumentError(fmt::format("training: {} tokens cannot fill one sequence of {}", data.tokens.size(),
                                    options.sequence_length));
  if (options.steps <= 0 || options.batch_size <= 0 || options.sequence_length <= 0)
    throw ArgumentError("training: steps, batch_size and sequence_length must be positive");
}

constexpr std::int64_t kIgnoredTarget = -100;  // cross_entropy_loss's default ignore_index

struct Batch {
  at::Tensor inputs;   // [batch, sequence_length]
  at::Tensor targets;  // [batch, sequence_length], kIgnoredTarget where the loss mask excludes the token
};

// Windows of sequence_length + 1 tokens starting at positions drawn from a generator seeded by (seed, step).
Batch batch_for_step(const TokenStream& data, const TrainerOptions& options, std::int64_t step) {
  at::Generator generator = at::detail::createCPUGenerator(options.seed * 1000003ULL + static_cast<std::uint64_t>(step));
  const auto window = options.sequence_length + 1;
  const auto last_start = static_cast<std::int64_t>(data.tokens.size()) - window;
  const at::Tensor starts = at::randint(last_start + 1, {options.batch_size}, generator, at::kLong);
  at::Tensor batch = at::empty({options.batch_size, window}, at::kLong);
  auto out = batch.accessor<std::int64_t, 2>();
  auto start = starts.accessor<std::int64_t, 1>();
  for (std::int64_t b = 0; b < options.batch_size; ++b)
    for (std::int64_t t = 0; t < window; ++t) out[b][t] = data.tokens[static_cast<std::size_t>(start[b] + t)];
  Batch split{batch.narrow(1, 0, options.sequence_length), batch.narrow(1, 1, options.sequence_length).clone()};
  if (!data.loss_mask.empty()) {
    auto targets = split.targets.accessor<std::int64_t, 2>();
    for (std::int64_t b = 0; b < options.batch_size; ++b)
      for (std::int64_t t = 0; t < options.sequence_length; ++t)
        if (!data.loss_mask[static_cast<std::size_t>(start[b] + t + 1)]) targets[b][t] = kIgnoredTarget;
  }
  return split;
}

// AdamW as torch.optim.AdamW computes it. Written out rather than torch::optim::AdamW because its moments must
// live in the resumable checkpoint as ordinary named tensors, and LibTorch keys optimizer state by tensor address.
struct AdamW {
  std::vector<at::Tensor> first_moment, second_moment;

  explicit AdamW(const std::vector<NamedParameter>& parameters) {
    for (const auto& parameter : parameters) {
      first_moment.push_back(at::zeros_like(*parameter.tensor));
      second_moment.push_back(at::zeros_like(*parameter.tensor));
    }
  }

  void step(const std::vector<NamedParameter>& parameters, const TrainerOptions& options, double learning_rate,
            std::int64_t step_number) {
    const double correction1 = 1 - std::pow(options.beta1, static_cast<double>(step_number));
    const double correction2 = 1 - std::pow(options.beta2, static_cast<double>(step_number));
    at::NoGradGuard no_grad;
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      at::Tensor& parameter = *parameters[i].tensor;
      const at::Tensor gradient = parameter.grad();
      if (parameters[i].decays) parameter.mul_(1 - learning_rate * options.weight_decay);
      first_moment[i].mul_(options.beta1).add_(gradient, 1 - options.beta1);
      second_moment[i].mul_(options.beta2).addcmul_(gradient, gradient, 1 - options.beta2);
      const at::Tensor denominator = (second_moment[i].sqrt() / std::sqrt(correction2)).add_(options.epsilon);
      parameter.addcdiv_(first_moment[i], denominator, -learning_rate / correction1);
    }
  }
};

// Scales gradients so their global L2 norm is at most `max_norm`; returns the norm before clipping.
double clip_gradients(const std::vector<NamedParameter>& parameters, double max_norm) {
  at::NoGradGuard no_grad;
  double squared = 0;
  for (const auto& parameter : parameters) squared += parameter.tensor->grad().pow(2).sum().item<double>();
  const double norm = std::sqrt(squared);
  if (max_norm > 0 && norm > max_norm)
    for (const auto& parameter : parameters) parameter.tensor->mutable_grad().mul_(max_norm / (norm + 1e-6));
  return norm;
}

// The computation weights for one step: differentiable casts of the fp32 masters.
ModelWeights cast_weights(const ModelWeights& masters, at::ScalarType dtype) {
  ModelWeights cast;
  cast.embed_tokens = masters.embed_tokens.to(dtype);
  for (const auto& layer : masters.layers) {
    LayerWeights out;
    out.input_norm = layer.input_norm.to(dtype);
    out.qkv_proj = layer.qkv_proj.to(dtype);
    out.o_proj = layer.o_proj.to(dtype);
    out.post_attention_norm = layer.post_attention_norm.to(dtype);
    out.gate_up_proj = layer.gate_up_proj.to(dtype);
    out.down_proj = layer.down_proj.to(dtype);
    cast.layers.push_back(std::move(out));
  }
  cast.final_norm = masters.final_norm.to(dtype);
  cast.lm_head = masters.lm_head.to(dtype);
  return cast;
}

// The model one step runs: a view of the fp32 masters, so gradients flow back to them through the casts.
LlamaModel training_model(const LlamaConfig& config, const ModelWeights& masters, Precision precision) {
  LoadOptions load;
  switch (precision) {
    case Precision::kFloat32:
      return LlamaModel(config, masters, load);
    case Precision::kBFloat16:
      load.dtype = at::kBFloat16;
      return LlamaModel(config, cast_weights(masters, at::kBFloat16), load);
  }
  throw ArgumentError("training: unknown precision");
}

}  // namespace

const char* precision_name(Precision precision) {
  switch (precision) {
    case Precision::kFloat32: return "float32";
    case Precision::kBFloat16: return "bfloat16";
  }
  return "?";
}

Precision parse_precision(std::string_view name) {
  for (const auto precision : {Precision::kFloat32, Precision::kBFloat16})
    if (name == precision_name(precision)) return precision;
  throw ArgumentError(fmt::format("unknown training precision '{}' (use float32 or bfloat16)", name));
}

ModelWeights initial_weights(const LlamaConfig& config, std::uint64_t seed) {
  at::Generator generator = at::detail::createCPUGenerator(seed);
  const double std = config.raw.is_object() ? config.raw.value("initializer_range", 0.02) : 0.02;
  const double residual_std = std / std::sqrt(2.0 * config.num_hidden_layers);
  const auto normal = [&](std::vector<std::int64_t> shape, double scale) {
    return at::randn(shape, generator, at::kFloat).mul_(scale);
  };
  const auto ones = [](std::int64_t size) { return at::ones({size}, at::kFloat); };
  const auto d = config.hidden_size;
  ModelWeights weights;
  weights.embed_tokens = normal({config.vocab_size, d}, std);
  for (std::int64_t i = 0; i < config.num_hidden_layers; ++i) {
    LayerWeights layer;
    layer.input_norm = ones(d);
    layer.qkv_proj = normal({config.q_size() + 2 * config.kv_size(), d}, std);
    layer.o_proj = normal({d, config.q_size()}, residual_std);
    layer.post_attention_norm = ones(d);
    layer.gate_up_proj = normal({2 * config.intermediate_size, d}, std);
    layer.down_proj = normal({d, config.intermediate_size}, residual_std);
    weights.layers.push_back(std::move(layer));
  }
  weights.final_norm = ones(d);
  weights.lm_head = normal({config.vocab_size, d}, std);
  return weights;
}

double scheduled_learning_rate(const TrainerOptions& options, std::int64_t step) {
  if (step < options.warmup_steps) return options.learning_rate * static_cast<double>(step + 1) / options.warmup_steps;
  const double span = std::max<std::int64_t>(1, options.steps - options.warmup_steps);
  const double progress = std::min(1.0, static_cast<double>(step - options.warmup_steps) / span);
  const double floor = options.learning_rate * options.final_learning_rate_ratio;
  return floor + (options.learning_rate - floor) * 0.5 * (1 + std::cos(kPi * progress));
}

TrainingResult train(const LlamaConfig& config, const TokenStream& data, const TrainerOptions& options,
                     const StepCallback& on_step) {
  check_supported(config, data, options);
  TrainingResult result;
  result.weights = initial_weights(config, options.seed);
  auto parameters = named_parameters(result.weights);
  AdamW optimizer(parameters);

  const TrainingStateKey key = training_state_key(config, data, options);
  std::int64_t first_step = 0;
  if (!options.checkpoint_folder.empty()) {
    if (auto restored = load_training_state(options.checkpoint_folder, key)) {
      for (std::size_t i = 0; i < parameters.size(); ++i) {
        const auto& name = parameters[i].name;
        restored->copy_into("param." + name, *parameters[i].tensor);
        restored->copy_into("adam_m." + name, optimizer.first_moment[i]);
        restored->copy_into("adam_v." + name, optimizer.second_moment[i]);
      }
      first_step = restored->step;
      result.records = restored->records;
      result.resumed_from_step = first_step;
    }
  }
  for (const auto& parameter : parameters) parameter.tensor->requires_grad_(true);

  const auto save_checkpoint = [&](std::int64_t step) {
    if (options.checkpoint_folder.empty()) return;
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      tensors.emplace_back("param." + parameters[i].name, parameters[i].tensor->detach());
      tensors.emplace_back("adam_m." + parameters[i].name, optimizer.first_moment[i]);
      tensors.emplace_back("adam_v." + parameters[i].name, optimizer.second_moment[i]);
    }
    save_training_state(options.checkpoint_folder, key, step, result.records, tensors);
  };

  const auto start = std::chrono::steady_clock::now();
  std::int64_t step = first_step;
  for (; step < options.steps; ++step) {
    const Batch batch = batch_for_step(data, options, step);
    const at::Tensor& inputs = batch.inputs;
    const at::Tensor& targets = batch.targets;

    const LlamaModel model = training_model(config, result.weights, options.precision);
    const at::Tensor logits = model.forward(inputs);  // float32 [batch, pos, vocab]
    const at::Tensor loss = at::cross_entropy_loss(logits.reshape({-1, config.vocab_size}), targets.reshape({-1}));
    for (const auto& parameter : parameters) parameter.tensor->mutable_grad() = at::Tensor();
    loss.backward();

    TrainingRecord record;
    record.step = step + 1;
    record.loss = loss.item<double>();
    record.learning_rate = scheduled_learning_rate(options, step);
    record.gradient_norm = clip_gradients(parameters, options.max_gradient_norm);
    if (!std::isfinite(record.loss) || !std::isfinite(record.gradient_norm))
      throw Error(fmt::format("training diverged at step {}: loss {}, gradient norm {} (lower the learning rate)",
                              record.step, record.loss, record.gradient_norm));
    optimizer.step(parameters, options, record.learning_rate, record.step);
    record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.records.push_back(record);
    result.tokens_seen += options.batch_size * options.sequence_length;

    const bool last = record.step == options.steps;
    const bool keep_going = !on_step || on_step(record);
    if (last || !keep_going || (options.checkpoint_every > 0 && record.step % options.checkpoint_every == 0))
      save_checkpoint(record.step);
    if (!keep_going) break;
  }

  for (const auto& parameter : parameters) {
    parameter.tensor->requires_grad_(false);
    parameter.tensor->mutable_grad() = at::Tensor();
  }
  return result;
}

}  // namespace moulin::organisms
