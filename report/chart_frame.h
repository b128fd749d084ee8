#pragma once
// What the charts share: size checks, title, "no data" placeholder, axes with ticks and grid, legend, series
// colours. Internal to report/ (the charts' headers are the public interface).
#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "report/axis.h"
#include "report/chart_options.h"
#include "report/svg_writer.h"

namespace moulin::report::detail {

inline constexpr double kFontSize = 12.0;
inline constexpr double kTitleFontSize = 15.0;
inline constexpr double kTickLength = 5.0;
// Category and legend labels longer than this are cut with an ellipsis (the full text stays in tooltips).
inline constexpr std::size_t kMaxLabelCodePoints = 40;

// Width of `text` in pixels, estimated: there are no font metrics here, and 0.62 em per code point covers
// digits and lower case in the sans-serif fonts browsers pick, so labels rarely overlap.
double text_width(std::string_view text, double font_size = kFontSize);

struct PlotArea {
  double x = 0.0;
  double y = 0.0;
  double width = 0.0;
  double height = 0.0;
  double right() const { return x + width; }
  double bottom() const { return y + height; }
};

struct Margins {
  double left = 0.0;
  double top = 0.0;
  double right = 0.0;
  double bottom = 0.0;
};

// The smallest range holding the finite values seen.
struct DataRange {
  double low = std::numeric_limits<double>::infinity();
  double high = -std::numeric_limits<double>::infinity();
  void include(double value);  // non-finite values are ignored
  bool empty() const { return low > high; }
};

// The axis for `range` (not empty; all positive for a log axis), with the ends the caller fixed replacing the
// data's. Errors name the chart and the options ("line chart: y_min ..." for chart "line chart", axis "y").
// Throws ArgumentError for a fixed end that is not finite, not positive on a log axis, or a fixed minimum not
// below the fixed maximum.
ValueAxis fitted_axis(DataRange range, std::optional<double> fixed_min, std::optional<double> fixed_max,
                      AxisScale scale, std::string_view chart, std::string_view axis_name);

// The i-th series colour: the Okabe-Ito palette, told apart by colour-blind readers, cycled.
std::string series_colour(std::size_t index);

// Throws ArgumentError naming `chart` when the size is outside [kMinChartSide, kMaxChartSide].
void check_chart_size(const ChartOptions& options, std::string_view chart);

// The root element with background and title drawn.
SvgWriter start_chart(const ChartOptions& options);
// The space the title takes at the top.
double title_height(const ChartOptions& options);
// A chart of the right size holding its title and the words "no data", for empty or all-missing input.
std::string no_data_chart(const ChartOptions& options);

// The plot area left once the margins are taken; throws ArgumentError naming `chart` when the margins leave
// too little room (labels too long for a chart this small).
PlotArea plot_area(const ChartOptions& options, const Margins& margins, std::string_view chart);

// A value axis drawn along the left side (values upwards) or the bottom (values rightwards): grid lines across
// the plot, ticks, tick labels and the axis title.
enum class AxisSide { kLeft, kBottom };
void draw_value_axis(SvgWriter& svg, const ValueAxis& axis, const PlotArea& area, AxisSide side,
                     std::string_view title);
// The room a value axis needs beside the plot area, tick labels and title included.
double value_axis_extent(const ValueAxis& axis, AxisSide side, std::string_view title);
// The pixel position of `value` on the axis drawn along `side` of `area` (unclamped).
double axis_position(const ValueAxis& axis, const PlotArea& area, AxisSide side, double value);

// How category labels fit along an axis: every `stride`-th label shown, rotated when they would overlap.
struct CategoryLabelLayout {
  std::size_t stride = 1;
  bool rotated = false;
  std::size_t max_code_points = kMaxLabelCodePoints;  // longer labels are cut to fit `extent`
  double extent = 0.0;                                // room taken beside the plot area, axis title included
};
// `band` is the room each category gets along the axis; `max_extent` caps the room labels may take.
CategoryLabelLayout layout_category_labels(const std::vector<std::string>& labels, double band, double max_extent,
                                           AxisSide side, std::string_view title);
void draw_category_axis(SvgWriter& svg, const std::vector<std::string>& labels, const PlotArea& area, AxisSide side,
                        const CategoryLabelLayout& layout, std::string_view title);

struct LegendEntry {
  std::string name;
  std::string colour;
  bool as_line = false;  // a line sample (line charts) rather than a filled swatch
};
double legend_width(const std::vector<LegendEntry>& entries);
// Entries stacked downwards from (x, y).
void draw_legend(SvgWriter& svg, const std::vector<LegendEntry>& entries, double x, double y);

}  // namespace moulin::report::detail
