#pragma once
// Writing a report to disk: <basename>.md, <basename>.html and the Markdown's figures as
// figures/<basename>-<figure>.svg (the basename prefix keeps two reports in one folder apart).
#include <filesystem>
#include <string>
#include <vector>

#include "report/report.h"

namespace moulin::report {

struct ReportFiles {
  std::filesystem::path markdown;
  std::filesystem::path html;
  std::vector<std::filesystem::path> figures;  // in document order
};

// Creates `folder` (and figures/) when missing. Each file is written to a temporary beside it and renamed into
// place, so a reader never sees a half-written file and a failed write leaves the previous version intact.
// Figures are written first and the Markdown last, so a Markdown file never links a missing figure.
// Throws ArgumentError when `basename` is empty or holds anything but letters, digits, '.', '-' and '_'
// (it becomes part of file names and Markdown links); FileError naming the folder or file that cannot be
// created or written.
ReportFiles write_report(const Report& report, const std::filesystem::path& folder, const std::string& basename);

}  // namespace moulin::report
