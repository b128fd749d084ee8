#pragma once
// A mitigation on disk: mitigate.json (the baseline, the chosen setting, the sweep, examples, the settings) and a
// Markdown/HTML report with the before/after table, the layer choice and the sweep as charts.
#include <nlohmann/json.hpp>

#include "report/report.h"
#include "triggers/mitigation.h"

namespace moulin::triggers {

// {"format": "moulin-mitigate/1", "settings", "trigger", ..., "baseline", "mitigated", "sweep", "examples"}.
nlohmann::json mitigation_to_json(const MitigationResult& result, const nlohmann::json& settings = nlohmann::json::object());

report::Report mitigation_report(const MitigationResult& result, const nlohmann::json& settings = nlohmann::json::object());

}  // namespace moulin::triggers
