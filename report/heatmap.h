#pragma once
// Heatmaps of a value per (row, column): activation-patching results per layer × position or layer × head,
// probe accuracy per layer × token. Rows run top to bottom in the order given.
#include <optional>
#include <string>
#include <vector>

#include "report/chart_options.h"
#include "report/colour_scale.h"

namespace moulin::report {

struct HeatmapData {
  std::vector<std::string> row_labels;      // one per row, or empty to number rows 0, 1, 2...
  std::vector<std::string> column_labels;   // one per column, or empty to number columns 0, 1, 2...
  std::vector<std::vector<double>> values;  // values[row][column], every row as long; NaN or infinite: missing
};

struct HeatmapOptions : ChartOptions {
  ColourScaleKind colour_scale = ColourScaleKind::kSequential;
  // The values the scale's end colours stand for. Unset ends follow the finite data; a diverging scale's
  // unset ends are placed symmetrically about diverging_centre, so equal effects either way look equally strong.
  std::optional<double> value_min;
  std::optional<double> value_max;
  double diverging_centre = 0.0;
  std::string colour_bar_label;
  // Each cell's value written in it, when cells are large enough for the text to be read.
  bool print_values = false;
  int value_decimals = 2;  // for printed values and tooltips
};

// The colour scale heatmap_svg applies to `data` with `options` (a cell's colour is scale.colour(value)).
// Throws ArgumentError for ends that are not finite or not ordered around the diverging centre.
ColourScale heatmap_colour_scale(const HeatmapData& data, const HeatmapOptions& options);

// Throws ArgumentError for rows of different lengths, label counts that do not match, or options out of
// range. No rows, no columns or no finite value gives a "no data" chart.
std::string heatmap_svg(const HeatmapData& data, const HeatmapOptions& options = {});

}  // namespace moulin::report
