#include "store/windows.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"

namespace moulin {

PositionSelection PositionSelection::parse(std::string_view text) {
  if (text == "all") return {};
  if (text == "last") return {false, {-1}};
  PositionSelection selection{false, {}};
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = std::min(text.find(',', start), text.size());
    const auto item = text.substr(start, comma - start);
    std::int64_t position = 0;
    const auto [end, error] = std::from_chars(item.data(), item.data() + item.size(), position);
    if (item.empty() || error != std::errc() || end != item.data() + item.size())
      throw ArgumentError(fmt::format("positions: expected all, last or a list of integers like 0,5,-1; '{}' is not an "
                                      "integer",
                                      item));
    selection.list.push_back(position);
    start = comma + 1;
  }
  return selection;
}

std::string PositionSelection::to_string() const {
  if (all) return "all";
  if (list == std::vector<std::int64_t>{-1}) return "last";
  return fmt::format("{}", fmt::join(list, ","));
}

void check_window_options(const WindowOptions& options) {
  if (options.context_length < 1)
    throw ArgumentError(fmt::format("context length must be at least 1, got {}", options.context_length));
  if (options.overlap < 0 || options.overlap >= options.context_length)
    throw ArgumentError(fmt::format("overlap must be in [0, context length {}), got {}", options.context_length,
                                    options.overlap));
}

std::vector<std::int64_t> kept_positions(std::int64_t length, const PositionSelection& selection) {
  std::vector<std::int64_t> kept;
  if (selection.all) {
    kept.resize(static_cast<std::size_t>(length));
    for (std::int64_t i = 0; i < length; ++i) kept[static_cast<std::size_t>(i)] = i;
    return kept;
  }
  for (const auto entry : selection.list) {
    const auto position = entry < 0 ? length + entry : entry;
    if (position >= 0 && position < length) kept.push_back(position);
  }
  std::sort(kept.begin(), kept.end());
  kept.erase(std::unique(kept.begin(), kept.end()), kept.end());
  return kept;
}

std::vector<Window> plan_windows(std::int64_t length, const std::vector<std::int64_t>& kept, const WindowOptions& options) {
  check_window_options(options);
  std::vector<Window> windows;
  std::size_t next = 0;  // first kept position not yet assigned to a window
  // Window k computes [begin, begin + context) and owns the tokens after the previous window's end.
  for (std::int64_t begin = 0, owned_from = 0; owned_from < length && next < kept.size();) {
    const auto end = std::min(length, begin + options.context_length);
    Window window{begin, end, next, 0};
    while (next < kept.size() && kept[next] < end) {
      ++window.kept_count;
      ++next;
    }
    if (window.kept_count > 0) {
      window.end = kept[next - 1] + 1;
      windows.push_back(window);
    }
    owned_from = end;
    begin = end - options.overlap;
  }
  return windows;
}

}  // namespace moulin
