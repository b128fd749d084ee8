#include "tests/report/chart_check.h"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace moulin::test {

XmlDocument checked_svg(const std::string& svg) {
  XmlDocument document;
  try {
    document = parse_xml(svg);
  } catch (const std::exception& error) {
    ADD_FAILURE() << error.what();
    return document;
  }
  EXPECT_EQ(document.elements.front().name, "svg");
  EXPECT_EQ(document.elements.front().attribute("xmlns"), "http://www.w3.org/2000/svg");
  const TempDir folder;
  write_file(folder / "chart.svg", svg);
  if (const auto errors = xmllint_errors(folder / "chart.svg")) {
    EXPECT_EQ(*errors, "") << "xmllint";
  }
  return document;
}

double number_attribute(const XmlElement& element, const std::string& name) {
  const std::string value = element.attribute(name);
  return value.empty() ? 0.0 : std::stod(value);
}

}  // namespace moulin::test
