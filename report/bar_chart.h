#pragma once
// Bar charts: a value per category for one or more series (grouped bars), with optional intervals drawn as
// error bars — e.g. the switch rate of each trigger candidate with its 95% Wilson interval.
#include <optional>
#include <string>
#include <vector>

#include "report/chart_options.h"

namespace moulin::report {

struct BarSeries {
  std::string name;
  std::vector<double> values;  // one per category; NaN or an infinity means missing: no bar, "n/a" instead
  // An interval per category (absolute bounds, not distances from the value), or both empty for none.
  // A non-finite bound leaves that bar without an error bar.
  std::vector<double> lower;
  std::vector<double> upper;
};

enum class BarOrientation {
  kVertical,    // categories along the bottom
  kHorizontal,  // categories down the left, first at the top: for long labels and ranked lists (top-20)
};

struct BarChartOptions : ChartOptions {
  // x_label titles the horizontal axis and y_label the vertical one, whichever holds the categories.
  BarOrientation orientation = BarOrientation::kVertical;
  // Fixed ends of the value axis (a rate: 0 and 1); unset ends follow the data, which always includes 0.
  std::optional<double> value_min;
  std::optional<double> value_max;
  int tooltip_decimals = 3;  // digits of the values shown on hover
};

// Throws ArgumentError when a series' values, lower or upper bounds do not give one per category, or the
// options are out of range. No categories, no series or no finite value gives a "no data" chart.
std::string bar_chart_svg(const std::vector<std::string>& categories, const std::vector<BarSeries>& series,
                          const BarChartOptions& options = {});

}  // namespace moulin::report
