#pragma once
// A small writer of SVG markup, from which the charts are built.
// Charts are written as SVG by hand. No plotting library fits: Debian's C++-usable ones without Python either
// drive an external program (gnuplot-iostream needs gnuplot) or pull in GUI toolkits and a Fortran runtime
// (libplplot-dev depends on Qt, wxWidgets and gfortran; MathGL is similarly large), all for four chart types.
// Hand-written SVG also gives what the HTML report needs: text that stays text, hover tooltips, and no id
// attributes, since several charts are inlined in one page, where ids would collide.
#include <string>
#include <string_view>
#include <vector>

namespace moulin::report {

// A pixel coordinate or length, short: two decimals at most, trailing zeros dropped.
std::string svg_number(double value);

class SvgWriter {
 public:
  // Opens the root <svg> with its size, a <title> for screen readers and a white background.
  SvgWriter(int width, int height, std::string_view title);

  // `attributes` are written as given (callers build them from numbers and fixed names); `tooltip` and `content`
  // are escaped here. A non-empty tooltip becomes a <title> child, shown on hover in browsers.
  void rect(double x, double y, double width, double height, std::string_view attributes,
            std::string_view tooltip = {});
  void line(double x1, double y1, double x2, double y2, std::string_view attributes);
  void path(std::string_view data, std::string_view attributes, std::string_view tooltip = {});
  void circle(double cx, double cy, double radius, std::string_view attributes, std::string_view tooltip = {});
  void text(double x, double y, std::string_view content, std::string_view attributes, std::string_view tooltip = {});

  // A nested <svg> viewport at (x, y): what is drawn until close_viewport() uses coordinates relative to its
  // corner and is clipped to it. Clipping this way needs no clipPath id (see above).
  void open_viewport(double x, double y, double width, double height, std::string_view attributes = {});
  void open_group(std::string_view attributes);
  // Closes the innermost open viewport or group.
  void close();

  // The finished document, with whatever is still open closed. The writer is left empty.
  std::string finish();

 private:
  void element_end(std::string_view name, std::string_view tooltip);
  std::string out_;
  std::vector<std::string_view> open_elements_;
};

}  // namespace moulin::report
