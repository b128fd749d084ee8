#include "core/hook_points.h"

#include <fmt/format.h>

namespace moulin {

std::string_view hook_point_suffix(HookPoint point) {
  // One table of names, in forward order; tests pin the resulting ordered list.
  static constexpr std::array<std::string_view, kHookPointCount> kSuffixes{
      "hook_embed",          "hook_resid_pre",     "ln1.hook_scale",       "ln1.hook_normalized",
      "attn.hook_q",         "attn.hook_k",        "attn.hook_v",          "attn.hook_rot_q",
      "attn.hook_rot_k",     "attn.hook_attn_scores", "attn.hook_pattern", "attn.hook_z",
      "hook_attn_out",       "hook_resid_mid",     "ln2.hook_scale",       "ln2.hook_normalized",
      "mlp.hook_pre",        "mlp.hook_pre_linear", "mlp.hook_post",       "hook_mlp_out",
      "hook_resid_post",     "ln_final.hook_scale", "ln_final.hook_normalized", "unembed.hook_out",
  };
  return kSuffixes.at(static_cast<std::size_t>(point));
}

std::string hook_point_name(HookPoint point, int layer) {
  if (!hook_point_is_per_layer(point)) return std::string(hook_point_suffix(point));
  return fmt::format("blocks.{}.{}", layer, hook_point_suffix(point));
}

}  // namespace moulin
