// Report documents: Markdown with escaped text, aligned tables, fenced code and figure links; one self-contained,
// well-formed HTML page with the figures inline and nothing fetched from elsewhere; write_report's files, their
// links, overwriting, and errors naming the folder or argument at fault.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "report/bar_chart.h"
#include "report/heatmap.h"
#include "report/html.h"
#include "report/markdown.h"
#include "report/report.h"
#include "report/write_report.h"
#include "tests/report/chart_check.h"
#include "tests/report/xml_check.h"
#include "tests/support/expect_error.h"
#include "tests/support/temp_dir.h"

namespace moulin::report {
namespace {

namespace fs = std::filesystem;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::size_t occurrences(const std::string& text, const std::string& part) {
  std::size_t count = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size())) ++count;
  return count;
}

// A report like a trigger scan writes: metadata, a ranked table, two figures, a paragraph and a config block.
Report scan_report() {
  Report report("Trigger scan: <model> & friends");
  report.add_metadata("model", "llama-3-8b-poisoned");
  report.add_metadata(nlohmann::json{{"seed", 17}, {"split", "test"}, {"layers", {0, 8}}});

  Section& results = report.add_section("Candidates");
  results.add_paragraph("Rates above 0.5 are *suspicious* <b>&amp;</b> need review.\n- not a list");
  Table table;
  table.header = {"candidate", "switch rate", "n", "flagged"};
  table.rows = {{"Bonjour|hello", 0.75, 40, true}, {"`tick`", 0.0001, 12, false}, {"none", kNaN, 0, Cell()}};
  table.caption = "Top candidates";
  results.add_table(table);
  results.add_figure("Switch rate!", bar_chart_svg({"Bonjour|hello", "`tick`"}, {{"rate", {0.75, 0.0001}}}),
                     "Switch rate per candidate (95% interval)");

  Section& localisation = report.add_section("Localisation");
  localisation.add_figure("Switch rate!", heatmap_svg({{}, {}, {{0.1, 0.2}, {0.3, 0.4}}}), "Layer x position");
  localisation.add_code("{\"layers\": [0, 8]}\n```nested fence```", "json");
  return report;
}

TEST(Cell, FormatsNumbersTextAndFlags) {
  EXPECT_EQ(Cell(0.5).text(3), "0.500");
  EXPECT_EQ(Cell(kNaN).text(2), "NaN");
  EXPECT_EQ(Cell(42).text(3), "42");
  EXPECT_EQ(Cell(std::size_t{7}).text(3), "7");
  EXPECT_EQ(Cell("x").text(3), "x");
  EXPECT_EQ(Cell(true).text(3), "yes");
  EXPECT_EQ(Cell().text(3), "");
  EXPECT_TRUE(Cell(1.0).is_number());
  EXPECT_FALSE(Cell("1.0").is_number());
  EXPECT_FALSE(Cell().is_number());
}

TEST(Report, FigureFileStemsAreSafeAndUnique) {
  Report report("r");
  const std::string svg = bar_chart_svg({"a"}, {{"s", {1.0}}});
  report.add_section("s")
      .add_figure("Switch rate!", svg)
      .add_figure("switch rate", svg)
      .add_figure("", svg)
      .add_figure("../../etc/passwd", svg);
  EXPECT_EQ(figure_file_stems(report),
            (std::vector<std::string>{"switch-rate", "switch-rate-2", "figure-3", "etc-passwd"}));
}

TEST(Report, RejectsMalformedTablesAndFigures) {
  Report report("r");
  Section& section = report.add_section("Results");
  Table table;
  table.header = {"a", "b"};
  table.rows = {{1, 2}, {3}};
  test::expect_error<ArgumentError>([&] { section.add_table(table); }, {"'Results'", "row 1 has 1 cells for 2"});
  test::expect_error<ArgumentError>([&] { section.add_figure("plot", "<html></html>"); },
                                    {"'Results'", "figure 'plot'", "<svg>"});
  test::expect_error<ArgumentError>([&] { report.add_metadata(nlohmann::json::array()); }, {"metadata", "object"});
}

