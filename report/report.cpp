#include "report/report.h"

#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "report/number_format.h"

namespace moulin::report {
namespace {

// Whether `svg` is an SVG document: an <svg> root after optional whitespace, XML declaration and comments.
bool looks_like_svg(const std::string& svg) {
  std::size_t at = svg.find_first_not_of(" \t\r\n");
  while (at != std::string::npos && (svg.compare(at, 2, "<?") == 0 || svg.compare(at, 4, "<!--") == 0)) {
    const bool declaration = svg.compare(at, 2, "<?") == 0;
    const std::size_t end = svg.find(declaration ? "?>" : "-->", at);
    if (end == std::string::npos) return false;
    at = svg.find_first_not_of(" \t\r\n", end + (declaration ? 2 : 3));
  }
  return at != std::string::npos && svg.compare(at, 4, "<svg") == 0 && svg.find("</svg>") != std::string::npos;
}

std::string file_stem(const std::string& name) {
  std::string stem;
  for (const char c : name) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (c >= 'A' && c <= 'Z') {
      stem += static_cast<char>(c - 'A' + 'a');
    } else if (keep) {
      stem += c;
    } else if (!stem.empty() && stem.back() != '-') {
      stem += '-';
    }
  }
  while (!stem.empty() && stem.back() == '-') stem.pop_back();
  constexpr std::size_t kMaxStemLength = 80;
  if (stem.size() > kMaxStemLength) stem.resize(kMaxStemLength);
  return stem;
}

}  // namespace

std::string Cell::text(int decimals) const {
  if (const auto* text = std::get_if<std::string>(&value_)) return *text;
  if (const auto* integer = std::get_if<std::int64_t>(&value_)) return std::to_string(*integer);
  if (const auto* real = std::get_if<double>(&value_)) return format_number(*real, decimals);
  return {};
}

Section& Section::add_paragraph(std::string text) {
  blocks.emplace_back(Paragraph{std::move(text)});
  return *this;
}

Section& Section::add_table(Table table) {
  for (std::size_t row = 0; row < table.rows.size(); ++row)
    if (table.rows[row].size() != table.header.size())
      throw ArgumentError(fmt::format("section '{}': table row {} has {} cells for {} columns", title, row,
                                      table.rows[row].size(), table.header.size()));
  if (table.decimals < 0 || table.decimals > 17)
    throw ArgumentError(fmt::format("section '{}': table decimals {} is outside 0..17", title, table.decimals));
  blocks.emplace_back(std::move(table));
  return *this;
}

Section& Section::add_figure(std::string name, std::string svg, std::string caption) {
  if (!looks_like_svg(svg))
    throw ArgumentError(fmt::format("section '{}': figure '{}' is not an <svg> document", title, name));
  blocks.emplace_back(Figure{std::move(name), std::move(svg), std::move(caption)});
  return *this;
}

Section& Section::add_code(std::string text, std::string language) {
  blocks.emplace_back(CodeBlock{std::move(text), std::move(language)});
  return *this;
}

Report::Report(std::string title) : title_(std::move(title)) {}

void Report::add_metadata(std::string key, std::string value) {
  metadata_.emplace_back(std::move(key), std::move(value));
}

void Report::add_metadata(const nlohmann::json& fields) {
  if (!fields.is_object())
    throw ArgumentError(fmt::format("report '{}': metadata must be a JSON object, not {}", title_, fields.type_name()));
  for (const auto& [key, value] : fields.items())
    add_metadata(key, value.is_string() ? value.get<std::string>() : value.dump());
}

Section& Report::add_section(std::string title) {
  sections_.push_back(Section{std::move(title), {}});
  return sections_.back();
}

std::vector<std::string> figure_file_stems(const Report& report) {
  std::vector<std::string> stems;
  std::set<std::string> taken;
  for (const auto& section : report.sections()) {
    for (const auto& block : section.blocks) {
      const auto* figure = std::get_if<Figure>(&block);
      if (!figure) continue;
      std::string base = file_stem(figure->name);
      if (base.empty()) base = fmt::format("figure-{}", stems.size() + 1);
      std::string stem = base;
      for (int repeat = 2; taken.count(stem) > 0; ++repeat) stem = fmt::format("{}-{}", base, repeat);
      taken.insert(stem);
      stems.push_back(std::move(stem));
    }
  }
  return stems;
}

}  // namespace moulin::report
