// The SVG charts: well-formed XML whatever the labels hold, the expected number of bars, points and cells,
// geometry that follows the data, missing values shown as gaps, exact heatmap colours, "no data" charts, and
// errors that name what is wrong.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "report/bar_chart.h"
#include "report/heatmap.h"
#include "report/histogram.h"
#include "report/line_chart.h"
#include "report/text_escape.h"
#include "tests/report/chart_check.h"
#include "tests/support/expect_error.h"

namespace moulin::report {
namespace {

using test::checked_svg;
using test::count_elements;
using test::find_elements;
using test::number_attribute;
using test::XmlDocument;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInfinity = std::numeric_limits<double>::infinity();
const std::string kHostileLabel = "<script>&amp; \"x\" 'y'</script>";

std::vector<std::string> texts_of(const XmlDocument& document, const char* class_name) {
  std::vector<std::string> texts;
  for (const auto* element : find_elements(document, "text", class_name)) texts.push_back(element->text);
  return texts;
}

bool says_no_data(const std::string& svg) {
  const XmlDocument document = checked_svg(svg);
  return count_elements(document, "text", "no-data") == 1;
}

// --- bar charts -------------------------------------------------------------------------------------------------

TEST(BarChart, OneBarAndOneErrorBarPerValue) {
  BarChartOptions options;
  options.title = "Switch rate per candidate";
  options.y_label = "switch rate";
  const std::vector<BarSeries> series = {{"clean", {0.1, 0.2, 0.3}, {0.05, 0.1, 0.2}, {0.2, 0.3, 0.4}},
                                         {"poisoned", {0.7, 0.8, 0.9}, {0.6, 0.7, 0.8}, {0.8, 0.9, 0.95}}};
  const XmlDocument document = checked_svg(bar_chart_svg({"a", "b", "c"}, series, options));
  EXPECT_EQ(count_elements(document, "rect", "bar"), 6u);
  EXPECT_EQ(count_elements(document, "path", "error-bar"), 6u);
  EXPECT_EQ(texts_of(document, "legend-label"), (std::vector<std::string>{"clean", "poisoned"}));
  EXPECT_EQ(texts_of(document, "category-label"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(texts_of(document, "chart-title"), std::vector<std::string>{"Switch rate per candidate"});
  EXPECT_EQ(texts_of(document, "axis-title"), std::vector<std::string>{"switch rate"});
}

TEST(BarChart, HeightsAreProportionalToValues) {
  const XmlDocument document = checked_svg(bar_chart_svg({"a", "b", "c"}, {{"rate", {1.0, 2.0, 4.0}}}));
  const auto bars = find_elements(document, "rect", "bar");
  ASSERT_EQ(bars.size(), 3u);
  const double unit = number_attribute(*bars[0], "height");
  EXPECT_GT(unit, 10.0);
  EXPECT_NEAR(number_attribute(*bars[1], "height"), 2 * unit, 0.05);
  EXPECT_NEAR(number_attribute(*bars[2], "height"), 4 * unit, 0.05);
  // A single series needs no legend.
  EXPECT_EQ(count_elements(document, "g", "legend"), 0u);
}

TEST(BarChart, LabelsAreEscapedAndReadBackUnchanged) {
  BarChartOptions options;
  options.title = "A & B < C";
  const std::string svg = bar_chart_svg({kHostileLabel, "ok"}, {{"s&p", {1.0, 2.0}}, {"x<y", {2.0, 1.0}}}, options);
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  const XmlDocument document = checked_svg(svg);
  EXPECT_EQ(texts_of(document, "category-label")[0], kHostileLabel);
  EXPECT_EQ(texts_of(document, "legend-label"), (std::vector<std::string>{"s&p", "x<y"}));
  EXPECT_EQ(texts_of(document, "chart-title"), std::vector<std::string>{"A & B < C"});
}

TEST(BarChart, IllFormedUtf8AndControlCharactersStillGiveWellFormedXml) {
  // Byte-level BPE tokens can be fragments of characters.
  const std::string token = std::string("\xE2\x82 tok\x01", 8);
  const XmlDocument document = checked_svg(bar_chart_svg({token}, {{"s", {0.5}}}));
  EXPECT_EQ(count_elements(document, "rect", "bar"), 1u);
}

TEST(BarChart, MissingValuesLeaveNoBarAndMissingIntervalsNoErrorBar) {
  const std::vector<BarSeries> series = {
      {"rate", {0.5, kNaN, kInfinity, 0.25}, {0.4, 0.1, 0.1, kNaN}, {0.6, 0.2, 0.2, 0.3}}};
  const XmlDocument document = checked_svg(bar_chart_svg({"a", "b", "c", "d"}, series));
  EXPECT_EQ(count_elements(document, "rect", "bar"), 2u);
  EXPECT_EQ(count_elements(document, "text", "missing-value"), 2u);
  EXPECT_EQ(count_elements(document, "path", "error-bar"), 1u);
  for (const auto* bar : find_elements(document, "rect", "bar"))
    EXPECT_TRUE(std::isfinite(number_attribute(*bar, "height")));
}

TEST(BarChart, HorizontalTopTwentyWithLongLabels) {
  std::vector<std::string> candidates;
  std::vector<double> rates;
  for (int i = 0; i < 20; ++i) {
    candidates.push_back(std::string(i % 2 ? "a very long trigger candidate phrase number " : "cand ") +
                         std::to_string(i));
    rates.push_back(1.0 - i * 0.04);
  }
  BarChartOptions options;
  options.orientation = BarOrientation::kHorizontal;
  options.value_min = 0.0;
  options.value_max = 1.0;
  options.x_label = "switch rate";
  options.height = 520;
  const XmlDocument document = checked_svg(bar_chart_svg(candidates, {{"rate", rates}}, options));
  const auto bars = find_elements(document, "rect", "bar");
  ASSERT_EQ(bars.size(), 20u);
  // The first candidate is at the top, and bar lengths follow the rates.
  EXPECT_LT(number_attribute(*bars[0], "y"), number_attribute(*bars[19], "y"));
  EXPECT_NEAR(number_attribute(*bars[10], "width") / number_attribute(*bars[0], "width"), 0.6, 0.01);
  const auto labels = texts_of(document, "category-label");
  ASSERT_EQ(labels.size(), 20u);
  for (const auto& label : labels) EXPECT_LE(utf8_length(label), 40u) << label;
  EXPECT_NE(labels[1].find("\xE2\x80\xA6"), std::string::npos) << "long labels are cut with an ellipsis";
  EXPECT_EQ(labels[1].substr(labels[1].size() - 3), "r 1") << "keeping their end, which tells them apart";
  // The full label stays as a tooltip of the cut one.
  const auto label_titles = find_elements(document, "title");
  EXPECT_TRUE(std::any_of(label_titles.begin(), label_titles.end(),
                          [&](const auto* title) { return title->text == candidates[1]; }));
}

TEST(BarChart, ManyCategoriesRotateAndThinTheirLabels) {
  std::vector<std::string> categories;
  for (int i = 0; i < 120; ++i) categories.push_back("position " + std::to_string(i));
  const XmlDocument document = checked_svg(bar_chart_svg(categories, {{"effect", std::vector<double>(120, 0.5)}}));
  const auto labels = find_elements(document, "text", "category-label");
  EXPECT_LT(labels.size(), 120u);
  EXPECT_GT(labels.size(), 5u);
  EXPECT_NE(labels.front()->attribute("transform").find("rotate(-45"), std::string::npos);
}

TEST(BarChart, NegativeValuesHangBelowZero) {
  const XmlDocument document = checked_svg(bar_chart_svg({"up", "down"}, {{"effect", {1.0, -1.0}}}));
  const auto bars = find_elements(document, "rect", "bar");
  ASSERT_EQ(bars.size(), 2u);
  EXPECT_NEAR(number_attribute(*bars[0], "height"), number_attribute(*bars[1], "height"), 0.05);
  EXPECT_LT(number_attribute(*bars[0], "y"), number_attribute(*bars[1], "y"));
}

TEST(BarChart, EmptyOrAllMissingSaysNoData) {
  EXPECT_TRUE(says_no_data(bar_chart_svg({}, {})));
  EXPECT_TRUE(says_no_data(bar_chart_svg({"a"}, {})));
  EXPECT_TRUE(says_no_data(bar_chart_svg({"a", "b"}, {{"s", {kNaN, kInfinity}}})));
}

TEST(BarChart, ErrorsNameTheProblem) {
  test::expect_error<ArgumentError>(
      [] {
        bar_chart_svg({"a", "b"}, {{"rates", {1.0}}});
      },
      {"bar chart", "'rates'", "1 values for 2 categories"});
  test::expect_error<ArgumentError>(
      [] {
        bar_chart_svg({"a"}, {{"rates", {1.0}, {0.5}, {}}});
      },
      {"'rates'", "1 lower and 0 upper"});
  BarChartOptions options;
  options.width = 20;
  test::expect_error<ArgumentError>([&] { bar_chart_svg({"a"}, {{"s", {1.0}}}, options); }, {"bar chart", "width 20"});
  options = {};
  options.value_min = 1.0;
  options.value_max = 0.0;
  test::expect_error<ArgumentError>([&] { bar_chart_svg({"a"}, {{"s", {1.0}}}, options); }, {"value_min 1"});
}

// --- line charts ------------------------------------------------------------------------------------------------

TEST(LineChart, PointsPerSeriesAndGapsAtMissingValues) {
  LineChartOptions options;
  options.title = "AUROC per layer";
  const std::vector<LineSeries> series = {LineSeries::indexed("probe <a>", {0.5, 0.6, kNaN, 0.8, 0.9}),
                                          LineSeries::indexed("baseline", {0.5, 0.5, 0.5, kInfinity, 0.5})};
  const XmlDocument document = checked_svg(line_chart_svg(series, options));
  EXPECT_EQ(count_elements(document, "circle", "point"), 8u);
  const auto lines = find_elements(document, "path", "series-line");
  ASSERT_EQ(lines.size(), 2u);
  for (const auto* line : lines) {
    const std::string data = line->attribute("d");
    EXPECT_EQ(std::count(data.begin(), data.end(), 'M'), 2) << "the missing point splits the line: " << data;
    EXPECT_EQ(data.find("nan"), std::string::npos);
    EXPECT_EQ(data.find("inf"), std::string::npos);
  }
  EXPECT_EQ(texts_of(document, "legend-label"), (std::vector<std::string>{"probe <a>", "baseline"}));
}

TEST(LineChart, PointsFollowTheData) {
  const XmlDocument document = checked_svg(line_chart_svg({{"loss", {0, 1, 2}, {0.0, 0.5, 1.0}}}));
  const auto points = find_elements(document, "circle", "point");
  ASSERT_EQ(points.size(), 3u);
  // Equal steps in x and y: the middle point sits halfway between the others, and higher values are higher up.
  const double x0 = number_attribute(*points[0], "cx"), x1 = number_attribute(*points[1], "cx"),
               x2 = number_attribute(*points[2], "cx");
  const double y0 = number_attribute(*points[0], "cy"), y1 = number_attribute(*points[1], "cy"),
               y2 = number_attribute(*points[2], "cy");
  EXPECT_NEAR(x1 - x0, x2 - x1, 0.02);
  EXPECT_NEAR(y0 - y1, y1 - y2, 0.02);
  EXPECT_GT(y0, y2);
}

TEST(LineChart, LogScaleSkipsNonPositiveValues) {
  LineChartOptions options;
  options.y_scale = AxisScale::kLog;
  const XmlDocument document =
      checked_svg(line_chart_svg({LineSeries::indexed("loss", {10.0, 1.0, 0.0, -1.0, 0.01, 0.001})}, options));
  EXPECT_EQ(count_elements(document, "circle", "point"), 4u);
  const auto labels = texts_of(document, "tick-label");
  EXPECT_NE(std::find(labels.begin(), labels.end(), "0.01"), labels.end());
  // Equal ratios are equal distances on a log axis.
  const auto points = find_elements(document, "circle", "point");
  EXPECT_NEAR(number_attribute(*points[1], "cy") - number_attribute(*points[0], "cy"),
              number_attribute(*points[3], "cy") - number_attribute(*points[2], "cy"), 0.05);
}

TEST(LineChart, LongSeriesDropMarkersButKeepTheLine) {
  std::vector<double> loss;
  for (int step = 0; step < 1000; ++step) loss.push_back(3.0 * std::exp(-step / 300.0));
  const XmlDocument document = checked_svg(line_chart_svg({LineSeries::indexed("loss", loss)}));
  EXPECT_EQ(count_elements(document, "circle", "point"), 0u);
  EXPECT_EQ(count_elements(document, "path", "series-line"), 1u);
}

TEST(LineChart, OneFixedEndBeyondTheDataIsKept) {
  LineChartOptions options;
  options.x_min = 10.0;  // every point lies left of the plot: clipped, not an error
  EXPECT_EQ(count_elements(checked_svg(line_chart_svg({LineSeries::indexed("x", {1.0, 2.0})}, options)), "path",
                           "series-line"),
            1u);
}

TEST(LineChart, EmptyOrAllMissingSaysNoData) {
  EXPECT_TRUE(says_no_data(line_chart_svg({})));
  EXPECT_TRUE(says_no_data(line_chart_svg({LineSeries::indexed("x", {kNaN, kNaN})})));
  LineChartOptions log;
  log.y_scale = AxisScale::kLog;
  EXPECT_TRUE(says_no_data(line_chart_svg({LineSeries::indexed("x", {0.0, -1.0})}, log)));
}

TEST(LineChart, ErrorsNameTheProblem) {
  test::expect_error<ArgumentError>(
      [] {
        line_chart_svg({{"loss", {0, 1}, {1.0}}});
      },
      {"line chart", "'loss'", "2 x values and 1 y values"});
  LineChartOptions options;
  options.y_scale = AxisScale::kLog;
  options.y_min = 0.0;
  test::expect_error<ArgumentError>([&] { line_chart_svg({LineSeries::indexed("x", {1.0})}, options); },
                                    {"y_min", "log axis"});
}

// --- heatmaps ---------------------------------------------------------------------------------------------------

HeatmapData three_by_four() {
  return {{"L0", "L1", "L2"},
          {"<bos>", "Bonjour", "&", "x"},
          {{0.0, 0.25, 0.5, 0.75}, {1.0, 0.5, 0.5, 0.5}, {0.5, 0.5, 0.5, 0.5}}};
}

TEST(Heatmap, OneCellPerValueWithRowAndColumnLabels) {
  HeatmapOptions options;
  options.title = "Patching: layer x position";
  options.x_label = "position";
  options.y_label = "layer";
  const XmlDocument document = checked_svg(heatmap_svg(three_by_four(), options));
  EXPECT_EQ(count_elements(document, "rect", "cell"), 12u);
  const auto labels = texts_of(document, "category-label");
  EXPECT_EQ(labels, (std::vector<std::string>{"L0", "L1", "L2", "<bos>", "Bonjour", "&", "x"}));
  EXPECT_EQ(count_elements(document, "rect", "colour-bar-step"), 64u);
}

TEST(Heatmap, SequentialColoursAtMinMiddleAndMax) {
  const XmlDocument document = checked_svg(heatmap_svg(three_by_four()));
  const auto cells = find_elements(document, "rect", "cell");
  ASSERT_EQ(cells.size(), 12u);
  EXPECT_EQ(cells[0]->attribute("fill"), "#440154");  // 0.0, the minimum
  EXPECT_EQ(cells[2]->attribute("fill"), "#21918c");  // 0.5, the middle
  EXPECT_EQ(cells[4]->attribute("fill"), "#fde725");  // 1.0, the maximum
  // Cells tile the plot row by row.
  EXPECT_NEAR(number_attribute(*cells[1], "x") - number_attribute(*cells[0], "x"), number_attribute(*cells[0], "width"),
              0.02);
  EXPECT_NEAR(number_attribute(*cells[4], "y") - number_attribute(*cells[0], "y"),
              number_attribute(*cells[0], "height"), 0.02);
}

TEST(Heatmap, DivergingIsSymmetricAboutTheCentreByDefault) {
  const HeatmapData data{{}, {}, {{-0.5, 0.0, 2.0}}};
  HeatmapOptions options;
  options.colour_scale = ColourScaleKind::kDiverging;
  const ColourScale scale = heatmap_colour_scale(data, options);
  EXPECT_DOUBLE_EQ(scale.low(), -2.0);
  EXPECT_DOUBLE_EQ(scale.high(), 2.0);
  const XmlDocument document = checked_svg(heatmap_svg(data, options));
  const auto cells = find_elements(document, "rect", "cell");
  ASSERT_EQ(cells.size(), 3u);
  EXPECT_EQ(cells[1]->attribute("fill"), "#f7f7f7");
  EXPECT_EQ(cells[2]->attribute("fill"), "#b2182b");
  EXPECT_NE(cells[0]->attribute("fill"), "#2166ac");  // -0.5 is a quarter of the reach: light blue

  options.value_min = -1.0;
  options.value_max = 1.0;
  const XmlDocument fixed_document = checked_svg(heatmap_svg({{}, {}, {{-1.0, 0.0, 1.0}}}, options));
  const auto fixed = find_elements(fixed_document, "rect", "cell");
  ASSERT_EQ(fixed.size(), 3u);
  EXPECT_EQ(fixed[0]->attribute("fill"), "#2166ac");
  EXPECT_EQ(fixed[1]->attribute("fill"), "#f7f7f7");
  EXPECT_EQ(fixed[2]->attribute("fill"), "#b2182b");
}

TEST(Heatmap, MissingValuesAreGreyCells) {
  HeatmapData data = three_by_four();
  data.values[1][2] = kNaN;
  data.values[2][3] = -kInfinity;
  const XmlDocument document = checked_svg(heatmap_svg(data));
  EXPECT_EQ(count_elements(document, "rect", "cell"), 10u);
  const auto missing = find_elements(document, "rect", "cell-missing");
  ASSERT_EQ(missing.size(), 2u);
  EXPECT_EQ(missing[0]->attribute("fill"), ColourScale::missing_colour().hex());
}

TEST(Heatmap, PrintedValuesUseAContrastingColour) {
  HeatmapOptions options;
  options.print_values = true;
  options.width = 700;
  const XmlDocument document = checked_svg(heatmap_svg(three_by_four(), options));
  const auto values = find_elements(document, "text", "cell-value");
  ASSERT_EQ(values.size(), 12u);
  EXPECT_EQ(values[0]->text, "0.00");
  EXPECT_EQ(values[0]->attribute("fill"), "#ffffff");  // on dark purple
  EXPECT_EQ(values[4]->text, "1.00");
  EXPECT_EQ(values[4]->attribute("fill"), "#000000");  // on yellow
}

TEST(Heatmap, LargeGridsThinTheirLabelsAndSkipUnreadableValues) {
  HeatmapData data;
  for (int layer = 0; layer < 32; ++layer) {
    data.values.emplace_back();
    for (int head = 0; head < 64; ++head) data.values.back().push_back(std::sin(layer * 0.3 + head * 0.1));
  }
  HeatmapOptions options;
  options.print_values = true;
  options.colour_scale = ColourScaleKind::kDiverging;
  const XmlDocument document = checked_svg(heatmap_svg(data, options));
  EXPECT_EQ(count_elements(document, "rect", "cell"), 32u * 64u);
  EXPECT_EQ(count_elements(document, "text", "cell-value"), 0u);
  EXPECT_LT(count_elements(document, "text", "category-label"), 32u + 64u);
}

TEST(Heatmap, EmptyOrAllMissingSaysNoData) {
  EXPECT_TRUE(says_no_data(heatmap_svg({})));
  EXPECT_TRUE(says_no_data(heatmap_svg({{}, {}, {{}, {}}})));
  EXPECT_TRUE(says_no_data(heatmap_svg({{}, {}, {{kNaN, kNaN}}})));
}

TEST(Heatmap, ErrorsNameTheProblem) {
  test::expect_error<ArgumentError>(
      [] {
        heatmap_svg({{}, {}, {{1.0, 2.0}, {1.0}}});
      },
      {"heatmap", "row 1 has 1 values", "row 0 has 2"});
  test::expect_error<ArgumentError>([] { heatmap_svg({{"a"}, {}, {{1.0}, {2.0}}}); }, {"1 row labels for 2 rows"});
  test::expect_error<ArgumentError>([] { heatmap_svg({{}, {"a", "b"}, {{1.0}}}); }, {"2 column labels for 1 columns"});
  HeatmapOptions options;
  options.colour_scale = ColourScaleKind::kDiverging;
  options.value_min = 0.5;
  test::expect_error<ArgumentError>(
      [&] {
        heatmap_svg({{}, {}, {{1.0}}}, options);
      },
      {"value_min 0.5", "diverging_centre"});
}

// --- histograms -------------------------------------------------------------------------------------------------

TEST(Histogram, CountsIncludeTheUpperEdgeAndSkipTheRest) {
  EXPECT_EQ(histogram_counts({0.0, 0.1, 0.5, 0.99, 1.0, kNaN, 2.0, -kInfinity}, 0.0, 1.0, 2),
            (std::vector<std::size_t>{2, 3}));
  test::expect_error<ArgumentError>([] { histogram_counts({}, 0.0, 1.0, 0); }, {"bins 0"});
  test::expect_error<ArgumentError>([] { histogram_counts({}, 1.0, 1.0, 3); }, {"[1, 1]"});
}

TEST(Histogram, OverlaidSeriesShareBinsAndShowTheirSizes) {
  std::vector<double> clean, poisoned;
  for (int i = 0; i < 100; ++i) clean.push_back(i / 100.0 * 0.6);         // 0 .. 0.594
  for (int i = 0; i < 40; ++i) poisoned.push_back(0.5 + i / 40.0 * 0.5);  // 0.5 .. 0.9875
  poisoned.push_back(kNaN);
  HistogramOptions options;
  options.bins = 10;
  options.range_min = 0.0;
  options.range_max = 1.0;
  options.x_label = "score";
  const XmlDocument document = checked_svg(histogram_svg({{"clean", clean}, {"poisoned", poisoned}}, options));
  // Only non-empty bins are drawn: clean fills bins 0-5, poisoned bins 5-9.
  EXPECT_EQ(count_elements(document, "rect", "bar"), 6u + 5u);
  EXPECT_EQ(texts_of(document, "legend-label"), (std::vector<std::string>{"clean (n=100)", "poisoned (n=40)"}));
  EXPECT_EQ(texts_of(document, "axis-title"), (std::vector<std::string>{"count", "score"}));
  const auto bars = find_elements(document, "rect", "bar");
  // All bins have the same width.
  for (const auto* bar : bars) EXPECT_NEAR(number_attribute(*bar, "width"), number_attribute(*bars[0], "width"), 0.02);
}

TEST(Histogram, DensityEqualisesClassesOfDifferentSizes) {
  HistogramOptions options;
  options.bins = 1;
  options.density = true;
  const XmlDocument document =
      checked_svg(histogram_svg({{"small", {0.0, 1.0}}, {"large", std::vector<double>(50, 0.5)}}, options));
  const auto bars = find_elements(document, "rect", "bar");
  ASSERT_EQ(bars.size(), 2u);
  EXPECT_NEAR(number_attribute(*bars[0], "height"), number_attribute(*bars[1], "height"), 0.02);
  EXPECT_EQ(texts_of(document, "axis-title"), std::vector<std::string>{"density"});
}

TEST(Histogram, ConstantValuesGiveOneBar) {
  const XmlDocument document = checked_svg(histogram_svg({{"scores", std::vector<double>(7, 0.3)}}));
  EXPECT_EQ(count_elements(document, "rect", "bar"), 1u);
}

TEST(Histogram, EmptyOrAllMissingSaysNoData) {
  EXPECT_TRUE(says_no_data(histogram_svg({})));
  EXPECT_TRUE(says_no_data(histogram_svg({{"a", {}}, {"b", {kNaN}}})));
}

TEST(Histogram, ErrorsNameTheProblem) {
  HistogramOptions options;
  options.bins = 0;
  test::expect_error<ArgumentError>([&] { histogram_svg({{"a", {1.0}}}, options); }, {"histogram", "bins 0"});
  options = {};
  options.range_min = kNaN;
  test::expect_error<ArgumentError>([&] { histogram_svg({{"a", {1.0}}}, options); }, {"range_min"});
  options = {};
  options.height = 100000;
  test::expect_error<ArgumentError>([&] { histogram_svg({{"a", {1.0}}}, options); }, {"histogram", "height 100000"});
}

// --- any input ---------------------------------------------------------------------------------------------------

// Random values (NaN, infinities, extremes, signed zeros, ordinary numbers) and hostile labels: every chart
// either draws well-formed SVG or refuses with an ArgumentError, never anything else.
TEST(AnyChart, RandomInputGivesWellFormedSvgOrArgumentError) {
  std::mt19937 random(20240611);
  const std::vector<double> specials = {kNaN, kInfinity, -kInfinity, 0.0, -0.0, 1e-300, -1e300, 1e300, 5e-324, 1e6};
  const std::vector<std::string> labels = {
      "", "a", kHostileLabel, std::string("\xFF\x00x", 3), "\xF0\x9F\x98\x80", std::string(300, 'w'), "line\nbreak"};
  const auto value = [&] {
    return random() % 3 == 0 ? specials[random() % specials.size()] : std::normal_distribution<double>(0, 3)(random);
  };
  const auto label = [&] { return labels[random() % labels.size()]; };
  const auto values = [&](std::size_t count) {
    std::vector<double> out;
    for (std::size_t i = 0; i < count; ++i) out.push_back(value());
    return out;
  };
  const auto expect_svg_or_argument_error = [](const auto& draw) {
    try {
      test::parse_xml(draw());
    } catch (const ArgumentError&) {
      // A refusal that names its reason is a valid outcome for absurd input (a range too wide to draw).
    } catch (const std::exception& error) {
      ADD_FAILURE() << error.what();
    }
  };
  for (int round = 0; round < 60; ++round) {
    const std::size_t count = random() % 6;
    std::vector<std::string> categories;
    for (std::size_t i = 0; i < count; ++i) categories.push_back(label());
    BarChartOptions bar_options;
    bar_options.title = label();
    bar_options.orientation = round % 2 ? BarOrientation::kHorizontal : BarOrientation::kVertical;
    expect_svg_or_argument_error([&] {
      return bar_chart_svg(categories, {{label(), values(count), values(count), values(count)}}, bar_options);
    });

    LineChartOptions line_options;
    line_options.y_scale = round % 3 ? AxisScale::kLinear : AxisScale::kLog;
    expect_svg_or_argument_error([&] {
      return line_chart_svg({{label(), values(count), values(count)}, {label(), values(2), values(2)}}, line_options);
    });

    HeatmapData data;
    for (std::size_t row = 0; row < count; ++row) data.values.push_back(values(3));
    HeatmapOptions heatmap_options;
    heatmap_options.colour_scale = round % 2 ? ColourScaleKind::kDiverging : ColourScaleKind::kSequential;
    heatmap_options.print_values = true;
    expect_svg_or_argument_error([&] { return heatmap_svg(data, heatmap_options); });

    HistogramOptions histogram_options;
    histogram_options.bins = 1 + static_cast<int>(random() % 50);
    expect_svg_or_argument_error([&] {
      return histogram_svg({{label(), values(count * 5)}, {label(), values(count)}}, histogram_options);
    });
  }
}

}  // namespace
}  // namespace moulin::report
