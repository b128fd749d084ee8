#pragma once
// Colour scales for heatmaps: sequential for magnitudes (AUROC, attention), diverging for signed effects
// (activation patching recovers or destroys the behaviour) so that zero reads as neutral.
#include <cstdint>
#include <string>

namespace moulin::report {

struct Rgb {
  std::uint8_t red = 0;
  std::uint8_t green = 0;
  std::uint8_t blue = 0;

  std::string hex() const;  // "#rrggbb"
  // Black or white, whichever reads better on this colour.
  Rgb contrasting_text() const;
  friend bool operator==(const Rgb& a, const Rgb& b) {
    return a.red == b.red && a.green == b.green && a.blue == b.blue;
  }
  friend bool operator!=(const Rgb& a, const Rgb& b) { return !(a == b); }
};

enum class ColourScaleKind { kSequential, kDiverging };

class ColourScale {
 public:
  // Dark purple at `low` through teal to yellow at `high` (viridis-like: perceptually ordered, readable in
  // greyscale and by colour-blind readers).
  static ColourScale sequential(double low, double high);
  // Blue at `low`, near-white at `centre`, red at `high`; each half is scaled on its own, so an asymmetric range
  // still puts the neutral colour at `centre`.
  static ColourScale diverging(double low, double centre, double high);

  // Values outside [low, high] take the end colours; NaN and infinities take missing_colour().
  Rgb colour(double value) const;
  static Rgb missing_colour();

  ColourScaleKind kind() const { return kind_; }
  double low() const { return low_; }
  double centre() const { return centre_; }
  double high() const { return high_; }

 private:
  ColourScale(ColourScaleKind kind, double low, double centre, double high);
  ColourScaleKind kind_;
  double low_;
  double centre_;
  double high_;
};

}  // namespace moulin::report
