#pragma once
// The named points of the forward pass where activations can be read or replaced. The names follow
// TransformerLens (blocks.{l}.hook_resid_post, blocks.{l}.attn.hook_pattern, ...) and are moulin's public API:
// the same strings in C++, Python, the CLI and HDF5 dataset paths. docs/hooks.md gives every shape.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace at {
class Tensor;
}

namespace moulin {

enum class HookPoint : std::uint8_t {
  // model level, before the blocks
  kEmbed,  // hook_embed                      [batch, pos, d_model]
  // per block
  kResidPre,        // hook_resid_pre           [batch, pos, d_model]
  kLn1Scale,        // ln1.hook_scale           [batch, pos, 1] (fp32, 1/rms)
  kLn1Normalized,   // ln1.hook_normalized      [batch, pos, d_model] (before the norm weight)
  kAttnQ,           // attn.hook_q              [batch, pos, head, d_head] (before RoPE)
  kAttnK,           // attn.hook_k              [batch, pos, kv_head, d_head]
  kAttnV,           // attn.hook_v              [batch, pos, kv_head, d_head]
  kAttnRotQ,        // attn.hook_rot_q          [batch, pos, head, d_head]
  kAttnRotK,        // attn.hook_rot_k          [batch, pos, kv_head, d_head]
  kAttnScores,      // attn.hook_attn_scores    [batch, head, query_pos, key_pos] (masked, before softmax)
  kAttnPattern,     // attn.hook_pattern        [batch, head, query_pos, key_pos]
  kAttnZ,           // attn.hook_z              [batch, pos, head, d_head]
  kAttnOut,         // hook_attn_out            [batch, pos, d_model]
  kResidMid,        // hook_resid_mid           [batch, pos, d_model]
  kLn2Scale,        // ln2.hook_scale           [batch, pos, 1]
  kLn2Normalized,   // ln2.hook_normalized      [batch, pos, d_model]
  kMlpPre,          // mlp.hook_pre             [batch, pos, d_mlp] (gate projection)
  kMlpPreLinear,    // mlp.hook_pre_linear      [batch, pos, d_mlp] (up projection)
  kMlpPost,         // mlp.hook_post            [batch, pos, d_mlp] (silu(gate) * up)
  kMlpOut,          // hook_mlp_out             [batch, pos, d_model]
  kResidPost,       // hook_resid_post          [batch, pos, d_model]
  // model level, after the blocks
  kLnFinalScale,       // ln_final.hook_scale       [batch, pos, 1]
  kLnFinalNormalized,  // ln_final.hook_normalized  [batch, pos, d_model]
  kUnembedOut,         // unembed.hook_out          [batch, pos, d_vocab] (fp32 logits)
  kCount
};

constexpr std::size_t kHookPointCount = static_cast<std::size_t>(HookPoint::kCount);

// True for the points that exist once per block (named blocks.{l}.*).
constexpr bool hook_point_is_per_layer(HookPoint point) {
  return point != HookPoint::kEmbed && point != HookPoint::kLnFinalScale && point != HookPoint::kLnFinalNormalized &&
         point != HookPoint::kUnembedOut;
}

// The suffix after "blocks.{l}." (or the whole name for model-level points).
std::string_view hook_point_suffix(HookPoint point);
// Full name: "hook_embed", "blocks.3.attn.hook_q", "ln_final.hook_scale". `layer` is ignored for model-level points.
std::string hook_point_name(HookPoint point, int layer);

// What the forward pass tells a hook besides the tensor.
struct HookContext {
  HookPoint point;
  int layer;                 // -1 for model-level points
  std::int64_t past_length;  // tokens already in the KV cache: the tensor covers positions [past, past + pos)
};

// The forward pass's only door for observers and interventions. `wants` is asked before the activation is
// handed over, so points nobody watches cost one virtual call and expensive ones (attention patterns) are only
// built when wanted. `visit` returns the activation to continue with: the input itself, or a replacement of the
// same shape and dtype.
class ForwardHooks {
 public:
  virtual ~ForwardHooks() = default;
  virtual bool wants(HookPoint point, int layer) const = 0;
  virtual at::Tensor visit(const at::Tensor& activation, const HookContext& context) = 0;
};

}  // namespace moulin
