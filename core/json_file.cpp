#include "core/json_file.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>

#include <fmt/format.h>

#include "core/error.h"

namespace moulin {

nlohmann::json read_json_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!std::filesystem::exists(path)) throw FileError(fmt::format("{}: file not found", path.string()));
    throw FileError(fmt::format("{}: cannot open for reading", path.string()));
  }
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& error) {
    // Translate the byte offset into line:column, which is what an editor shows.
    const auto offset = std::min<std::size_t>(error.byte > 0 ? error.byte - 1 : 0, text.size());
    const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n');
    const auto line_start = text.rfind('\n', offset > 0 ? offset - 1 : 0);
    const auto column = offset - (line_start == std::string::npos ? 0 : line_start + 1) + 1;
    throw FormatError(fmt::format("{}:{}:{}: malformed JSON: {}", path.string(), line, column, error.what()));
  }
}

}  // namespace moulin
