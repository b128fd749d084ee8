#pragma once
// Value axes: the range a chart shows and where its ticks go, at round values a reader can interpolate between.
#include <string>
#include <vector>

namespace moulin::report {

enum class AxisScale { kLinear, kLog };

struct ValueAxis {
  double min = 0.0;
  double max = 1.0;
  AxisScale scale = AxisScale::kLinear;
  std::vector<double> ticks;  // ascending, inside [min, max]
  double tick_step = 1.0;     // linear axes: the spacing of `ticks`, which sets how many decimals labels show

  // Where `value` falls along the axis: 0 at min, 1 at max, outside [0, 1] when out of range; NaN for values
  // the axis cannot place (non-finite, or not positive on a log axis).
  double fraction(double value) const;
  std::string tick_label(double tick) const;
};

// A linear axis covering [low, high], widened to the nearest ticks, spaced 1, 2 or 5 × 10^k with about
// `target_ticks` ticks. A degenerate range (low == high) is widened around the value.
// Throws ArgumentError when low or high is not finite, low > high, or target_ticks < 2.
ValueAxis linear_axis(double low, double high, int target_ticks = 6);

// A linear axis exactly [low, high] (for colour bars), with the round ticks that fall inside it.
ValueAxis linear_axis_exact(double low, double high, int target_ticks = 5);

// A log-10 axis covering [low, high] (both > 0) with a little margin; ticks at 1, 2 and 5 × 10^k, thinned to
// powers of ten (or every few decades) when the range is wide. Throws ArgumentError when low <= 0.
ValueAxis log_axis(double low, double high);

}  // namespace moulin::report
