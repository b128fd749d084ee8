#include "report/chart_frame.h"

#include <algorithm>
#include <array>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "report/text_escape.h"

namespace moulin::report::detail {
namespace {

constexpr double kCharacterWidthEm = 0.62;
constexpr double kLabelGap = 4.0;
constexpr double kAxisTitleRoom = kFontSize + 8.0;
constexpr double kLegendRowHeight = 18.0;
constexpr double kLegendSampleWidth = 16.0;
constexpr std::size_t kMaxLegendCodePoints = 28;
constexpr double kMinPlotSide = 40.0;
constexpr const char* kGridColour = "#e6e6e6";
constexpr const char* kAxisColour = "#444444";
constexpr const char* kLabelAttributes = "fill=\"#333333\"";

double axis_title_room(std::string_view title) { return title.empty() ? 0.0 : kAxisTitleRoom; }

// The most code points of text at `font_size` that fit in `width` pixels.
std::size_t code_points_fitting(double width, double font_size = kFontSize) {
  return static_cast<std::size_t>(std::max(1.0, std::floor(width / (kCharacterWidthEm * font_size))));
}

double widest_label(const std::vector<std::string>& labels, std::size_t max_code_points) {
  double widest = 0.0;
  for (const auto& label : labels) widest = std::max(widest, text_width(utf8_truncated(label, max_code_points)));
  return widest;
}

}  // namespace

void DataRange::include(double value) {
  if (!std::isfinite(value)) return;
  low = std::min(low, value);
  high = std::max(high, value);
}

ValueAxis fitted_axis(DataRange range, std::optional<double> fixed_min, std::optional<double> fixed_max,
                      AxisScale scale, std::string_view chart, std::string_view axis_name) {
  for (const auto& [end_name, end] : {std::pair{"min", fixed_min}, std::pair{"max", fixed_max}}) {
    if (!end) continue;
    if (!std::isfinite(*end))
      throw ArgumentError(fmt::format("{}: {}_{} is {}, not a finite number", chart, axis_name, end_name, *end));
    if (scale == AxisScale::kLog && *end <= 0.0)
      throw ArgumentError(
          fmt::format("{}: {}_{} is {}: a log axis needs positive ends", chart, axis_name, end_name, *end));
  }
  if (fixed_min && fixed_max && *fixed_min >= *fixed_max)
    throw ArgumentError(
        fmt::format("{}: {}_min {} is not below {}_max {}", chart, axis_name, *fixed_min, axis_name, *fixed_max));
  double low = fixed_min.value_or(range.low);
  double high = fixed_max.value_or(range.high);
  // One fixed end beyond all the data: keep it and give the axis some extent; the data is clipped.
  if (low >= high && fixed_min && !fixed_max) high = scale == AxisScale::kLog ? low * 10.0 : low + 1.0;
  if (low >= high && fixed_max && !fixed_min) low = scale == AxisScale::kLog ? high / 10.0 : high - 1.0;

  ValueAxis axis = scale == AxisScale::kLog ? log_axis(low, high) : linear_axis(low, high);
  if (fixed_min) axis.min = *fixed_min;
  if (fixed_max) axis.max = *fixed_max;
  if (fixed_min || fixed_max) {
    const double tolerance = 1e-9 * (axis.max - axis.min);
    axis.ticks.erase(
        std::remove_if(axis.ticks.begin(), axis.ticks.end(),
                       [&](double tick) { return tick < axis.min - tolerance || tick > axis.max + tolerance; }),
        axis.ticks.end());
  }
  return axis;
}

double text_width(std::string_view text, double font_size) {
  return static_cast<double>(utf8_length(text)) * kCharacterWidthEm * font_size;
}

std::string series_colour(std::size_t index) {
  static constexpr std::array<const char*, 8> kPalette = {"#0072b2", "#e69f00", "#009e73", "#d55e00",
                                                          "#cc79a7", "#56b4e9", "#f0e442", "#000000"};
  return kPalette[index % kPalette.size()];
}

void check_chart_size(const ChartOptions& options, std::string_view chart) {
  for (const auto& [name, value] : {std::pair{"width", options.width}, std::pair{"height", options.height}}) {
    if (value < kMinChartSide || value > kMaxChartSide)
      throw ArgumentError(
          fmt::format("{}: {} {} pixels is outside {}..{}", chart, name, value, kMinChartSide, kMaxChartSide));
  }
}

double title_height(const ChartOptions& options) { return options.title.empty() ? 12.0 : 34.0; }

SvgWriter start_chart(const ChartOptions& options) {
  SvgWriter svg(options.width, options.height, options.title);
  if (!options.title.empty()) {
    const std::string title =
        utf8_truncated(single_line(options.title), code_points_fitting(options.width - 20.0, kTitleFontSize));
    svg.text(options.width / 2.0, 22.0, title,
             fmt::format("class=\"chart-title\" text-anchor=\"middle\" font-size=\"{}\" font-weight=\"bold\" "
                         "fill=\"#111111\"",
                         kTitleFontSize));
  }
  return svg;
}

std::string no_data_chart(const ChartOptions& options) {
  SvgWriter svg = start_chart(options);
  svg.text(options.width / 2.0, (options.height + title_height(options)) / 2.0, "no data",
           "class=\"no-data\" text-anchor=\"middle\" font-size=\"14\" fill=\"#777777\"");
  return svg.finish();
}

PlotArea plot_area(const ChartOptions& options, const Margins& margins, std::string_view chart) {
  PlotArea area{margins.left, margins.top, options.width - margins.left - margins.right,
                options.height - margins.top - margins.bottom};
  if (area.width < kMinPlotSide || area.height < kMinPlotSide)
    throw ArgumentError(
        fmt::format("{}: a {}x{} chart leaves no room for the plot once its labels are placed; "
                    "enlarge it or shorten the labels",
                    chart, options.width, options.height));
  return area;
}

double axis_position(const ValueAxis& axis, const PlotArea& area, AxisSide side, double value) {
  const double fraction = axis.fraction(value);
  return side == AxisSide::kLeft ? area.bottom() - fraction * area.height : area.x + fraction * area.width;
}

double value_axis_extent(const ValueAxis& axis, AxisSide side, std::string_view title) {
  if (side == AxisSide::kBottom) return kTickLength + kLabelGap + kFontSize + 4.0 + axis_title_room(title);
  double widest = 0.0;
  for (const double tick : axis.ticks) widest = std::max(widest, text_width(axis.tick_label(tick)));
  return kTickLength + kLabelGap + widest + 4.0 + axis_title_room(title);
}

void draw_value_axis(SvgWriter& svg, const ValueAxis& axis, const PlotArea& area, AxisSide side,
                     std::string_view title) {
  const std::string grid = fmt::format("class=\"grid\" stroke=\"{}\" stroke-width=\"1\"", kGridColour);
  const std::string tick_mark = fmt::format("class=\"tick\" stroke=\"{}\" stroke-width=\"1\"", kAxisColour);
  const std::string axis_line = fmt::format("class=\"axis\" stroke=\"{}\" stroke-width=\"1\"", kAxisColour);
  if (side == AxisSide::kLeft) {
    for (const double tick : axis.ticks) {
      const double y = axis_position(axis, area, side, tick);
      svg.line(area.x, y, area.right(), y, grid);
      svg.line(area.x - kTickLength, y, area.x, y, tick_mark);
      svg.text(area.x - kTickLength - kLabelGap, y + kFontSize * 0.35, axis.tick_label(tick),
               fmt::format("class=\"tick-label\" text-anchor=\"end\" {}", kLabelAttributes));
    }
    svg.line(area.x, area.y, area.x, area.bottom(), axis_line);
    if (!title.empty()) {
      const double x = area.x - value_axis_extent(axis, side, title) + kFontSize;
      const double y = area.y + area.height / 2.0;
      svg.text(x, y, utf8_truncated(single_line(title), code_points_fitting(area.height)),
               fmt::format("class=\"axis-title\" text-anchor=\"middle\" transform=\"rotate(-90 {} {})\" {}",
                           svg_number(x), svg_number(y), kLabelAttributes));
    }
    return;
  }
  for (const double tick : axis.ticks) {
    const double x = axis_position(axis, area, side, tick);
    svg.line(x, area.y, x, area.bottom(), grid);
    svg.line(x, area.bottom(), x, area.bottom() + kTickLength, tick_mark);
    svg.text(x, area.bottom() + kTickLength + kLabelGap + kFontSize * 0.8, axis.tick_label(tick),
             fmt::format("class=\"tick-label\" text-anchor=\"middle\" {}", kLabelAttributes));
  }
  svg.line(area.x, area.bottom(), area.right(), area.bottom(), axis_line);
  if (!title.empty()) {
    svg.text(area.x + area.width / 2.0, area.bottom() + value_axis_extent(axis, side, title) - 4.0,
             utf8_truncated(single_line(title), code_points_fitting(area.width)),
             fmt::format("class=\"axis-title\" text-anchor=\"middle\" {}", kLabelAttributes));
  }
}

CategoryLabelLayout layout_category_labels(const std::vector<std::string>& labels, double band, double max_extent,
                                           AxisSide side, std::string_view title) {
  CategoryLabelLayout layout;
  const double fixed = kTickLength + kLabelGap + axis_title_room(title);
  const double label_room = std::max(kFontSize, max_extent - fixed);
  const double line_height = kFontSize * 1.25;
  if (side == AxisSide::kLeft) {
    layout.stride = static_cast<std::size_t>(std::max(1.0, std::ceil(line_height / band)));
    layout.max_code_points = std::min(kMaxLabelCodePoints, code_points_fitting(label_room));
    layout.extent = fixed + widest_label(labels, layout.max_code_points) + 2.0;
    return layout;
  }
  const double widest = widest_label(labels, kMaxLabelCodePoints);
  if (widest + kLabelGap <= band) {
    layout.extent = fixed + kFontSize + 4.0;
    return layout;
  }
  // Labels at 45 degrees: each needs only a line height along the axis, and sin 45 of its length below it.
  constexpr double kSin45 = 0.70710678;
  layout.rotated = true;
  layout.stride = static_cast<std::size_t>(std::max(1.0, std::ceil(line_height / kSin45 / band)));
  layout.max_code_points = std::min(kMaxLabelCodePoints, code_points_fitting(label_room / kSin45));
  layout.extent = fixed + widest_label(labels, layout.max_code_points) * kSin45 + kFontSize;
  return layout;
}

void draw_category_axis(SvgWriter& svg, const std::vector<std::string>& labels, const PlotArea& area, AxisSide side,
                        const CategoryLabelLayout& layout, std::string_view title) {
  const std::string tick_mark = fmt::format("class=\"tick\" stroke=\"{}\" stroke-width=\"1\"", kAxisColour);
  const std::string axis_line = fmt::format("class=\"axis\" stroke=\"{}\" stroke-width=\"1\"", kAxisColour);
  const double count = static_cast<double>(labels.size());
  for (std::size_t i = 0; i < labels.size(); i += layout.stride) {
    const std::string full_label = single_line(labels[i]);
    const std::string label = utf8_truncated_middle(full_label, layout.max_code_points);
    // A cut label keeps its full text as a tooltip.
    const std::string_view tooltip = label == full_label ? std::string_view() : std::string_view(full_label);
    if (side == AxisSide::kLeft) {
      const double y = area.y + (static_cast<double>(i) + 0.5) * area.height / count;
      svg.line(area.x - kTickLength, y, area.x, y, tick_mark);
      svg.text(area.x - kTickLength - kLabelGap, y + kFontSize * 0.35, label,
               fmt::format("class=\"category-label\" text-anchor=\"end\" {}", kLabelAttributes), tooltip);
      continue;
    }
    const double x = area.x + (static_cast<double>(i) + 0.5) * area.width / count;
    svg.line(x, area.bottom(), x, area.bottom() + kTickLength, tick_mark);
    const double y = area.bottom() + kTickLength + kLabelGap + kFontSize * 0.8;
    if (layout.rotated) {
      svg.text(x, y, label,
               fmt::format("class=\"category-label\" text-anchor=\"end\" transform=\"rotate(-45 {} {})\" {}",
                           svg_number(x), svg_number(y - kFontSize * 0.4), kLabelAttributes),
               tooltip);
    } else {
      svg.text(x, y, label, fmt::format("class=\"category-label\" text-anchor=\"middle\" {}", kLabelAttributes),
               tooltip);
    }
  }
  if (side == AxisSide::kLeft) {
    svg.line(area.x, area.y, area.x, area.bottom(), axis_line);
  } else {
    svg.line(area.x, area.bottom(), area.right(), area.bottom(), axis_line);
  }
  if (title.empty()) return;
  if (side == AxisSide::kLeft) {
    const double x = area.x - layout.extent + kFontSize;
    const double y = area.y + area.height / 2.0;
    svg.text(x, y, utf8_truncated(single_line(title), code_points_fitting(area.height)),
             fmt::format("class=\"axis-title\" text-anchor=\"middle\" transform=\"rotate(-90 {} {})\" {}",
                         svg_number(x), svg_number(y), kLabelAttributes));
  } else {
    svg.text(area.x + area.width / 2.0, area.bottom() + layout.extent - 4.0,
             utf8_truncated(single_line(title), code_points_fitting(area.width)),
             fmt::format("class=\"axis-title\" text-anchor=\"middle\" {}", kLabelAttributes));
  }
}

double legend_width(const std::vector<LegendEntry>& entries) {
  double widest = 0.0;
  for (const auto& entry : entries)
    widest = std::max(widest, text_width(utf8_truncated(single_line(entry.name), kMaxLegendCodePoints)));
  return kLegendSampleWidth + 6.0 + widest + 8.0;
}

void draw_legend(SvgWriter& svg, const std::vector<LegendEntry>& entries, double x, double y) {
  svg.open_group("class=\"legend\"");
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& entry = entries[i];
    const double row_middle = y + (static_cast<double>(i) + 0.5) * kLegendRowHeight;
    if (entry.as_line) {
      svg.line(x, row_middle, x + kLegendSampleWidth, row_middle,
               fmt::format("stroke=\"{}\" stroke-width=\"2\"", entry.colour));
    } else {
      svg.rect(x + 2.0, row_middle - 6.0, 12.0, 12.0, fmt::format("fill=\"{}\"", entry.colour));
    }
    svg.text(x + kLegendSampleWidth + 6.0, row_middle + kFontSize * 0.35,
             utf8_truncated(single_line(entry.name), kMaxLegendCodePoints),
             fmt::format("class=\"legend-label\" {}", kLabelAttributes));
  }
  svg.close();
}

}  // namespace moulin::report::detail
