#include "report/markdown.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "report/text_escape.h"
#include "report/table_layout.h"

namespace moulin::report {
namespace {

void append_table(std::string& out, const Table& table) {
  if (table.header.empty()) return;
  if (!table.caption.empty()) out += fmt::format("*{}*\n\n", markdown_escape_inline(table.caption));
  const std::vector<bool> numeric = numeric_columns(table);
  const auto row_text = [&](const std::vector<std::string>& cells) {
    std::string line = "|";
    for (const auto& cell : cells) line += " " + cell + " |";
    return line + "\n";
  };
  std::vector<std::string> cells;
  for (const auto& title : table.header) cells.push_back(markdown_escape_inline(title));
  out += row_text(cells);
  cells.clear();
  // The delimiter row right-aligns numeric columns, so digits line up.
  for (std::size_t column = 0; column < table.header.size(); ++column)
    cells.push_back(numeric[column] ? "---:" : "---");
  out += row_text(cells);
  for (const auto& row : table.rows) {
    cells.clear();
    for (const auto& cell : row) {
      // Formatted numbers hold nothing Markdown reads as markup; escaping them would only clutter the source.
      const std::string text = cell.text(table.decimals);
      cells.push_back(cell.is_number() ? text : markdown_escape_inline(text));
    }
    out += row_text(cells);
  }
  out += "\n";
}

void append_code(std::string& out, const CodeBlock& code) {
  // The fence must be longer than any run of backticks inside, or the text would close it early.
  std::size_t longest_run = 0;
  std::size_t run = 0;
  for (const char c : code.text) {
    run = c == '`' ? run + 1 : 0;
    longest_run = std::max(longest_run, run);
  }
  const std::string fence(std::max<std::size_t>(3, longest_run + 1), '`');
  std::string language;
  for (const char c : code.language)
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '+' || c == '.')
      language += c;
  std::string text = utf8_repaired(code.text);
  if (!text.empty() && text.back() != '\n') text += '\n';
  out += fmt::format("{}{}\n{}{}\n\n", fence, language, text, fence);
}

}  // namespace

std::string render_markdown(const Report& report, const std::string& figure_link_prefix) {
  if (figure_link_prefix.find_first_of(" \t\r\n()<>") != std::string::npos)
    throw ArgumentError(
        fmt::format("render_markdown: figure link prefix '{}' holds whitespace, parentheses or "
                    "angle brackets",
                    figure_link_prefix));
  const std::vector<std::string> stems = figure_file_stems(report);
  std::size_t figure_index = 0;

  std::string out = fmt::format("# {}\n\n", markdown_escape_inline(report.title()));
  for (const auto& [key, value] : report.metadata())
    out += fmt::format("- **{}**: {}\n", markdown_escape_inline(key), markdown_escape_inline(value));
  if (!report.metadata().empty()) out += "\n";

  for (const auto& section : report.sections()) {
    out += fmt::format("## {}\n\n", markdown_escape_inline(section.title));
    for (const auto& block : section.blocks) {
      if (const auto* paragraph = std::get_if<Paragraph>(&block)) {
        out += markdown_escape(paragraph->text) + "\n\n";
      } else if (const auto* table = std::get_if<Table>(&block)) {
        append_table(out, *table);
      } else if (const auto* figure = std::get_if<Figure>(&block)) {
        const std::string& stem = stems[figure_index++];
        const std::string& alt = figure->caption.empty() ? figure->name : figure->caption;
        out += fmt::format("![{}]({}{}.svg)\n\n", markdown_escape_inline(alt), figure_link_prefix, stem);
        if (!figure->caption.empty()) out += fmt::format("*{}*\n\n", markdown_escape_inline(figure->caption));
      } else if (const auto* code = std::get_if<CodeBlock>(&block)) {
        append_code(out, *code);
      }
    }
  }
  return out;
}

}  // namespace moulin::report
