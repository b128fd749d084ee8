#include "report/write_report.h"

#include <fstream>
#include <system_error>

#include <fmt/format.h>

#include "core/error.h"
#include "report/html.h"
#include "report/markdown.h"

namespace moulin::report {
namespace {

constexpr const char* kFigureFolder = "figures";

void check_basename(const std::string& basename) {
  const bool safe = !basename.empty() && basename != "." && basename != ".." &&
                    basename.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") ==
                        std::string::npos;
  if (!safe)
    throw ArgumentError(
        fmt::format("write_report: basename '{}' must be non-empty and hold only letters, digits, "
                    "'.', '-' and '_'",
                    basename));
}

void create_folder(const std::filesystem::path& folder) {
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  if (error) throw FileError(fmt::format("{}: cannot create the report folder: {}", folder.string(), error.message()));
  if (!std::filesystem::is_directory(folder))
    throw FileError(fmt::format("{}: cannot create the report folder: a file of that name exists", folder.string()));
}

// RAII for the temporary: removed unless it was renamed into place.
class TemporaryFile {
 public:
  explicit TemporaryFile(std::filesystem::path path) : path_(std::move(path)) {}
  ~TemporaryFile() {
    if (path_.empty()) return;
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  const std::filesystem::path& path() const { return path_; }
  void release() { path_.clear(); }

 private:
  std::filesystem::path path_;
};

void write_atomically(const std::filesystem::path& path, const std::string& text) {
  TemporaryFile temporary(path.string() + ".tmp");
  {
    std::ofstream out(temporary.path(), std::ios::binary | std::ios::trunc);
    if (!out) throw FileError(fmt::format("{}: cannot open for writing", temporary.path().string()));
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (!out) throw FileError(fmt::format("{}: write failed (disk full?)", temporary.path().string()));
  }
  std::error_code error;
  std::filesystem::rename(temporary.path(), path, error);
  if (error)
    throw FileError(fmt::format("{}: cannot move the written file into place: {}", path.string(), error.message()));
  temporary.release();
}

}  // namespace

ReportFiles write_report(const Report& report, const std::filesystem::path& folder, const std::string& basename) {
  check_basename(basename);
  create_folder(folder);
  ReportFiles files;
  const std::vector<std::string> stems = figure_file_stems(report);
  if (!stems.empty()) {
    create_folder(folder / kFigureFolder);
    std::size_t index = 0;
    for (const auto& section : report.sections()) {
      for (const auto& block : section.blocks) {
        const auto* figure = std::get_if<Figure>(&block);
        if (!figure) continue;
        files.figures.push_back(folder / kFigureFolder / fmt::format("{}-{}.svg", basename, stems[index++]));
        write_atomically(files.figures.back(), figure->svg);
      }
    }
  }
  files.html = folder / (basename + ".html");
  write_atomically(files.html, render_html(report));
  files.markdown = folder / (basename + ".md");
  write_atomically(files.markdown, render_markdown(report, fmt::format("{}/{}-", kFigureFolder, basename)));
  return files;
}

}  // namespace moulin::report
