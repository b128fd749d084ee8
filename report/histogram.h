#pragma once
// Histograms, overlaid when there are several series: score distributions of poisoned and clean prompts,
// probe scores of two classes.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "report/chart_options.h"

namespace moulin::report {

struct HistogramSeries {
  std::string name;
  std::vector<double> values;  // NaN and infinities are left out
};

struct HistogramOptions : ChartOptions {
  int bins = 30;
  // The binned range, shared by all series so their bars line up; unset ends follow the finite values.
  std::optional<double> range_min;
  std::optional<double> range_max;
  // Heights as probability densities (each series integrates to 1), so classes of different sizes compare.
  bool density = false;
  // y_label defaults to "count" or "density" when left empty.
};

// How many of `values` fall in each of `bins` equal bins over [low, high]: bin i holds
// [low + i·w, low + (i+1)·w), the last also holds `high`. Values outside, NaN and infinities are not counted.
// Throws ArgumentError when bins < 1 or [low, high] is not a finite range with low < high.
std::vector<std::size_t> histogram_counts(const std::vector<double>& values, double low, double high, int bins);

// Throws ArgumentError for bins outside 1..10000 or a range that is not finite and ordered. No series or no
// finite value gives a "no data" chart.
std::string histogram_svg(const std::vector<HistogramSeries>& series, const HistogramOptions& options = {});

}  // namespace moulin::report
