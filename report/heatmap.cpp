#include "report/heatmap.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "report/axis.h"
#include "report/chart_frame.h"
#include "report/number_format.h"

namespace moulin::report {
namespace {

using detail::AxisSide;

constexpr const char* kChart = "heatmap";
constexpr double kColourBarGap = 14.0;
constexpr double kColourBarWidth = 14.0;
constexpr int kColourBarSteps = 64;
constexpr double kMinValueFontSize = 7.0;  // printed cell values smaller than this are left out: unreadable

std::size_t column_count(const HeatmapData& data) { return data.values.empty() ? 0 : data.values.front().size(); }

void check_shape(const HeatmapData& data) {
  const std::size_t columns = column_count(data);
  for (std::size_t row = 0; row < data.values.size(); ++row)
    if (data.values[row].size() != columns)
      throw ArgumentError(
          fmt::format("{}: row {} has {} values, row 0 has {}", kChart, row, data.values[row].size(), columns));
  if (!data.row_labels.empty() && data.row_labels.size() != data.values.size())
    throw ArgumentError(
        fmt::format("{}: {} row labels for {} rows", kChart, data.row_labels.size(), data.values.size()));
  if (!data.column_labels.empty() && data.column_labels.size() != columns)
    throw ArgumentError(fmt::format("{}: {} column labels for {} columns", kChart, data.column_labels.size(), columns));
}

std::vector<std::string> labels_or_numbers(const std::vector<std::string>& labels, std::size_t count) {
  if (!labels.empty()) return labels;
  std::vector<std::string> numbers;
  for (std::size_t i = 0; i < count; ++i) numbers.push_back(std::to_string(i));
  return numbers;
}

detail::DataRange finite_range(const HeatmapData& data) {
  detail::DataRange range;
  for (const auto& row : data.values)
    for (const double value : row) range.include(value);
  return range;
}

void check_end(const std::optional<double>& end, const char* name) {
  if (end && !std::isfinite(*end))
    throw ArgumentError(fmt::format("{}: {} is {}, not a finite number", kChart, name, *end));
}

// The colour bar's ticks: round values inside the scale, plus its two ends where they do not crowd a round
// value, since the ends are what the extreme colours mean. `height` 0: every candidate tick (to size labels).
ValueAxis colour_bar_axis(const ColourScale& scale, double height) {
  ValueAxis axis = linear_axis_exact(scale.low(), scale.high(), 5);
  if (scale.low() == scale.high()) return axis;
  const double min_gap = 1.5 * detail::kFontSize;
  for (const double end : {scale.low(), scale.high()}) {
    bool crowded = false;
    for (const double tick : axis.ticks)
      crowded = crowded || std::fabs(axis.fraction(tick) - axis.fraction(end)) * height < min_gap;
    if (!crowded || height == 0.0) axis.ticks.push_back(end);
  }
  std::sort(axis.ticks.begin(), axis.ticks.end());
  axis.ticks.erase(std::unique(axis.ticks.begin(), axis.ticks.end()), axis.ticks.end());
  return axis;
}

// The colour bar: the scale drawn as stacked steps, highest value at the top, with ticks at round values.
void draw_colour_bar(SvgWriter& svg, const ColourScale& scale, const detail::PlotArea& area, const std::string& label) {
  const double x = area.right() + kColourBarGap;
  const double step_height = area.height / kColourBarSteps;
  const double span = scale.high() - scale.low();
  svg.open_group("class=\"colour-bar\" shape-rendering=\"crispEdges\"");
  for (int step = 0; step < kColourBarSteps; ++step) {
    // Each step shows the colour of its middle value; step 0 is the top.
    const double value = scale.high() - span * (step + 0.5) / kColourBarSteps;
    svg.rect(x, area.y + step * step_height, kColourBarWidth, step_height + 0.5,
             fmt::format("class=\"colour-bar-step\" fill=\"{}\"", scale.colour(value).hex()));
  }
  svg.close();
  svg.rect(x, area.y, kColourBarWidth, area.height, "fill=\"none\" stroke=\"#444444\" stroke-width=\"1\"");
  const ValueAxis axis = colour_bar_axis(scale, area.height);
  for (const double tick : axis.ticks) {
    const double y = area.bottom() - axis.fraction(tick) * area.height;
    svg.line(x + kColourBarWidth, y, x + kColourBarWidth + 4.0, y, "stroke=\"#444444\" stroke-width=\"1\"");
    svg.text(x + kColourBarWidth + 6.0, y + detail::kFontSize * 0.35, axis.tick_label(tick),
             "class=\"tick-label\" fill=\"#333333\"");
  }
  if (!label.empty()) {
    double widest = 0.0;
    for (const double tick : colour_bar_axis(scale, 0.0).ticks)
      widest = std::max(widest, detail::text_width(axis.tick_label(tick)));
    const double label_x = x + kColourBarWidth + 6.0 + widest + 6.0 + detail::kFontSize * 0.8;
    const double label_y = area.y + area.height / 2.0;
    svg.text(label_x, label_y, label,
             fmt::format("class=\"axis-title\" text-anchor=\"middle\" transform=\"rotate(90 {} {})\" fill=\"#333333\"",
                         svg_number(label_x), svg_number(label_y)));
  }
}

double colour_bar_extent(const ColourScale& scale, const std::string& label) {
  const ValueAxis axis = colour_bar_axis(scale, 0.0);
  double widest = 0.0;
  for (const double tick : axis.ticks) widest = std::max(widest, detail::text_width(axis.tick_label(tick)));
  return kColourBarGap + kColourBarWidth + 6.0 + widest + (label.empty() ? 8.0 : detail::kFontSize + 14.0);
}

}  // namespace

ColourScale heatmap_colour_scale(const HeatmapData& data, const HeatmapOptions& options) {
  check_end(options.value_min, "value_min");
  check_end(options.value_max, "value_max");
  if (!std::isfinite(options.diverging_centre))
    throw ArgumentError(
        fmt::format("{}: diverging_centre is {}, not a finite number", kChart, options.diverging_centre));
  if (options.value_min && options.value_max && *options.value_min >= *options.value_max)
    throw ArgumentError(
        fmt::format("{}: value_min {} is not below value_max {}", kChart, *options.value_min, *options.value_max));
  detail::DataRange range = finite_range(data);
  if (range.empty()) range = {0.0, 1.0};

  if (options.colour_scale == ColourScaleKind::kSequential) {
    double low = options.value_min.value_or(range.low);
    double high = options.value_max.value_or(range.high);
    // One fixed end at or beyond all the data: keep it, and let the other end sit one unit away.
    const bool one_end_fixed = options.value_min.has_value() != options.value_max.has_value();
    if (low > high || (low == high && one_end_fixed)) {
      if (options.value_min) {
        high = low + 1.0;
      } else {
        low = high - 1.0;
      }
    }
    return ColourScale::sequential(low, high);
  }
  const double centre = options.diverging_centre;
  if (options.value_min && *options.value_min > centre)
    throw ArgumentError(
        fmt::format("{}: value_min {} is above diverging_centre {}", kChart, *options.value_min, centre));
  if (options.value_max && *options.value_max < centre)
    throw ArgumentError(
        fmt::format("{}: value_max {} is below diverging_centre {}", kChart, *options.value_max, centre));
  double reach = std::max(std::fabs(range.low - centre), std::fabs(range.high - centre));
  if (reach == 0.0) reach = 1.0;
  return ColourScale::diverging(options.value_min.value_or(centre - reach), centre,
                                options.value_max.value_or(centre + reach));
}

std::string heatmap_svg(const HeatmapData& data, const HeatmapOptions& options) {
  detail::check_chart_size(options, kChart);
  check_shape(data);
  if (options.value_decimals < 0 || options.value_decimals > 17)
    throw ArgumentError(fmt::format("{}: value_decimals {} is outside 0..17", kChart, options.value_decimals));
  const ColourScale scale = heatmap_colour_scale(data, options);
  const std::size_t rows = data.values.size();
  const std::size_t columns = column_count(data);
  if (rows == 0 || columns == 0 || finite_range(data).empty()) return detail::no_data_chart(options);

  const std::vector<std::string> row_labels = labels_or_numbers(data.row_labels, rows);
  const std::vector<std::string> column_labels = labels_or_numbers(data.column_labels, columns);

  // The row labels' width does not depend on the row height (only how many are shown does), so the columns
  // can be laid out first, then the rows in the height the column labels leave.
  detail::Margins margins;
  margins.top = detail::title_height(options);
  margins.right = colour_bar_extent(scale, options.colour_bar_label);
  margins.left =
      detail::layout_category_labels(row_labels, 1.0, 0.3 * options.width, AxisSide::kLeft, options.y_label).extent +
      6.0;
  const double cell_width = (options.width - margins.left - margins.right) / static_cast<double>(columns);
  const detail::CategoryLabelLayout column_layout = detail::layout_category_labels(
      column_labels, cell_width, 0.35 * options.height, AxisSide::kBottom, options.x_label);
  margins.bottom = column_layout.extent + 4.0;
  const detail::PlotArea area = detail::plot_area(options, margins, kChart);
  const double cell_height = area.height / static_cast<double>(rows);
  const detail::CategoryLabelLayout row_layout =
      detail::layout_category_labels(row_labels, cell_height, 0.3 * options.width, AxisSide::kLeft, options.y_label);

  std::size_t longest_value = 1;
  for (const auto& row : data.values)
    for (const double value : row)
      longest_value = std::max(longest_value, format_fixed(value, options.value_decimals).size());
  const double value_font_size =
      std::min({11.0, cell_height * 0.6, cell_width * 0.9 / (0.62 * static_cast<double>(longest_value))});
  const bool print_values = options.print_values && value_font_size >= kMinValueFontSize;

  SvgWriter svg = detail::start_chart(options);
  // crispEdges: without it, anti-aliasing leaves faint seams between neighbouring cells.
  svg.open_group("class=\"cells\" shape-rendering=\"crispEdges\"");
  for (std::size_t row = 0; row < rows; ++row) {
    for (std::size_t column = 0; column < columns; ++column) {
      const double value = data.values[row][column];
      const bool missing = !std::isfinite(value);
      svg.rect(area.x + static_cast<double>(column) * cell_width, area.y + static_cast<double>(row) * cell_height,
               cell_width, cell_height,
               fmt::format("class=\"{}\" fill=\"{}\"", missing ? "cell-missing" : "cell", scale.colour(value).hex()),
               fmt::format("{} / {}: {}", row_labels[row], column_labels[column],
                           missing ? std::string("missing") : format_number(value, options.value_decimals)));
    }
  }
  svg.close();
  if (print_values) {
    svg.open_group(
        fmt::format("class=\"cell-values\" text-anchor=\"middle\" font-size=\"{}\"", svg_number(value_font_size)));
    for (std::size_t row = 0; row < rows; ++row) {
      for (std::size_t column = 0; column < columns; ++column) {
        const double value = data.values[row][column];
        if (!std::isfinite(value)) continue;
        svg.text(area.x + (static_cast<double>(column) + 0.5) * cell_width,
                 area.y + (static_cast<double>(row) + 0.5) * cell_height + value_font_size * 0.35,
                 format_fixed(value, options.value_decimals),
                 fmt::format("class=\"cell-value\" fill=\"{}\"", scale.colour(value).contrasting_text().hex()));
      }
    }
    svg.close();
  }
  svg.rect(area.x, area.y, area.width, area.height, "fill=\"none\" stroke=\"#444444\" stroke-width=\"1\"");
  detail::draw_category_axis(svg, row_labels, area, AxisSide::kLeft, row_layout, options.y_label);
  detail::draw_category_axis(svg, column_labels, area, AxisSide::kBottom, column_layout, options.x_label);
  draw_colour_bar(svg, scale, area, options.colour_bar_label);
  return svg.finish();
}

}  // namespace moulin::report
