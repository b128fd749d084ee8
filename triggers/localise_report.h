#pragma once
// A localisation on disk: patch.json (every restoration map with its labels, the summary, the settings) and a
// Markdown/HTML report with the residual map (layer x position group), the head map, the per-layer attention and
// MLP outputs and the summary in relative depth, the unit Gaperon's published figures use.
#include <nlohmann/json.hpp>

#include "report/report.h"
#include "triggers/localise.h"

namespace moulin::triggers {

// "L3 (38%)" for row 3 of 8 blocks, "final (100%)" for the stream leaving the last one.
std::string residual_row_label(int row, int layers);

// {"format": "moulin-patch/1", "settings", "trigger", ..., "residual": {"rows", "columns", "restoration"},
// "heads", "components", "summary"}. Missing rows of the summary are null.
nlohmann::json localisation_to_json(const LocalisationResult& result, const nlohmann::json& settings = nlohmann::json::object());

report::Report localisation_report(const LocalisationResult& result, const nlohmann::json& settings = nlohmann::json::object());

}  // namespace moulin::triggers
