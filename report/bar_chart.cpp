#include "report/bar_chart.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "report/chart_frame.h"
#include "report/number_format.h"

namespace moulin::report {
namespace {

using detail::AxisSide;

constexpr const char* kChart = "bar chart";
constexpr double kGroupShare = 0.8;  // of each category's band; the rest separates the categories

void check_series(const std::vector<std::string>& categories, const std::vector<BarSeries>& series) {
  for (const auto& one : series) {
    if (one.values.size() != categories.size())
      throw ArgumentError(fmt::format("{}: series '{}' has {} values for {} categories", kChart, one.name,
                                      one.values.size(), categories.size()));
    const bool has_interval = !one.lower.empty() || !one.upper.empty();
    if (has_interval && (one.lower.size() != categories.size() || one.upper.size() != categories.size()))
      throw ArgumentError(fmt::format("{}: series '{}' has {} lower and {} upper bounds for {} categories", kChart,
                                      one.name, one.lower.size(), one.upper.size(), categories.size()));
  }
}

// How a bar sits in the plot, whichever way the chart is turned: `along` runs with the categories, `across`
// with the values; both in viewport coordinates.
struct BarGeometry {
  bool horizontal = false;
  double along_start = 0.0;
  double thickness = 0.0;
  double baseline = 0.0;
  double value = 0.0;
};

void draw_bar(SvgWriter& svg, const BarGeometry& bar, const std::string& attributes, const std::string& tooltip) {
  const double near = std::min(bar.baseline, bar.value);
  const double length = std::fabs(bar.value - bar.baseline);
  if (bar.horizontal) {
    svg.rect(near, bar.along_start, length, bar.thickness, attributes, tooltip);
  } else {
    svg.rect(bar.along_start, near, bar.thickness, length, attributes, tooltip);
  }
}

// The interval as a line across the values with a cap at each end.
std::string error_bar_path(const BarGeometry& bar, double lower, double upper) {
  const double middle = bar.along_start + bar.thickness / 2.0;
  const double cap = std::min(bar.thickness * 0.25, 6.0);
  if (bar.horizontal) {
    return fmt::format("M{0} {1}H{2}M{0} {3}V{4}M{2} {3}V{4}", svg_number(lower), svg_number(middle), svg_number(upper),
                       svg_number(middle - cap), svg_number(middle + cap));
  }
  return fmt::format("M{1} {0}V{2}M{3} {0}H{4}M{3} {2}H{4}", svg_number(lower), svg_number(middle), svg_number(upper),
                     svg_number(middle - cap), svg_number(middle + cap));
}

}  // namespace

std::string bar_chart_svg(const std::vector<std::string>& categories, const std::vector<BarSeries>& series,
                          const BarChartOptions& options) {
  detail::check_chart_size(options, kChart);
  check_series(categories, series);
  if (options.tooltip_decimals < 0 || options.tooltip_decimals > 17)
    throw ArgumentError(fmt::format("{}: tooltip_decimals {} is outside 0..17", kChart, options.tooltip_decimals));

  detail::DataRange range;
  for (const auto& one : series) {
    for (const double value : one.values) range.include(value);
    for (const double bound : one.lower) range.include(bound);
    for (const double bound : one.upper) range.include(bound);
  }
  if (categories.empty() || series.empty() || range.empty()) return detail::no_data_chart(options);
  range.include(0.0);  // bars grow from zero

  const bool horizontal = options.orientation == BarOrientation::kHorizontal;
  const AxisSide value_side = horizontal ? AxisSide::kBottom : AxisSide::kLeft;
  const AxisSide category_side = horizontal ? AxisSide::kLeft : AxisSide::kBottom;
  const std::string& value_title = horizontal ? options.x_label : options.y_label;
  const std::string& category_title = horizontal ? options.y_label : options.x_label;
  const ValueAxis axis =
      detail::fitted_axis(range, options.value_min, options.value_max, AxisScale::kLinear, kChart, "value");

  std::vector<detail::LegendEntry> legend;
  if (series.size() > 1)
    for (std::size_t i = 0; i < series.size(); ++i) legend.push_back({series[i].name, detail::series_colour(i)});

  // Lay out the side whose size does not depend on the category labels first, then fit the labels.
  detail::Margins margins;
  margins.top = detail::title_height(options);
  margins.right = legend.empty() ? 16.0 : detail::legend_width(legend) + 16.0;
  const double count = static_cast<double>(categories.size());
  detail::CategoryLabelLayout labels;
  if (horizontal) {
    margins.bottom = detail::value_axis_extent(axis, value_side, value_title) + 4.0;
    const double band = (options.height - margins.top - margins.bottom) / count;
    labels = detail::layout_category_labels(categories, band, 0.4 * options.width, category_side, category_title);
    margins.left = labels.extent + 6.0;
  } else {
    margins.left = detail::value_axis_extent(axis, value_side, value_title) + 6.0;
    const double band = (options.width - margins.left - margins.right) / count;
    labels = detail::layout_category_labels(categories, band, 0.4 * options.height, category_side, category_title);
    margins.bottom = labels.extent + 4.0;
  }
  const detail::PlotArea area = detail::plot_area(options, margins, kChart);
  const detail::PlotArea local{0.0, 0.0, area.width, area.height};

  SvgWriter svg = detail::start_chart(options);
  detail::draw_value_axis(svg, axis, area, value_side, value_title);
  svg.open_viewport(area.x, area.y, area.width, area.height, "class=\"plot-area\"");
  const double band = (horizontal ? area.height : area.width) / count;
  const double thickness = band * kGroupShare / static_cast<double>(series.size());
  const double baseline = detail::axis_position(axis, local, value_side, std::clamp(0.0, axis.min, axis.max));
  const auto position = [&](double value) { return detail::axis_position(axis, local, value_side, value); };
  const auto shown = [&](double value) { return format_number(value, options.tooltip_decimals); };
  for (std::size_t s = 0; s < series.size(); ++s) {
    const BarSeries& one = series[s];
    const std::string bar_attributes = fmt::format("class=\"bar\" fill=\"{}\"", detail::series_colour(s));
    for (std::size_t c = 0; c < categories.size(); ++c) {
      BarGeometry bar{horizontal,
                      band * (static_cast<double>(c) + (1.0 - kGroupShare) / 2.0) + thickness * static_cast<double>(s),
                      thickness, baseline, baseline};
      const std::string subject = series.size() > 1 ? categories[c] + " / " + one.name : categories[c];
      if (!std::isfinite(one.values[c])) {
        const double middle = bar.along_start + thickness / 2.0;
        const std::string attributes =
            "class=\"missing-value\" text-anchor=\"middle\" font-size=\"10\" fill=\"#777777\"";
        if (horizontal) {
          svg.text(baseline + 14.0, middle + 3.5, "n/a", attributes);
        } else {
          svg.text(middle, baseline > 14.0 ? baseline - 4.0 : baseline + 12.0, "n/a", attributes);
        }
        continue;
      }
      bar.value = position(one.values[c]);
      const bool has_interval = !one.lower.empty() && std::isfinite(one.lower[c]) && std::isfinite(one.upper[c]);
      const std::string tooltip = has_interval ? fmt::format("{}: {} [{}, {}]", subject, shown(one.values[c]),
                                                             shown(one.lower[c]), shown(one.upper[c]))
                                               : fmt::format("{}: {}", subject, shown(one.values[c]));
      draw_bar(svg, bar, bar_attributes, tooltip);
      if (has_interval)
        svg.path(error_bar_path(bar, position(one.lower[c]), position(one.upper[c])),
                 "class=\"error-bar\" fill=\"none\" stroke=\"#222222\" stroke-width=\"1.2\"");
    }
  }
  svg.close();
  detail::draw_category_axis(svg, categories, area, category_side, labels, category_title);
  if (!legend.empty()) detail::draw_legend(svg, legend, area.right() + 12.0, area.y);
  return svg.finish();
}

}  // namespace moulin::report
