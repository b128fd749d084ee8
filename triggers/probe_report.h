#pragma once
// A representation-probe study on disk: probe.json (per-layer probe and spectral scores, the best layer, the
// settings) and a Markdown/HTML report with the per-layer AUROC line chart and table.
#include <nlohmann/json.hpp>

#include "report/report.h"
#include "triggers/representation_probe.h"

namespace moulin::triggers {

// {"format": "moulin-probe/1", "settings", "source", "layers": [...], "best_layer", "best_mean_difference_layer"}.
nlohmann::json probe_to_json(const ProbeStudyResult& result, const nlohmann::json& settings = nlohmann::json::object());

report::Report probe_report(const ProbeStudyResult& result, const nlohmann::json& settings = nlohmann::json::object());

}  // namespace moulin::triggers
