#pragma once
// A small XML well-formedness checker for the report tests: balanced and properly nested tags, quoted and
// unique attributes, known entities only, no markup characters where they cannot be, one root element,
// well-formed UTF-8. Enough for the SVG and XHTML-compatible HTML the report component writes; it reads
// neither DTDs nor namespaces. When Debian's xmllint is installed the tests also run it as a second opinion.
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moulin::test {

struct XmlElement {
  std::string name;
  std::map<std::string, std::string> attributes;  // entity references decoded
  std::string text;                               // the element's own character data, decoded
  std::size_t depth = 0;                          // 0 for the root

  bool has_class(std::string_view class_name) const;
  std::string attribute(const std::string& attribute_name) const;  // empty when absent
};

struct XmlDocument {
  std::vector<XmlElement> elements;  // document order
};

// Throws std::runtime_error with the byte offset and what is wrong.
XmlDocument parse_xml(std::string_view text);

// Elements named `name` (any name when empty) whose class attribute holds `class_name` (any when empty).
std::vector<const XmlElement*> find_elements(const XmlDocument& document, std::string_view name,
                                             std::string_view class_name = {});
std::size_t count_elements(const XmlDocument& document, std::string_view name, std::string_view class_name = {});

// xmllint's complaints about the file (empty when well-formed), or nullopt when xmllint is not installed.
std::optional<std::string> xmllint_errors(const std::filesystem::path& file);

}  // namespace moulin::test
