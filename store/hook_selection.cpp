#include "store/hook_selection.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"

namespace moulin {
namespace {

bool is_attention_matrix(HookPoint point) { return point == HookPoint::kAttnScores || point == HookPoint::kAttnPattern; }

bool is_pattern(const std::string& text) { return text.find_first_of("*?") != std::string::npos; }

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative matching with backtracking to the last `*`: linear in practice, no recursion.
  std::size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::vector<HookAddress> select_dump_hooks(const std::vector<std::string>& patterns, int layers) {
  if (patterns.empty()) throw ArgumentError("no hook points to dump: give at least one name or pattern");
  const auto all = all_hook_addresses(layers);
  std::vector<bool> chosen(all.size(), false);
  for (const auto& pattern : patterns) {
    if (!is_pattern(pattern)) {
      const HookAddress address = resolve_hook_name(pattern, layers);
      if (is_attention_matrix(address.point))
        throw ArgumentError(fmt::format("cannot dump {}: stores keep one row per token, and attention matrices have a "
                                        "row per query and key (use run_with_cache for them)",
                                        pattern));
      chosen[static_cast<std::size_t>(std::find(all.begin(), all.end(), address) - all.begin())] = true;
      continue;
    }
    bool matched = false;
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (is_attention_matrix(all[i].point)) continue;
      if (glob_match(pattern, hook_point_name(all[i].point, all[i].layer))) chosen[i] = matched = true;
    }
    if (!matched)
      throw ArgumentError(fmt::format("hook pattern '{}' matches no hook point of this {}-block model (example: "
                                      "blocks.*.hook_resid_post)",
                                      pattern, layers));
  }
  std::vector<HookAddress> selected;
  for (std::size_t i = 0; i < all.size(); ++i)
    if (chosen[i]) selected.push_back(all[i]);
  return selected;
}

}  // namespace moulin