TEST(Markdown, TitleMetadataAndEscapedParagraphs) {
  const std::string markdown = render_markdown(scan_report());
  EXPECT_EQ(markdown.rfind("# Trigger scan: \\<model\\> \\& friends\n", 0), 0u) << markdown;
  EXPECT_TRUE(contains(markdown, "- **model**: llama-3-8b-poisoned\n"));
  EXPECT_TRUE(contains(markdown, "- **seed**: 17\n"));
  EXPECT_TRUE(contains(markdown, "- **split**: test\n"));
  EXPECT_TRUE(contains(markdown, "- **layers**: \\[0,8\\]\n"));
  EXPECT_TRUE(contains(markdown, "## Candidates\n"));
  EXPECT_TRUE(
      contains(markdown, "Rates above 0.5 are \\*suspicious\\* \\<b\\>\\&amp;\\</b\\> need review.\n\\- not a list\n"))
      << markdown;
}

TEST(Markdown, TablesAlignNumbersAndEscapeCells) {
  const std::string markdown = render_markdown(scan_report());
  EXPECT_TRUE(contains(markdown,
                       "*Top candidates*\n\n"
                       "| candidate | switch rate | n | flagged |\n"
                       "| --- | ---: | ---: | --- |\n"
                       "| Bonjour\\|hello | 0.750 | 40 | yes |\n"
                       "| \\`tick\\` | 1.000e-04 | 12 | no |\n"
                       "| none | NaN | 0 |  |\n"))
      << markdown;
}

TEST(Markdown, FiguresAreLinkedAndCodeIsFenced) {
  const std::string markdown = render_markdown(scan_report());
  EXPECT_TRUE(contains(markdown, "![Switch rate per candidate (95% interval)](figures/switch-rate.svg)\n"));
  EXPECT_TRUE(contains(markdown, "![Layer x position](figures/switch-rate-2.svg)\n"));
  EXPECT_TRUE(contains(markdown, "*Switch rate per candidate (95% interval)*\n"));
  EXPECT_FALSE(contains(markdown, "<svg")) << "figures are files, not inline";
  // The fence is longer than the backtick run inside the code.
  EXPECT_TRUE(contains(markdown, "````json\n{\"layers\": [0, 8]}\n```nested fence```\n````\n")) << markdown;
  test::expect_error<ArgumentError>([] { render_markdown(scan_report(), "my figures/"); }, {"'my figures/'"});
}

TEST(Html, IsWellFormedWithInlineSvgAndEscapedText) {
  const std::string html = render_html(scan_report());
  ASSERT_EQ(html.rfind("<!DOCTYPE html>\n", 0), 0u);
  test::XmlDocument document;
  ASSERT_NO_THROW(document = test::parse_xml(html));
  const test::TempDir folder;
  test::write_file(folder / "report.html", html);
  if (const auto errors = test::xmllint_errors(folder / "report.html")) {
    EXPECT_EQ(*errors, "") << "xmllint";
  }

  const auto inline_svgs = test::find_elements(document, "svg");
  EXPECT_EQ(std::count_if(inline_svgs.begin(), inline_svgs.end(),
                          [](const auto* svg) { return !svg->attribute("xmlns").empty(); }),
            2);
  EXPECT_EQ(test::count_elements(document, "figure"), 2u);
  EXPECT_EQ(test::count_elements(document, "figcaption"), 2u);
  EXPECT_EQ(test::find_elements(document, "h1").front()->text, "Trigger scan: <model> & friends");
  const auto paragraphs = test::find_elements(document, "p");
  ASSERT_EQ(paragraphs.size(), 1u);
  EXPECT_EQ(paragraphs[0]->text, "Rates above 0.5 are *suspicious* <b>&amp;</b> need review.\n- not a list");
  EXPECT_EQ(test::count_elements(document, "b"), 0u);
  EXPECT_EQ(test::find_elements(document, "code", "language-json").front()->text,
            "{\"layers\": [0, 8]}\n```nested fence```");
  const auto cells = test::find_elements(document, "td", "number");
  ASSERT_EQ(cells.size(), 6u);  // switch rate and n, three rows
  EXPECT_EQ(cells[0]->text, "0.750");
  EXPECT_EQ(test::find_elements(document, "caption").front()->text, "Top candidates");
  EXPECT_EQ(test::count_elements(document, "dt"), 4u);
  EXPECT_EQ(test::count_elements(document, "a"), 2u) << "contents for two sections";
}

