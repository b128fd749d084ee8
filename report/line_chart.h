#pragma once
// Line charts of one or more series: loss curves, per-layer AUROC, switch rate against steering strength.
#include <optional>
#include <string>
#include <vector>

#include "report/axis.h"
#include "report/chart_options.h"

namespace moulin::report {

struct LineSeries {
  std::string name;
  std::vector<double> x;
  std::vector<double> y;  // one per x; a NaN or infinite point (or y <= 0 on a log axis) leaves a gap

  // y against 0, 1, 2... (layers, steps), or against first_x, first_x + 1...
  static LineSeries indexed(std::string name, std::vector<double> y, double first_x = 0.0);
};

struct LineChartOptions : ChartOptions {
  AxisScale y_scale = AxisScale::kLinear;
  // A dot on each point, for series of at most kMaxMarkedPoints points (beyond, dots hide the line).
  bool markers = true;
  std::optional<double> x_min;
  std::optional<double> x_max;
  std::optional<double> y_min;
  std::optional<double> y_max;
};

inline constexpr std::size_t kMaxMarkedPoints = 200;

// Throws ArgumentError when a series' x and y differ in length or the options are out of range (a log axis
// end <= 0...). No series or no drawable point gives a "no data" chart.
std::string line_chart_svg(const std::vector<LineSeries>& series, const LineChartOptions& options = {});

}  // namespace moulin::report
