// Hook point names are public API: this pins the ordered list, so a rename is a visible, deliberate break.
#include <gtest/gtest.h>

#include "core/hook_points.h"

namespace moulin {
namespace {

TEST(HookNames, OrderedListOfOneBlock) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < kHookPointCount; ++i) names.push_back(hook_point_name(static_cast<HookPoint>(i), 3));
  const std::vector<std::string> expected{
      "hook_embed",
      "blocks.3.hook_resid_pre",
      "blocks.3.ln1.hook_scale",
      "blocks.3.ln1.hook_normalized",
      "blocks.3.attn.hook_q",
      "blocks.3.attn.hook_k",
      "blocks.3.attn.hook_v",
      "blocks.3.attn.hook_rot_q",
      "blocks.3.attn.hook_rot_k",
      "blocks.3.attn.hook_attn_scores",
      "blocks.3.attn.hook_pattern",
      "blocks.3.attn.hook_z",
      "blocks.3.hook_attn_out",
      "blocks.3.hook_resid_mid",
      "blocks.3.ln2.hook_scale",
      "blocks.3.ln2.hook_normalized",
      "blocks.3.mlp.hook_pre",
      "blocks.3.mlp.hook_pre_linear",
      "blocks.3.mlp.hook_post",
      "blocks.3.hook_mlp_out",
      "blocks.3.hook_resid_post",
      "ln_final.hook_scale",
      "ln_final.hook_normalized",
      "unembed.hook_out",
  };
  EXPECT_EQ(names, expected);
}

}  // namespace
}  // namespace moulin