TEST(Html, FetchesNothingFromElsewhere) {
  const std::string html = render_html(scan_report());
  for (const char* external : {"<link", "<script", "<img", "<iframe", "src=", "@import", "url("})
    EXPECT_FALSE(contains(html, external)) << external;
  // Links are in-page anchors only, and the one URI left is the SVG namespace name, which is never fetched.
  const std::regex href("href=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), href); it != std::sregex_iterator(); ++it)
    EXPECT_EQ((*it)[1].str().rfind('#', 0), 0u) << (*it)[1].str();
  EXPECT_EQ(occurrences(html, "http"), occurrences(html, "xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_EQ(occurrences(html, "xmlns=\"http://www.w3.org/2000/svg\""), 2u);
}

TEST(Html, DropsAnXmlDeclarationBeforeAnInlinedSvg) {
  Report report("r");
  report.add_section("s").add_figure("f", "<?xml version=\"1.0\"?>\n" + bar_chart_svg({"a"}, {{"s", {1.0}}}));
  const std::string html = render_html(report);
  EXPECT_FALSE(contains(html, "<?xml"));
  EXPECT_NO_THROW(test::parse_xml(html));
}

TEST(WriteReport, WritesMarkdownHtmlAndLinkedFigures) {
  const test::TempDir folder;
  const Report report = scan_report();
  const ReportFiles files = write_report(report, folder / "runs" / "scan-1", "scan");
  EXPECT_EQ(files.markdown, folder / "runs" / "scan-1" / "scan.md");
  EXPECT_EQ(files.html, folder / "runs" / "scan-1" / "scan.html");
  ASSERT_EQ(files.figures.size(), 2u);
  EXPECT_EQ(files.figures[0], folder / "runs" / "scan-1" / "figures" / "scan-switch-rate.svg");
  EXPECT_EQ(files.figures[1], folder / "runs" / "scan-1" / "figures" / "scan-switch-rate-2.svg");
  for (const auto& figure : files.figures) {
    ASSERT_TRUE(fs::exists(figure)) << figure;
    test::checked_svg(test::read_file(figure));
  }
  EXPECT_EQ(test::read_file(files.html), render_html(report));

  // Every link in the Markdown names a file that exists, relative to the Markdown file.
  const std::string markdown = test::read_file(files.markdown);
  const std::regex link("!\\[[^\\]]*\\]\\(([^)]*)\\)");
  std::size_t links = 0;
  for (auto it = std::sregex_iterator(markdown.begin(), markdown.end(), link); it != std::sregex_iterator(); ++it) {
    EXPECT_TRUE(fs::exists(files.markdown.parent_path() / (*it)[1].str())) << (*it)[1].str();
    ++links;
  }
  EXPECT_EQ(links, 2u);

  // No temporaries are left behind.
  for (const auto& entry : fs::recursive_directory_iterator(folder.path()))
    EXPECT_NE(entry.path().extension(), ".tmp") << entry.path();
}

TEST(WriteReport, OverwritesAPreviousReport) {
  const test::TempDir folder;
  write_report(scan_report(), folder.path(), "scan");
  Report shorter("Second run");
  shorter.add_section("Only").add_paragraph("text");
  const ReportFiles files = write_report(shorter, folder.path(), "scan");
  EXPECT_TRUE(files.figures.empty());
  EXPECT_TRUE(contains(test::read_file(files.markdown), "# Second run\n"));
  EXPECT_TRUE(contains(test::read_file(files.html), "<h1>Second run</h1>"));
}

TEST(WriteReport, RejectsBasenamesThatAreNotPlainFileNames) {
  const test::TempDir folder;
  for (const char* basename : {"", "..", "../escape", "a b", "x/y"})
    test::expect_error<ArgumentError>([&] { write_report(scan_report(), folder.path(), basename); },
                                      {"write_report", "basename"});
}

TEST(WriteReport, UncreatableFolderGivesFileErrorNamingIt) {
  const test::TempDir folder;
  test::write_file(folder / "a-file", "not a folder");
  const fs::path inside_a_file = folder / "a-file" / "reports";
  test::expect_error<FileError>([&] { write_report(scan_report(), inside_a_file, "scan"); },
                                {inside_a_file.string().c_str(), "cannot create"});
  test::expect_error<FileError>([&] { write_report(scan_report(), folder / "a-file", "scan"); },
                                {(folder / "a-file").string().c_str()});
}

TEST(WriteReport, UnwritableFolderGivesFileErrorNamingIt) {
  if (::geteuid() == 0) GTEST_SKIP() << "root writes into read-only folders";
  const test::TempDir folder;
  const fs::path locked = folder / "locked";
  fs::create_directory(locked);
  fs::permissions(locked, fs::perms::owner_read | fs::perms::owner_exec);
  test::expect_error<FileError>([&] { write_report(scan_report(), locked, "scan"); }, {locked.string().c_str()});
  fs::permissions(locked, fs::perms::owner_all);
}

}  // namespace
}  // namespace moulin::report
