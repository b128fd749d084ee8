#pragma once
// What inversions and target-first scans found, as JSON (for scripts and the Python module) and as a report
// (report/: Markdown and HTML with the objective curves, the switch rates and the found tokens as ids and text).
#include <filesystem>

#include <nlohmann/json.hpp>

#include "report/report.h"
#include "report/write_report.h"
#include "triggers/inversion_study.h"
#include "triggers/target_scan.h"

namespace moulin::triggers {

nlohmann::json inversion_options_json(const InversionOptions& options);
nlohmann::json inversion_study_json(const InversionStudy& study);
report::Report inversion_study_report(const InversionStudy& study);

nlohmann::json target_scan_json(const TargetScan& scan);
report::Report target_scan_report(const TargetScan& scan);

struct InversionFiles {
  std::filesystem::path json;
  report::ReportFiles report;
};

// <folder>/inversion.json and the inversion report (write_report, basename "inversion"); the folder is created
// when missing. Throws FileError naming the file that cannot be written.
InversionFiles write_inversion_study(const InversionStudy& study, const std::filesystem::path& folder);
// The same for a scan: target-scan.json and basename "target-scan".
InversionFiles write_target_scan(const TargetScan& scan, const std::filesystem::path& folder);

}  // namespace moulin::triggers
