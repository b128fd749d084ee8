#include "triggers/localise_report.h"

#include <cmath>

#include <fmt/format.h>

#include "report/bar_chart.h"
#include "report/heatmap.h"
#include "report/line_chart.h"
#include "report/number_format.h"
#include "triggers/study_files.h"

namespace moulin::triggers {
namespace {

const std::vector<std::string> kComponentColumns = {"attn_out (all positions)", "attn_out (last position)",
                                                    "mlp_out (all positions)", "mlp_out (last position)"};

nlohmann::json optional_row(const std::optional<int>& row) { return row ? nlohmann::json(*row) : nlohmann::json(); }

std::string depth_text(double depth) {
  return std::isnan(depth) ? std::string("n/a") : report::format_number(100 * depth, 0) + "%";
}

std::string row_text(const std::optional<int>& row, int layers) {
  return row ? fmt::format("{} (depth {})", residual_row_label(*row, layers), depth_text(static_cast<double>(*row) / layers))
             : std::string("none");
}

std::vector<std::string> residual_row_labels(int layers) {
  std::vector<std::string> labels;
  for (int row = 0; row <= layers; ++row) labels.push_back(residual_row_label(row, layers));
  return labels;
}

std::vector<std::string> numbered(const char* prefix, std::int64_t count) {
  std::vector<std::string> labels;
  for (std::int64_t i = 0; i < count; ++i) labels.push_back(fmt::format("{}{}", prefix, i));
  return labels;
}

report::HeatmapOptions restoration_heatmap(std::string title, std::string x_label, std::string y_label) {
  report::HeatmapOptions options;
  options.colour_scale = report::ColourScaleKind::kDiverging;
  options.colour_bar_label = "restoration";
  options.print_values = true;
  options.title = std::move(title);
  options.x_label = std::move(x_label);
  options.y_label = std::move(y_label);
  options.width = 860;
  options.height = 480;
  return options;
}

// Restoration of the last position and of the trigger's own tokens against depth: the hand-over.
std::string travel_chart(const LocalisationResult& result) {
  report::LineSeries last{"last position", {}, {}}, span{"trigger span", {}, {}};
  for (int row = 0; row <= result.layers; ++row) {
    const double depth = 100.0 * row / result.layers;
    last.x.push_back(depth);
    span.x.push_back(depth);
    last.y.push_back(result.residual[row][static_cast<std::int64_t>(result.groups.last)].item<double>());
    span.y.push_back(result.residual[row][static_cast<std::int64_t>(result.groups.trigger_span)].item<double>());
  }
  report::LineChartOptions options;
  options.title = "Where the trigger is carried: patching the residual stream";
  options.x_label = "relative depth (% of blocks)";
  options.y_label = "restoration";
  return report::line_chart_svg({last, span}, options);
}

std::string components_chart(const LocalisationResult& result) {
  std::vector<report::BarSeries> series;
  for (std::int64_t column = 0; column < 4; ++column) {
    report::BarSeries bars{kComponentColumns[static_cast<std::size_t>(column)], {}, {}, {}};
    for (int layer = 0; layer < result.layers; ++layer)
      bars.values.push_back(result.component_restoration[layer][column].item<double>());
    series.push_back(std::move(bars));
  }
  report::BarChartOptions options;
  options.title = "Per-layer attention and MLP outputs";
  options.x_label = "layer";
  options.y_label = "restoration";
  options.width = 760;
  return report::bar_chart_svg(numbered("L", result.layers), series, options);
}

}  // namespace

std::string residual_row_label(int row, int layers) {
  const std::string depth = report::format_number(100.0 * row / layers, 0);
  return row < layers ? fmt::format("L{} ({}%)", row, depth) : fmt::format("final ({}%)", depth);
}

nlohmann::json localisation_to_json(const LocalisationResult& result, const nlohmann::json& settings) {
  const auto& summary = result.summary;
  nlohmann::json json = {
      {"format", "moulin-patch/1"},
      {"settings", settings},
      {"trigger", result.trigger},
      {"target_language", result.target_language},
      {"placement", placement_name(result.placement)},
      {"contrast", contrast_kind_name(result.contrast)},
      {"layers", result.layers},
      {"heads", result.heads},
      {"prompts", result.prompts},
      {"trigger_tokens", result.trigger_tokens},
      {"metric", "target-language mass of the next token at the last position"},
      {"triggered_mass", result.triggered_mass},
      {"contrast_mass", result.contrast_mass},
      {"triggered_masses", result.triggered_masses},
      {"contrast_masses", result.contrast_masses},
      {"residual",
       {{"rows", residual_row_labels(result.layers)},
        {"columns", result.groups.labels},
        {"last_column", result.groups.last},
        {"trigger_span_column", result.groups.trigger_span},
        {"all_positions_column", result.groups.all},
        {"restoration", tensor_json(result.residual)}}},
      {"summary",
       {{"formation_row", optional_row(summary.formation_row)},
        {"formation_depth", summary.formation_depth},
        {"trigger_span_row", optional_row(summary.trigger_span_row)},
        {"trigger_span_depth", summary.trigger_span_depth},
        {"handover_row", optional_row(summary.handover_row)},
        {"handover_depth", summary.handover_depth},
        {"final_last_restoration", summary.final_last_restoration}}}};
  json["heads"] = result.head_restoration.defined() ? tensor_json(result.head_restoration) : nlohmann::json();
  json["components"] = result.component_restoration.defined()
                           ? nlohmann::json{{"columns", kComponentColumns},
                                            {"restoration", tensor_json(result.component_restoration)}}
                           : nlohmann::json();
  return json;
}

report::Report localisation_report(const LocalisationResult& result, const nlohmann::json& settings) {
  report::Report out("Trigger localisation by activation patching");
  if (settings.is_object()) out.add_metadata(settings);
  const auto& summary = result.summary;

  auto& overview = out.add_section("Summary");
  overview.add_paragraph(fmt::format(
      "Trigger \"{}\" ({} tokens, {} placement) on {} prompts. The metric is the next-token probability mass on '{}' at "
      "the last position: {} with the trigger, {} with the {} contrast (the trigger's tokens replaced, positions "
      "unchanged). Restoration is (patched - contrast) / (triggered - contrast) of the means over prompts: patching "
      "pieces of the triggered run into the contrast run, 1 brings the whole effect back, 0 none of it.",
      result.trigger, result.trigger_tokens, placement_name(result.placement), result.prompts, result.target_language,
      report::format_number(result.triggered_mass, 3), report::format_number(result.contrast_mass, 3),
      contrast_kind_name(result.contrast)));
  overview.add_paragraph(fmt::format(
      "Formation: patching the last position alone first restores at least half of the effect at {}. The trigger's own "
      "tokens (the last position aside) still restore at least half up to {}; the last position restores more than them "
      "from {} on. Relative depth is the share of the {} blocks the stream has been through. The final stream at the "
      "last position restores {} (1 by construction: it fixes the logits there).",
      row_text(summary.formation_row, result.layers), row_text(summary.trigger_span_row, result.layers),
      row_text(summary.handover_row, result.layers), result.layers,
      report::format_number(summary.final_last_restoration, 3)));

  auto& residual = out.add_section("Residual stream");
  residual.add_paragraph("Each cell patches the residual stream entering a block (the last row: leaving the last block) "
                         "at a group of positions. Groups of several positions are patched together; 'trigger span' is "
                         "every trigger token but the last position, 'all positions' the whole stream (which restores "
                         "everything, a check of the patching itself).");
  report::HeatmapData data{residual_row_labels(result.layers), result.groups.labels, tensor_rows(result.residual)};
  residual.add_figure("residual", report::heatmap_svg(data, restoration_heatmap("Restoration by residual position group",
                                                                                "position group", "layer (depth)")));
  residual.add_figure("travel", travel_chart(result));

  if (result.head_restoration.defined()) {
    auto& heads = out.add_section("Attention heads");
    heads.add_paragraph("Each cell patches one head's output (attn.hook_z) at every position.");
    report::HeatmapData head_data{numbered("L", result.layers), numbered("H", result.heads),
                                  tensor_rows(result.head_restoration)};
    auto options = restoration_heatmap("Restoration by attention head", "head", "layer");
    options.print_values = result.heads <= 16;  // larger maps have cells too small to read
    heads.add_figure("heads", report::heatmap_svg(head_data, options));
  }
  if (result.component_restoration.defined()) {
    auto& components = out.add_section("Attention and MLP outputs");
    components.add_figure("components", components_chart(result));
    report::Table table{{"layer"}, {}, 3, {}};
    table.header.insert(table.header.end(), kComponentColumns.begin(), kComponentColumns.end());
    for (int layer = 0; layer < result.layers; ++layer) {
      std::vector<report::Cell> row = {layer};
      for (std::int64_t column = 0; column < 4; ++column)
        row.emplace_back(result.component_restoration[layer][column].item<double>());
      table.rows.push_back(std::move(row));
    }
    components.add_table(std::move(table));
  }
  return out;
}

}  // namespace moulin::triggers
