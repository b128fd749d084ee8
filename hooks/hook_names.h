#pragma once
// Hook point names: parsing "blocks.3.attn.hook_z" back to (point, layer), enumerating a model's points in
// forward order, and TransformerLens' short forms ("resid_post", 3 -> "blocks.3.hook_resid_post").
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/hook_points.h"

namespace moulin {

struct HookAddress {
  HookPoint point;
  int layer;  // -1 for model-level points
  bool operator==(const HookAddress& other) const { return point == other.point && layer == other.layer; }
};

// nullopt when `name` is not a hook point name (layer range is not checked here).
std::optional<HookAddress> parse_hook_name(std::string_view name);
// Every hook point of a model with `layers` blocks, in the order the forward pass reaches them.
std::vector<HookAddress> all_hook_addresses(int layers);
std::vector<std::string> all_hook_names(int layers);
// TransformerLens' get_act_name: "resid_post", "attn_out", "z", "pattern", "q", "scale", "normalized"...
// (`layer` may be negative, counted from the end). Full names pass through unchanged. Throws ArgumentError for
// unknown names, suggesting the closest known one.
std::string act_name(std::string_view short_name, int layer, int layers);
// Resolves a full name against a model with `layers` blocks, throwing ArgumentError (with a suggestion) for
// unknown names and layers out of range.
HookAddress resolve_hook_name(std::string_view name, int layers);
// The dimension of the activation that indexes positions (queries, for scores and patterns).
int position_dim(HookPoint point);
// The dimension that indexes heads, or -1 for points without heads.
int head_dim_index(HookPoint point);

}  // namespace moulin
