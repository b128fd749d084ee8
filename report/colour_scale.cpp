#include "report/colour_scale.h"

#include <algorithm>
#include <array>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"

namespace moulin::report {
namespace {

// Five evenly spaced stops, interpolated linearly in sRGB: enough for a smooth ramp at heatmap cell sizes.
using Stops = std::array<Rgb, 5>;
constexpr Stops kSequentialStops = {
    {{0x44, 0x01, 0x54}, {0x3b, 0x52, 0x8b}, {0x21, 0x91, 0x8c}, {0x5e, 0xc9, 0x62}, {0xfd, 0xe7, 0x25}}};
constexpr Stops kDivergingStops = {
    {{0x21, 0x66, 0xac}, {0x67, 0xa9, 0xcf}, {0xf7, 0xf7, 0xf7}, {0xef, 0x8a, 0x62}, {0xb2, 0x18, 0x2b}}};

// The colour at position t in [0, 1] along the stops.
Rgb interpolate(const Stops& stops, double t) {
  t = std::clamp(t, 0.0, 1.0);
  const double scaled = t * static_cast<double>(stops.size() - 1);
  const auto index = std::min(static_cast<std::size_t>(scaled), stops.size() - 2);
  const double within = scaled - static_cast<double>(index);
  const auto mix = [within](std::uint8_t a, std::uint8_t b) {
    return static_cast<std::uint8_t>(std::lround(a + (static_cast<double>(b) - a) * within));
  };
  const Rgb& from = stops[index];
  const Rgb& to = stops[index + 1];
  return {mix(from.red, to.red), mix(from.green, to.green), mix(from.blue, to.blue)};
}

}  // namespace

std::string Rgb::hex() const { return fmt::format("#{:02x}{:02x}{:02x}", red, green, blue); }

Rgb Rgb::contrasting_text() const {
  // Rec. 601 luma: cheap and good enough to choose between black and white.
  const double luma = 0.299 * red + 0.587 * green + 0.114 * blue;
  return luma < 140.0 ? Rgb{255, 255, 255} : Rgb{0, 0, 0};
}

ColourScale::ColourScale(ColourScaleKind kind, double low, double centre, double high)
    : kind_(kind), low_(low), centre_(centre), high_(high) {
  if (!std::isfinite(low) || !std::isfinite(centre) || !std::isfinite(high) || low > centre || centre > high)
    throw ArgumentError(
        fmt::format("colour scale: low {}, centre {}, high {} must be finite and ordered", low, centre, high));
}

ColourScale ColourScale::sequential(double low, double high) {
  return {ColourScaleKind::kSequential, low, low + (high - low) / 2, high};
}

ColourScale ColourScale::diverging(double low, double centre, double high) {
  return {ColourScaleKind::kDiverging, low, centre, high};
}

Rgb ColourScale::missing_colour() { return {0xd9, 0xd9, 0xd9}; }

Rgb ColourScale::colour(double value) const {
  if (!std::isfinite(value)) return missing_colour();
  if (kind_ == ColourScaleKind::kSequential) {
    if (high_ == low_) return interpolate(kSequentialStops, 0.5);
    return interpolate(kSequentialStops, (value - low_) / (high_ - low_));
  }
  if (value < centre_) {
    if (centre_ == low_) return interpolate(kDivergingStops, 0.0);
    return interpolate(kDivergingStops, 0.5 * std::max(0.0, (value - low_) / (centre_ - low_)));
  }
  if (value > centre_) {
    if (high_ == centre_) return interpolate(kDivergingStops, 1.0);
    return interpolate(kDivergingStops, 0.5 + 0.5 * std::min(1.0, (value - centre_) / (high_ - centre_)));
  }
  return interpolate(kDivergingStops, 0.5);
}

}  // namespace moulin::report
