// The tests' XML checker itself: the chart and report tests are only as strict as it is, so it must reject
// each kind of malformed markup, and xmllint (when installed) must be really consulted.
#include <gtest/gtest.h>

#include <string>

#include "tests/report/xml_check.h"
#include "tests/support/temp_dir.h"

namespace moulin::test {
namespace {

TEST(XmlCheck, AcceptsWellFormedDocumentsAndDecodesText) {
  const XmlDocument document = parse_xml(
      "<?xml version=\"1.0\"?>\n<!DOCTYPE html>\n<!-- c -->\n<a x='1' y=\"&lt;&amp;&#65;&#x42;\">"
      "t&gt;<b class=\"u v\"/><![CDATA[<raw>]]></a>\n");
  ASSERT_EQ(document.elements.size(), 2u);
  EXPECT_EQ(document.elements[0].attribute("y"), "<&AB");
  EXPECT_EQ(document.elements[0].text, "t><raw>");
  EXPECT_EQ(count_elements(document, "b", "v"), 1u);
  EXPECT_EQ(count_elements(document, "b", "w"), 0u);
  EXPECT_EQ(document.elements[1].depth, 1u);
}

TEST(XmlCheck, RejectsMalformedMarkup) {
  for (const char* malformed : {
           "<a><b></a></b>",           // crossed tags
           "<a>",                      // unclosed
           "<a></a><b></b>",           // two roots
           "<a x=1></a>",              // unquoted attribute
           "<a x=\"1\" x=\"2\"></a>",  // repeated attribute
           "<a x=\"<\"></a>",          // '<' in an attribute value
           "<a>&nbsp;</a>",            // entity XML does not define
           "<a>AT&T</a>",              // bare ampersand
           "<a>\x01</a>",              // control character
           "<a>\xC3</a>",              // ill-formed UTF-8
           "<a x=\"1\"y=\"2\"></a>",   // attributes run together
           "text",                     // no root
       }) {
    EXPECT_THROW(parse_xml(malformed), std::runtime_error) << malformed;
  }
}

TEST(XmlCheck, XmllintIsConsultedWhenInstalled) {
  const TempDir folder;
  write_file(folder / "bad.xml", "<a><b></a>");
  write_file(folder / "good.xml", "<a><b/></a>");
  const auto bad = xmllint_errors(folder / "bad.xml");
  if (!bad) GTEST_SKIP() << "xmllint is not installed (Debian package libxml2-utils)";
  EXPECT_NE(*bad, "");
  EXPECT_EQ(*xmllint_errors(folder / "good.xml"), "");
}

}  // namespace
}  // namespace moulin::test
