#pragma once
// Checks shared by the chart and report suites: the SVG is well-formed (by xml_check, and by xmllint when
// installed) and its elements can be counted and measured.
#include <string>

#include "tests/report/xml_check.h"

namespace moulin::test {

// The parsed chart; a test failure (not an exception) when it is not a well-formed <svg> document.
XmlDocument checked_svg(const std::string& svg);

// A numeric attribute of an element (0 when absent).
double number_attribute(const XmlElement& element, const std::string& name);

}  // namespace moulin::test
