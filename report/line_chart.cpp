#include "report/line_chart.h"

#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "report/chart_frame.h"

namespace moulin::report {
namespace {

using detail::AxisSide;

constexpr const char* kChart = "line chart";

bool drawable(double x, double y, AxisScale y_scale) {
  return std::isfinite(x) && std::isfinite(y) && (y_scale == AxisScale::kLinear || y > 0.0);
}

// Enough digits to tell neighbouring points apart in a tooltip, without printing 17.
std::string tooltip_number(double value) { return fmt::format("{:.6g}", value); }

}  // namespace

LineSeries LineSeries::indexed(std::string name, std::vector<double> y, double first_x) {
  LineSeries series{std::move(name), {}, std::move(y)};
  series.x.reserve(series.y.size());
  for (std::size_t i = 0; i < series.y.size(); ++i) series.x.push_back(first_x + static_cast<double>(i));
  return series;
}

std::string line_chart_svg(const std::vector<LineSeries>& series, const LineChartOptions& options) {
  detail::check_chart_size(options, kChart);
  detail::DataRange x_range;
  detail::DataRange y_range;
  for (const auto& one : series) {
    if (one.x.size() != one.y.size())
      throw ArgumentError(
          fmt::format("{}: series '{}' has {} x values and {} y values", kChart, one.name, one.x.size(), one.y.size()));
    for (std::size_t i = 0; i < one.x.size(); ++i) {
      if (!drawable(one.x[i], one.y[i], options.y_scale)) continue;
      x_range.include(one.x[i]);
      y_range.include(one.y[i]);
    }
  }
  if (x_range.empty()) return detail::no_data_chart(options);
  // x runs over the data and a 2% margin (layers 0..31 should not leave an empty stretch up to 40, nor cut the
  // end markers in half); y is rounded out to ticks.
  std::optional<double> x_min = options.x_min;
  std::optional<double> x_max = options.x_max;
  if (x_range.low < x_range.high) {
    const double margin = 0.02 * (x_range.high - x_range.low);
    // A derived end must not cross an end the caller fixed beyond the data (fitted_axis handles that case).
    if (!x_min && (!x_max || *x_max > x_range.low - margin)) x_min = x_range.low - margin;
    if (!options.x_max && (!x_min || *x_min < x_range.high + margin)) x_max = x_range.high + margin;
  }
  const ValueAxis x_axis = detail::fitted_axis(x_range, x_min, x_max, AxisScale::kLinear, kChart, "x");
  const ValueAxis y_axis = detail::fitted_axis(y_range, options.y_min, options.y_max, options.y_scale, kChart, "y");

  std::vector<detail::LegendEntry> legend;
  if (series.size() > 1)
    for (std::size_t i = 0; i < series.size(); ++i)
      legend.push_back({series[i].name, detail::series_colour(i), /*as_line=*/true});

  detail::Margins margins;
  margins.top = detail::title_height(options);
  margins.left = detail::value_axis_extent(y_axis, AxisSide::kLeft, options.y_label) + 6.0;
  margins.bottom = detail::value_axis_extent(x_axis, AxisSide::kBottom, options.x_label) + 4.0;
  margins.right = legend.empty() ? 20.0 : detail::legend_width(legend) + 16.0;
  const detail::PlotArea area = detail::plot_area(options, margins, kChart);
  const detail::PlotArea local{0.0, 0.0, area.width, area.height};

  SvgWriter svg = detail::start_chart(options);
  detail::draw_value_axis(svg, y_axis, area, AxisSide::kLeft, options.y_label);
  detail::draw_value_axis(svg, x_axis, area, AxisSide::kBottom, options.x_label);
  svg.open_viewport(area.x, area.y, area.width, area.height, "class=\"plot-area\"");
  for (std::size_t s = 0; s < series.size(); ++s) {
    const LineSeries& one = series[s];
    const std::string colour = detail::series_colour(s);
    // One path for the whole series; a point that cannot be drawn ends the current stretch, so it shows as a gap.
    std::string data;
    std::size_t drawable_points = 0;
    bool in_stretch = false;
    for (std::size_t i = 0; i < one.x.size(); ++i) {
      if (!drawable(one.x[i], one.y[i], options.y_scale)) {
        in_stretch = false;
        continue;
      }
      const double x = detail::axis_position(x_axis, local, AxisSide::kBottom, one.x[i]);
      const double y = detail::axis_position(y_axis, local, AxisSide::kLeft, one.y[i]);
      data += fmt::format("{}{} {}", in_stretch ? 'L' : 'M', svg_number(x), svg_number(y));
      in_stretch = true;
      ++drawable_points;
    }
    if (drawable_points == 0) continue;
    svg.path(data, fmt::format("class=\"series-line\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" "
                               "stroke-linejoin=\"round\" stroke-linecap=\"round\"",
                               colour));
    if (!options.markers || drawable_points > kMaxMarkedPoints) continue;
    const std::string point_attributes = fmt::format("class=\"point\" fill=\"{}\"", colour);
    for (std::size_t i = 0; i < one.x.size(); ++i) {
      if (!drawable(one.x[i], one.y[i], options.y_scale)) continue;
      const std::string prefix = series.size() > 1 ? one.name + ": " : std::string();
      svg.circle(detail::axis_position(x_axis, local, AxisSide::kBottom, one.x[i]),
                 detail::axis_position(y_axis, local, AxisSide::kLeft, one.y[i]), 3.0, point_attributes,
                 fmt::format("{}({}, {})", prefix, tooltip_number(one.x[i]), tooltip_number(one.y[i])));
    }
  }
  svg.close();
  if (!legend.empty()) detail::draw_legend(svg, legend, area.right() + 12.0, area.y);
  return svg.finish();
}

}  // namespace moulin::report
