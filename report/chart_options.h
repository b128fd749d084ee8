#pragma once
// What every chart takes: its fixed pixel size, title and axis titles.
#include <string>

namespace moulin::report {

struct ChartOptions {
  int width = 640;   // pixels; the SVG also carries a viewBox, so HTML pages scale it down to fit
  int height = 400;  // pixels
  std::string title;
  std::string x_label;
  std::string y_label;
};

// The smallest chart that still has room for axes and a title.
inline constexpr int kMinChartSide = 160;
// A bound so a mistaken size (pixels of a 4K screen times ten) cannot produce a huge document.
inline constexpr int kMaxChartSide = 8000;

}  // namespace moulin::report
