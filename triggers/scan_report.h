#pragma once
// A scan's results on disk: scan.json (every candidate with its scores, the verification, the settings) and a
// Markdown/HTML report (report/) with the ranked table, a bar chart of the top effects with their intervals and a
// histogram of all effects.
#include <cstddef>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "report/report.h"
#include "report/write_report.h"
#include "triggers/scan.h"

namespace moulin::triggers {

// {"format": "moulin-scan/1", "settings", "timing", "candidates": [in rank order], "verification": [...]}.
// Intervals are [lower, upper] pairs; an unknown bound is null.
nlohmann::json scan_to_json(const ScanResult& result);

struct ScanReportOptions {
  std::size_t table_rows = 50;  // ranked candidates listed in the report (the JSON has all)
  std::size_t chart_bars = 20;  // top effects in the bar chart
};

report::Report scan_report(const ScanResult& result, const ScanReportOptions& options = {});

struct ScanFiles {
  std::filesystem::path json;
  report::ReportFiles report;
};

// Writes <folder>/scan.json and the report as <folder>/scan.md, scan.html and figures/. Throws FileError naming
// the file that cannot be written.
ScanFiles write_scan(const ScanResult& result, const std::filesystem::path& folder, const ScanReportOptions& options = {});

}  // namespace moulin::triggers
