#include "store/compression.h"

#include <array>
#include <charconv>
#include <utility>

#include <fmt/format.h>

#include "core/error.h"

namespace moulin {
namespace {

struct KindName {
  CompressionKind kind;
  std::string_view name;
  int default_level;  // 0: takes no level
};
constexpr std::array<KindName, 5> kKinds = {{{CompressionKind::kNone, "none", 0},
                                             {CompressionKind::kGzip, "gzip", 4},
                                             {CompressionKind::kLz4, "lz4", 0},
                                             {CompressionKind::kBloscLz4, "blosc-lz4", 5},
                                             {CompressionKind::kBloscZstd, "blosc-zstd", 5}}};

}  // namespace

Compression Compression::parse(std::string_view text) {
  const auto colon = text.find(':');
  const auto name = text.substr(0, colon);
  for (const auto& kind : kKinds) {
    if (kind.name != name) continue;
    Compression compression{kind.kind, kind.default_level};
    if (colon == std::string_view::npos) return compression;
    const auto level_text = text.substr(colon + 1);
    int level = 0;
    const auto [end, error] = std::from_chars(level_text.data(), level_text.data() + level_text.size(), level);
    if (kind.default_level == 0 || error != std::errc() || end != level_text.data() + level_text.size() || level < 1 ||
        level > 9)
      throw ArgumentError(fmt::format("compression '{}': {}", text,
                                      kind.default_level == 0 ? fmt::format("{} takes no level", name)
                                                              : std::string("the level must be 1 to 9")));
    compression.level = level;
    return compression;
  }
  throw ArgumentError(
      fmt::format("unknown compression '{}' (expected none, gzip[:1-9], lz4, blosc-lz4[:1-9] or blosc-zstd[:1-9])", text));
}

std::string Compression::to_string() const {
  for (const auto& known : kKinds)
    if (known.kind == kind) return known.default_level == 0 ? std::string(known.name) : fmt::format("{}:{}", known.name, level);
  return "?";
}

}  // namespace moulin
