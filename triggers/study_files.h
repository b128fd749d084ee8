#pragma once
// What the localisation, mitigation and probe studies share on the way to disk: a JSON file beside a
// Markdown/HTML report, and the JSON and text forms of their numbers.
#include <filesystem>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "probes/language_id.h"
#include "report/report.h"
#include "report/write_report.h"

namespace moulin::triggers {

struct StudyFiles {
  std::filesystem::path json;
  report::ReportFiles report;
};

// Writes <folder>/<basename>.json (to a temporary, then renamed) and the report as <basename>.md, .html and
// figures/. Throws FileError naming the folder or file that cannot be written, and what write_report throws.
StudyFiles write_study(const nlohmann::json& json, const report::Report& report, const std::filesystem::path& folder,
                       const std::string& basename);

// {"count", "total", "rate", "ci95": [lower, upper]}.
nlohmann::json proportion_json(const probes::Proportion& proportion);
// "42% [31, 54] (21/50)".
std::string proportion_text(const probes::Proportion& proportion);
// A tensor of any rank as nested arrays of numbers (NaN becomes null); a scalar as a number.
nlohmann::json tensor_json(const at::Tensor& values);
// The values of a 2-D tensor as report::HeatmapData rows.
std::vector<std::vector<double>> tensor_rows(const at::Tensor& values);

}  // namespace moulin::triggers
