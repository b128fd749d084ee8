#include "apps/model_summary.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/torch_dtype.h"

namespace moulin::cli {
namespace {

std::string rope_description(const LlamaConfig& c) {
  switch (c.rope_scaling.type) {
    case RopeType::kDefault: return fmt::format("theta {:g}", c.rope_theta);
    case RopeType::kLinear: return fmt::format("theta {:g}, linear scaling x{:g}", c.rope_theta, c.rope_scaling.factor);
    case RopeType::kLlama3:
      return fmt::format("theta {:g}, llama3 scaling x{:g} (low {:g}, high {:g}, original context {})", c.rope_theta,
                         c.rope_scaling.factor, c.rope_scaling.low_freq_factor, c.rope_scaling.high_freq_factor,
                         c.rope_scaling.original_max_position_embeddings);
  }
  return {};
}

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", bytes, units[unit]);
}

}  // namespace

std::string model_summary(const LlamaModel& model) {
  const auto& c = model.config();
  std::string out;
  out += fmt::format("model        {}\n", model.path().string());
  out += fmt::format("architecture LlamaForCausalLM: {} layers, d_model {}, {} heads / {} kv heads of {}, d_mlp {}\n",
                     c.num_hidden_layers, c.hidden_size, c.num_attention_heads, c.num_key_value_heads, c.head_dim,
                     c.intermediate_size);
  out += fmt::format("vocabulary   {} tokens, {} embeddings, bos {} eos {}\n", c.vocab_size,
                     c.tie_word_embeddings ? "tied" : "untied", fmt::join(c.bos_token_ids, ","),
                     fmt::join(c.eos_token_ids, ","));
  out += fmt::format("positions    max {}, RoPE {}\n", c.max_position_embeddings, rope_description(c));
  out += fmt::format("norm         RMSNorm eps {:g}; biases: attention {}, mlp {}\n", c.rms_norm_eps,
                     c.attention_bias ? "yes" : "no", c.mlp_bias ? "yes" : "no");
  out += fmt::format("parameters   {} ({:.3f} B)\n", c.parameter_count(), static_cast<double>(c.parameter_count()) / 1e9);
  out += fmt::format("running      {} on {}, weights {}\n", scalar_type_name(model.dtype()), model.device().str(),
                     human_bytes(static_cast<double>(model.weights().byte_size())));
  return out;
}

}  // namespace moulin::cli
