#include "report/histogram.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "report/chart_frame.h"

namespace moulin::report {
namespace {

using detail::AxisSide;

constexpr const char* kChart = "histogram";
constexpr int kMaxBins = 10000;

std::size_t finite_count(const std::vector<double>& values) {
  return static_cast<std::size_t>(
      std::count_if(values.begin(), values.end(), [](double value) { return std::isfinite(value); }));
}

std::string tooltip_number(double value) { return fmt::format("{:.4g}", value); }

}  // namespace

std::vector<std::size_t> histogram_counts(const std::vector<double>& values, double low, double high, int bins) {
  if (bins < 1) throw ArgumentError(fmt::format("histogram_counts: bins {} is below 1", bins));
  if (!std::isfinite(low) || !std::isfinite(high) || !(low < high) || !std::isfinite(high - low))
    throw ArgumentError(
        fmt::format("histogram_counts: range [{}, {}] is not a finite range with low < high", low, high));
  std::vector<std::size_t> counts(static_cast<std::size_t>(bins), 0);
  const double width = (high - low) / bins;
  for (const double value : values) {
    if (!(value >= low && value <= high)) continue;  // also drops NaN
    const auto bin = std::min(static_cast<std::size_t>((value - low) / width), counts.size() - 1);
    ++counts[bin];
  }
  return counts;
}

std::string histogram_svg(const std::vector<HistogramSeries>& series, const HistogramOptions& options) {
  detail::check_chart_size(options, kChart);
  if (options.bins < 1 || options.bins > kMaxBins)
    throw ArgumentError(fmt::format("{}: bins {} is outside 1..{}", kChart, options.bins, kMaxBins));
  for (const auto& [name, end] : {std::pair{"range_min", options.range_min}, std::pair{"range_max", options.range_max}})
    if (end && !std::isfinite(*end))
      throw ArgumentError(fmt::format("{}: {} is {}, not a finite number", kChart, name, *end));
  if (options.range_min && options.range_max && *options.range_min >= *options.range_max)
    throw ArgumentError(
        fmt::format("{}: range_min {} is not below range_max {}", kChart, *options.range_min, *options.range_max));

  detail::DataRange data;
  for (const auto& one : series)
    for (const double value : one.values) data.include(value);
  if (data.empty()) return detail::no_data_chart(options);
  double low = options.range_min.value_or(data.low);
  double high = options.range_max.value_or(data.high);
  if (low >= high) {
    // All values equal (or a fixed end beyond them): give the single bar some width around the value.
    const double half_width = low == 0.0 ? 0.5 : std::fabs(low) * 0.05;
    if (options.range_max) {
      low = high - 2.0 * half_width;
    } else if (options.range_min) {
      high = low + 2.0 * half_width;
    } else {
      low -= half_width;
      high += half_width;
    }
  }

  const double bin_width = (high - low) / options.bins;
  std::vector<std::vector<double>> heights;
  detail::DataRange height_range{0.0, 0.0};
  for (const auto& one : series) {
    const auto counts = histogram_counts(one.values, low, high, options.bins);
    std::size_t total = 0;
    for (const auto count : counts) total += count;
    std::vector<double> series_heights;
    for (const auto count : counts) {
      const double height =
          options.density ? (total == 0 ? 0.0 : static_cast<double>(count) / (static_cast<double>(total) * bin_width))
                          : static_cast<double>(count);
      series_heights.push_back(height);
      height_range.include(height);
    }
    heights.push_back(std::move(series_heights));
  }
  if (height_range.high == 0.0) height_range.high = 1.0;  // every value outside a fixed range

  const std::string y_label = options.y_label.empty() ? (options.density ? "density" : "count") : options.y_label;
  const ValueAxis x_axis = detail::fitted_axis({low, high}, low, high, AxisScale::kLinear, kChart, "x");
  const ValueAxis y_axis = detail::fitted_axis(height_range, 0.0, std::nullopt, AxisScale::kLinear, kChart, "y");

  std::vector<detail::LegendEntry> legend;
  if (series.size() > 1)
    for (std::size_t i = 0; i < series.size(); ++i)
      legend.push_back(
          {fmt::format("{} (n={})", series[i].name, finite_count(series[i].values)), detail::series_colour(i)});

  detail::Margins margins;
  margins.top = detail::title_height(options);
  margins.left = detail::value_axis_extent(y_axis, AxisSide::kLeft, y_label) + 6.0;
  margins.bottom = detail::value_axis_extent(x_axis, AxisSide::kBottom, options.x_label) + 4.0;
  margins.right = legend.empty() ? 20.0 : detail::legend_width(legend) + 16.0;
  const detail::PlotArea area = detail::plot_area(options, margins, kChart);
  const detail::PlotArea local{0.0, 0.0, area.width, area.height};

  SvgWriter svg = detail::start_chart(options);
  detail::draw_value_axis(svg, y_axis, area, AxisSide::kLeft, y_label);
  detail::draw_value_axis(svg, x_axis, area, AxisSide::kBottom, options.x_label);
  svg.open_viewport(area.x, area.y, area.width, area.height, "class=\"plot-area\"");
  // Overlaid series are translucent so that where they overlap both stay visible.
  const double opacity = series.size() > 1 ? 0.5 : 0.85;
  const double baseline = detail::axis_position(y_axis, local, AxisSide::kLeft, 0.0);
  for (std::size_t s = 0; s < series.size(); ++s) {
    const std::string colour = detail::series_colour(s);
    const std::string attributes =
        fmt::format("class=\"bar\" fill=\"{0}\" fill-opacity=\"{1}\" stroke=\"{0}\" stroke-width=\"1\"", colour,
                    svg_number(opacity));
    for (int bin = 0; bin < options.bins; ++bin) {
      const double height = heights[s][static_cast<std::size_t>(bin)];
      if (height <= 0.0) continue;
      const double bin_low = low + bin * bin_width;
      const double bin_high = bin == options.bins - 1 ? high : bin_low + bin_width;
      const double left = detail::axis_position(x_axis, local, AxisSide::kBottom, bin_low);
      const double right = detail::axis_position(x_axis, local, AxisSide::kBottom, bin_high);
      const double top = detail::axis_position(y_axis, local, AxisSide::kLeft, height);
      const std::string prefix = series.size() > 1 ? series[s].name + ": " : std::string();
      svg.rect(left, top, right - left, baseline - top, attributes,
               fmt::format("{}[{}, {}{}: {}", prefix, tooltip_number(bin_low), tooltip_number(bin_high),
                           bin == options.bins - 1 ? "]" : ")", tooltip_number(height)));
    }
  }
  svg.close();
  if (!legend.empty()) detail::draw_legend(svg, legend, area.right() + 12.0, area.y);
  return svg.finish();
}

}  // namespace moulin::report
