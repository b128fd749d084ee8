#pragma once
// A report document: what a trigger scan, inversion, localisation or mitigation study found, as a title,
// run metadata and sections of paragraphs, tables, figures and preformatted blocks. Rendered to Markdown
// (markdown.h) and to a self-contained HTML page (html.h); write_report.h writes both.
#include <cstdint>
#include <deque>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace moulin::report {

// A table cell: text, an integer or a real number (formatted with the table's decimals), or empty.
class Cell {
 public:
  Cell() = default;
  Cell(std::string text) : value_(std::move(text)) {}    // NOLINT(google-explicit-constructor): cells read as literals
  Cell(const char* text) : value_(std::string(text)) {}  // NOLINT(google-explicit-constructor)
  Cell(double number) : value_(number) {}                // NOLINT(google-explicit-constructor)
  template <typename Integer, std::enable_if_t<std::is_integral_v<Integer> && !std::is_same_v<Integer, bool> &&
                                                   !std::is_same_v<Integer, char>,
                                               int> = 0>
  Cell(Integer number) : value_(static_cast<std::int64_t>(number)) {}  // NOLINT(google-explicit-constructor)
  // "yes" / "no": a bool would otherwise silently become the integer 0 or 1.
  Cell(bool flag) : value_(std::string(flag ? "yes" : "no")) {}  // NOLINT(google-explicit-constructor)

  bool is_number() const { return !std::holds_alternative<std::string>(value_) && !is_empty(); }
  bool is_empty() const { return std::holds_alternative<std::monostate>(value_); }
  // The cell as text: integers in full, reals by format_number(value, decimals), text as is.
  std::string text(int decimals) const;

 private:
  std::variant<std::monostate, std::string, std::int64_t, double> value_;
};

struct Paragraph {
  std::string text;  // plain text: escaped on output, never read as Markdown or HTML
};

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<Cell>> rows;  // each row as long as the header
  int decimals = 3;                     // for real-number cells
  std::string caption;                  // optional
};

struct Figure {
  std::string name;     // names the .svg file (made file-name safe and unique); empty: "figure-N"
  std::string svg;      // a complete <svg> document, e.g. from bar_chart_svg
  std::string caption;  // optional
};

struct CodeBlock {
  std::string text;      // shown verbatim, monospaced
  std::string language;  // optional Markdown info string: "json", "text"
};

using Block = std::variant<Paragraph, Table, Figure, CodeBlock>;

struct Section {
  std::string title;
  std::vector<Block> blocks;

  Section& add_paragraph(std::string text);
  // Throws ArgumentError when a row is not as long as the header.
  Section& add_table(Table table);
  // Throws ArgumentError when `svg` is not an <svg> document.
  Section& add_figure(std::string name, std::string svg, std::string caption = {});
  Section& add_code(std::string text, std::string language = {});
};

class Report {
 public:
  explicit Report(std::string title);

  const std::string& title() const { return title_; }
  // Key/value lines shown under the title (model, checkpoint, seed, date...), in the order added.
  const std::vector<std::pair<std::string, std::string>>& metadata() const { return metadata_; }
  const std::deque<Section>& sections() const { return sections_; }

  void add_metadata(std::string key, std::string value);
  // Each top-level field of a JSON object (run options, say): strings as they are, other values as JSON text.
  // Throws ArgumentError when `fields` is not an object.
  void add_metadata(const nlohmann::json& fields);
  // The new section; the reference stays valid while the report lives (sections are never moved).
  Section& add_section(std::string title);

 private:
  std::string title_;
  std::vector<std::pair<std::string, std::string>> metadata_;
  std::deque<Section> sections_;
};

// The file stem of each figure of `report`, in document order: its name lower-cased with anything but
// letters, digits, '-' and '_' made '-', "figure-N" when that leaves nothing, and "-2", "-3"... appended to
// repeats, so every stem is a distinct, portable file name.
std::vector<std::string> figure_file_stems(const Report& report);

}  // namespace moulin::report
