#include "report/html.h"

#include <fmt/format.h>

#include "report/table_layout.h"
#include "report/text_escape.h"

namespace moulin::report {
namespace {

constexpr const char* kStyle = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;line-height:1.5}
body{color:#1a1a1a;background:#fff;margin:0}
main{max-width:62rem;margin:0 auto;padding:1rem 1.5rem 3rem}
h1{font-size:1.8rem;margin:1rem 0 .5rem}
h2{font-size:1.35rem;border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2.2rem}
dl.metadata{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;font-size:.9rem;color:#444}
dl.metadata dt{font-weight:600}
dl.metadata dd{margin:0;overflow-wrap:anywhere}
nav.contents{font-size:.95rem}
.table-wrap{overflow-x:auto;margin:1rem 0}
table{border-collapse:collapse;font-size:.9rem}
caption{caption-side:top;text-align:left;font-style:italic;padding-bottom:.3rem}
th,td{border:1px solid #ccc;padding:.25rem .6rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}
.number{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1.5rem 0}
figure svg{max-width:100%;height:auto;display:block}
figcaption{font-size:.9rem;color:#444;margin-top:.4rem}
pre{background:#f6f8fa;border:1px solid #e1e4e8;padding:.75rem;overflow-x:auto;font-size:.85rem;line-height:1.35}
)";

// The SVG from its root element on: an XML declaration or comment before it has no place inside HTML.
std::string_view svg_root(const std::string& svg) {
  const std::size_t root = svg.find("<svg");
  return root == std::string::npos ? std::string_view(svg) : std::string_view(svg).substr(root);
}

// A paragraph's text as <p> elements: blank lines separate paragraphs, as they do in the Markdown rendering.
void append_paragraphs(std::string& out, const std::string& text) {
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find("\n\n", start);
    if (end == std::string::npos) end = text.size();
    const std::string_view part = std::string_view(text).substr(start, end - start);
    if (part.find_first_not_of(" \t\r\n") != std::string_view::npos)
      out += fmt::format("<p>{}</p>\n", xml_escape(part));
    start = end + 2;
  }
}

void append_table(std::string& out, const Table& table) {
  if (table.header.empty()) return;
  const std::vector<bool> numeric = numeric_columns(table);
  const auto cell_class = [&](std::size_t column) { return numeric[column] ? " class=\"number\"" : ""; };
  out += "<div class=\"table-wrap\"><table>\n";
  if (!table.caption.empty()) out += fmt::format("<caption>{}</caption>\n", xml_escape(table.caption));
  out += "<thead><tr>";
  for (std::size_t column = 0; column < table.header.size(); ++column)
    out += fmt::format("<th{}>{}</th>", cell_class(column), xml_escape(table.header[column]));
  out += "</tr></thead>\n<tbody>\n";
  for (const auto& row : table.rows) {
    out += "<tr>";
    for (std::size_t column = 0; column < row.size(); ++column)
      out += fmt::format("<td{}>{}</td>", cell_class(column), xml_escape(row[column].text(table.decimals)));
    out += "</tr>\n";
  }
  out += "</tbody>\n</table></div>\n";
}

void append_code(std::string& out, const CodeBlock& code) {
  std::string language_class;
  for (const char c : code.language)
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_')
      language_class += c;
  out += language_class.empty() ? "<pre><code>" : fmt::format("<pre><code class=\"language-{}\">", language_class);
  out += xml_escape(code.text) + "</code></pre>\n";
}

}  // namespace

std::string render_html(const Report& report) {
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
      "<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n<main>\n<h1>{}</h1>\n",
      xml_escape(single_line(report.title())), kStyle, xml_escape(report.title()));
  if (!report.metadata().empty()) {
    out += "<dl class=\"metadata\">\n";
    for (const auto& [key, value] : report.metadata())
      out += fmt::format("<dt>{}</dt><dd>{}</dd>\n", xml_escape(key), xml_escape(value));
    out += "</dl>\n";
  }
  // Contents only where there is something to jump between; the links are in-page anchors.
  const auto& sections = report.sections();
  if (sections.size() > 1) {
    out += "<nav class=\"contents\"><ol>\n";
    for (std::size_t i = 0; i < sections.size(); ++i)
      out += fmt::format("<li><a href=\"#section-{}\">{}</a></li>\n", i + 1, xml_escape(sections[i].title));
    out += "</ol></nav>\n";
  }
  for (std::size_t i = 0; i < sections.size(); ++i) {
    const Section& section = sections[i];
    out += fmt::format("<section id=\"section-{}\">\n<h2>{}</h2>\n", i + 1, xml_escape(section.title));
    for (const auto& block : section.blocks) {
      if (const auto* paragraph = std::get_if<Paragraph>(&block)) {
        append_paragraphs(out, paragraph->text);
      } else if (const auto* table = std::get_if<Table>(&block)) {
        append_table(out, *table);
      } else if (const auto* figure = std::get_if<Figure>(&block)) {
        out += "<figure>\n";
        out += svg_root(figure->svg);
        if (!figure->caption.empty()) out += fmt::format("<figcaption>{}</figcaption>\n", xml_escape(figure->caption));
        out += "</figure>\n";
      } else if (const auto* code = std::get_if<CodeBlock>(&block)) {
        append_code(out, *code);
      }
    }
    out += "</section>\n";
  }
  out += "</main>\n</body>\n</html>\n";
  return out;
}

}  // namespace moulin::report
