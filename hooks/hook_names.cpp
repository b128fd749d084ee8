#include "hooks/hook_names.h"

#include <algorithm>
#include <array>
#include <charconv>

#include <fmt/format.h>

#include "core/error.h"

namespace moulin {
namespace {

// Suffixes are unique across model-level and per-block points, so the suffix alone names the point.
std::optional<HookPoint> point_of_suffix(std::string_view suffix) {
  for (std::size_t i = 0; i < kHookPointCount; ++i)
    if (hook_point_suffix(static_cast<HookPoint>(i)) == suffix) return static_cast<HookPoint>(i);
  return std::nullopt;
}

// Edit distance, for "did you mean" suggestions on misspelt hook names.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string closest(std::string_view name, const std::vector<std::string>& candidates) {
  const auto best = std::min_element(candidates.begin(), candidates.end(), [&](const auto& a, const auto& b) {
    return edit_distance(name, a) < edit_distance(name, b);
  });
  return best == candidates.end() ? std::string() : *best;
}

}  // namespace

std::optional<HookAddress> parse_hook_name(std::string_view name) {
  constexpr std::string_view kBlocks = "blocks.";
  if (name.substr(0, kBlocks.size()) != kBlocks) {
    const auto point = point_of_suffix(name);
    if (point && !hook_point_is_per_layer(*point)) return HookAddress{*point, -1};
    return std::nullopt;
  }
  const auto rest = name.substr(kBlocks.size());
  const auto dot = rest.find('.');
  if (dot == std::string_view::npos || dot == 0) return std::nullopt;
  int layer = 0;
  const auto [end, error] = std::from_chars(rest.data(), rest.data() + dot, layer);
  if (error != std::errc() || end != rest.data() + dot || layer < 0) return std::nullopt;
  const auto point = point_of_suffix(rest.substr(dot + 1));
  if (point && hook_point_is_per_layer(*point)) return HookAddress{*point, layer};
  return std::nullopt;
}

std::vector<HookAddress> all_hook_addresses(int layers) {
  std::vector<HookAddress> addresses{{HookPoint::kEmbed, -1}};
  for (int layer = 0; layer < layers; ++layer)
    for (std::size_t i = 0; i < kHookPointCount; ++i)
      if (hook_point_is_per_layer(static_cast<HookPoint>(i))) addresses.push_back({static_cast<HookPoint>(i), layer});
  for (const auto point : {HookPoint::kLnFinalScale, HookPoint::kLnFinalNormalized, HookPoint::kUnembedOut})
    addresses.push_back({point, -1});
  return addresses;
}

std::vector<std::string> all_hook_names(int layers) {
  std::vector<std::string> names;
  for (const auto& address : all_hook_addresses(layers)) names.push_back(hook_point_name(address.point, address.layer));
  return names;
}

HookAddress resolve_hook_name(std::string_view name, int layers) {
  const auto address = parse_hook_name(name);
  if (!address) {
    const auto suggestion = closest(name, all_hook_names(std::max(layers, 1)));
    throw ArgumentError(fmt::format("'{}' is not a hook point name{}", name,
                                    suggestion.empty() ? "" : fmt::format(" (did you mean '{}'?)", suggestion)));
  }
  if (address->layer >= layers)
    throw ArgumentError(fmt::format("'{}': layer {} does not exist, the model has {} blocks", name, address->layer, layers));
  return *address;
}

std::string act_name(std::string_view short_name, int layer, int layers) {
  if (parse_hook_name(short_name)) return std::string(short_name);
  // TransformerLens' abbreviations, mapped to suffixes; "scale"/"normalized" mean ln1 inside a block.
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 24> kShort{{
      {"embed", "hook_embed"}, {"resid_pre", "hook_resid_pre"}, {"resid_mid", "hook_resid_mid"},
      {"resid_post", "hook_resid_post"}, {"attn_out", "hook_attn_out"}, {"mlp_out", "hook_mlp_out"},
      {"q", "attn.hook_q"}, {"k", "attn.hook_k"}, {"v", "attn.hook_v"}, {"rot_q", "attn.hook_rot_q"},
      {"rot_k", "attn.hook_rot_k"}, {"attn_scores", "attn.hook_attn_scores"}, {"scores", "attn.hook_attn_scores"},
      {"pattern", "attn.hook_pattern"}, {"attn", "attn.hook_pattern"}, {"z", "attn.hook_z"},
      {"pre", "mlp.hook_pre"}, {"pre_linear", "mlp.hook_pre_linear"}, {"post", "mlp.hook_post"},
      {"scale", "ln1.hook_scale"}, {"normalized", "ln1.hook_normalized"}, {"ln1_scale", "ln1.hook_scale"},
      {"ln2_scale", "ln2.hook_scale"}, {"logits", "unembed.hook_out"},
  }};
  std::vector<std::string> known;
  for (const auto& [abbreviation, suffix] : kShort) {
    known.emplace_back(abbreviation);
    if (abbreviation != short_name) continue;
    const auto point = point_of_suffix(suffix);
    if (!hook_point_is_per_layer(*point)) return std::string(suffix);
    const int resolved = layer < 0 ? layers + layer : layer;
    if (resolved < 0 || resolved >= layers)
      throw ArgumentError(fmt::format("act_name('{}', {}): the model has {} blocks", short_name, layer, layers));
    return hook_point_name(*point, resolved);
  }
  throw ArgumentError(fmt::format("'{}' is neither a hook point name nor a short form (did you mean '{}'?)", short_name,
                                  closest(short_name, known)));
}

int position_dim(HookPoint point) {
  return point == HookPoint::kAttnScores || point == HookPoint::kAttnPattern ? 2 : 1;
}

int head_dim_index(HookPoint point) {
  switch (point) {
    case HookPoint::kAttnQ: case HookPoint::kAttnK: case HookPoint::kAttnV: case HookPoint::kAttnRotQ:
    case HookPoint::kAttnRotK: case HookPoint::kAttnZ:
      return 2;
    case HookPoint::kAttnScores: case HookPoint::kAttnPattern:
      return 1;
    default:
      return -1;
  }
}

}  // namespace moulin
