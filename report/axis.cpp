#include "report/axis.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "report/number_format.h"

namespace moulin::report {
namespace {

void check_range(double low, double high, const char* function) {
  if (!std::isfinite(low) || !std::isfinite(high) || low > high)
    throw ArgumentError(fmt::format("{}: range [{}, {}] is not a finite, ordered range", function, low, high));
  if (!std::isfinite(high - low))
    throw ArgumentError(fmt::format("{}: range [{}, {}] is too wide to draw", function, low, high));
}

// The round step (1, 2 or 5 × 10^k) closest above `rough`.
double nice_step(double rough) {
  const double power = std::pow(10.0, std::floor(std::log10(rough)));
  const double mantissa = rough / power;
  const double nice = mantissa <= 1.0 ? 1.0 : mantissa <= 2.0 ? 2.0 : mantissa <= 5.0 ? 5.0 : 10.0;
  return nice * power;
}

// Widens a degenerate range so a constant series still gets a readable axis.
void widen_degenerate(double& low, double& high) {
  if (high > low) return;
  const double half_width = low == 0.0 ? 1.0 : std::fabs(low) * 0.5;
  low -= half_width;
  high += half_width;
}

// Multiples of `step` in [first, last], computed by index (not by accumulation) and snapped, so labels never
// read 0.30000000000000004 or -0.
std::vector<double> ticks_between(double first, double last, double step) {
  std::vector<double> ticks;
  const auto first_index = static_cast<long long>(std::ceil(first / step - 1e-9));
  const auto last_index = static_cast<long long>(std::floor(last / step + 1e-9));
  for (long long i = first_index; i <= last_index; ++i) {
    double tick = static_cast<double>(i) * step;
    if (std::fabs(tick) < step * 1e-9) tick = 0.0;
    ticks.push_back(tick);
  }
  return ticks;
}

}  // namespace

double ValueAxis::fraction(double value) const {
  if (!std::isfinite(value)) return std::nan("");
  if (scale == AxisScale::kLog) {
    if (value <= 0.0) return std::nan("");
    return (std::log10(value) - std::log10(min)) / (std::log10(max) - std::log10(min));
  }
  return (value - min) / (max - min);
}

std::string ValueAxis::tick_label(double tick) const {
  if (scale == AxisScale::kLog) {
    const double exponent = std::log10(tick);
    if (std::fabs(exponent - std::round(exponent)) < 1e-9 && (exponent < -3.5 || exponent > 5.5))
      return fmt::format("1e{}", static_cast<int>(std::round(exponent)));
    return fmt::format("{:g}", tick);
  }
  const double largest = std::max(std::fabs(min), std::fabs(max));
  if (largest >= 1e6 || tick_step < 1e-4) return fmt::format("{:.3g}", tick);
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(tick_step) + 1e-9)));
  return format_number(tick, decimals);
}

ValueAxis linear_axis(double low, double high, int target_ticks) {
  check_range(low, high, "linear_axis");
  if (target_ticks < 2) throw ArgumentError(fmt::format("linear_axis: target_ticks {} is below 2", target_ticks));
  widen_degenerate(low, high);
  const double step = nice_step((high - low) / (target_ticks - 1));
  ValueAxis axis;
  axis.min = std::floor(low / step + 1e-9) * step;
  axis.max = std::ceil(high / step - 1e-9) * step;
  axis.tick_step = step;
  axis.ticks = ticks_between(axis.min, axis.max, step);
  return axis;
}

ValueAxis linear_axis_exact(double low, double high, int target_ticks) {
  check_range(low, high, "linear_axis_exact");
  if (target_ticks < 2) throw ArgumentError(fmt::format("linear_axis_exact: target_ticks {} is below 2", target_ticks));
  widen_degenerate(low, high);
  const double step = nice_step((high - low) / (target_ticks - 1));
  ValueAxis axis;
  axis.min = low;
  axis.max = high;
  axis.tick_step = step;
  axis.ticks = ticks_between(low, high, step);
  return axis;
}

ValueAxis log_axis(double low, double high) {
  check_range(low, high, "log_axis");
  if (low <= 0.0) throw ArgumentError(fmt::format("log_axis: low end {} is not positive", low));
  double log_low = std::log10(low);
  double log_high = std::log10(high);
  if (log_high - log_low < 1e-9) {
    log_low -= 0.5;
    log_high += 0.5;
  }
  const double margin = 0.03 * (log_high - log_low);
  ValueAxis axis;
  axis.scale = AxisScale::kLog;
  axis.min = std::pow(10.0, log_low - margin);
  axis.max = std::pow(10.0, log_high + margin);

  const int first_decade = static_cast<int>(std::floor(log_low - margin));
  const int last_decade = static_cast<int>(std::ceil(log_high + margin));
  const auto ticks_with = [&](std::initializer_list<double> multiples, int decade_stride) {
    std::vector<double> ticks;
    for (int decade = first_decade; decade <= last_decade; ++decade) {
      if (decade % decade_stride != 0) continue;
      for (const double multiple : multiples) {
        const double tick = multiple * std::pow(10.0, decade);
        if (tick >= axis.min * (1 - 1e-9) && tick <= axis.max * (1 + 1e-9)) ticks.push_back(tick);
      }
    }
    return ticks;
  };
  axis.ticks = ticks_with({1, 2, 5}, 1);
  if (axis.ticks.size() < 3) axis.ticks = ticks_with({1, 2, 3, 4, 5, 6, 7, 8, 9}, 1);
  if (axis.ticks.size() > 10) {
    int stride = 1;
    do {
      axis.ticks = ticks_with({1}, stride++);
    } while (axis.ticks.size() > 8);
  }
  return axis;
}

}  // namespace moulin::report
