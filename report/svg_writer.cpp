#include "report/svg_writer.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "report/text_escape.h"

namespace moulin::report {

std::string svg_number(double value) {
  if (!std::isfinite(value)) return "0";  // callers skip non-finite data; this only guards the markup
  std::string text = fmt::format("{:.2f}", value);
  text.erase(text.find_last_not_of('0') + 1);
  if (text.back() == '.') text.pop_back();
  if (text == "-0") text = "0";
  return text;
}

SvgWriter::SvgWriter(int width, int height, std::string_view title) {
  const std::string escaped_title = xml_escape(title);
  out_ = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\" role=\"img\"{2}>\n",
      width, height, title.empty() ? std::string() : fmt::format(" aria-label=\"{}\"", escaped_title));
  if (!title.empty()) out_ += fmt::format("<title>{}</title>\n", escaped_title);
  out_ += fmt::format("<rect class=\"background\" x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>\n",
                      width, height);
}

void SvgWriter::element_end(std::string_view name, std::string_view tooltip) {
  if (tooltip.empty()) {
    out_ += "/>\n";
  } else {
    out_ += fmt::format("><title>{}</title></{}>\n", xml_escape(tooltip), name);
  }
}

void SvgWriter::rect(double x, double y, double width, double height, std::string_view attributes,
                     std::string_view tooltip) {
  out_ += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" {}", svg_number(x), svg_number(y),
                      svg_number(std::max(width, 0.0)), svg_number(std::max(height, 0.0)), attributes);
  element_end("rect", tooltip);
}

void SvgWriter::line(double x1, double y1, double x2, double y2, std::string_view attributes) {
  out_ += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" {}", svg_number(x1), svg_number(y1),
                      svg_number(x2), svg_number(y2), attributes);
  element_end("line", {});
}

void SvgWriter::path(std::string_view data, std::string_view attributes, std::string_view tooltip) {
  out_ += fmt::format("<path d=\"{}\" {}", data, attributes);
  element_end("path", tooltip);
}

void SvgWriter::circle(double cx, double cy, double radius, std::string_view attributes, std::string_view tooltip) {
  out_ += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"{}\" {}", svg_number(cx), svg_number(cy), svg_number(radius),
                      attributes);
  element_end("circle", tooltip);
}

void SvgWriter::text(double x, double y, std::string_view content, std::string_view attributes,
                     std::string_view tooltip) {
  out_ += fmt::format("<text x=\"{}\" y=\"{}\" {}>{}", svg_number(x), svg_number(y), attributes, xml_escape(content));
  if (!tooltip.empty()) out_ += fmt::format("<title>{}</title>", xml_escape(tooltip));
  out_ += "</text>\n";
}

void SvgWriter::open_viewport(double x, double y, double width, double height, std::string_view attributes) {
  out_ += fmt::format("<svg x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" overflow=\"hidden\" {}>\n", svg_number(x),
                      svg_number(y), svg_number(std::max(width, 0.0)), svg_number(std::max(height, 0.0)), attributes);
  open_elements_.push_back("svg");
}

void SvgWriter::open_group(std::string_view attributes) {
  out_ += fmt::format("<g {}>\n", attributes);
  open_elements_.push_back("g");
}

void SvgWriter::close() {
  if (open_elements_.empty()) return;
  out_ += fmt::format("</{}>\n", open_elements_.back());
  open_elements_.pop_back();
}

std::string SvgWriter::finish() {
  while (!open_elements_.empty()) close();
  out_ += "</svg>\n";
  return std::move(out_);
}

}  // namespace moulin::report
