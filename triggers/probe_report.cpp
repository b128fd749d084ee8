#include "triggers/probe_report.h"

#include <fmt/format.h>

#include "report/line_chart.h"
#include "report/number_format.h"

namespace moulin::triggers {
namespace {

std::string percent(double fraction) { return report::format_number(100 * fraction, 0) + "%"; }

std::string auroc_chart(const ProbeStudyResult& result) {
  report::LineSeries mean_difference{"difference of means (held out)", {}, {}};
  report::LineSeries logistic{"logistic (held out)", {}, {}};
  report::LineSeries spectral{"spectral signature (mixed set)", {}, {}};
  for (std::size_t i = 0; i < result.sweep.layers.size(); ++i) {
    const double depth = 100 * result.depths[i];
    for (auto* series : {&mean_difference, &logistic, &spectral}) series->x.push_back(depth);
    mean_difference.y.push_back(result.sweep.layers[i].mean_difference_auroc);
    logistic.y.push_back(result.sweep.layers[i].logistic_auroc);
    spectral.y.push_back(result.spectral[i].auroc);
  }
  report::LineChartOptions options;
  options.title = "Triggered against contrast prompts, per layer";
  options.x_label = "relative depth (% of blocks)";
  options.y_label = "AUROC";
  options.y_min = 0.0;
  options.y_max = 1.0;
  return report::line_chart_svg({mean_difference, logistic, spectral}, options);
}

}  // namespace

nlohmann::json probe_to_json(const ProbeStudyResult& result, const nlohmann::json& settings) {
  nlohmann::json layers = nlohmann::json::array();
  for (std::size_t i = 0; i < result.sweep.layers.size(); ++i) {
    const auto& layer = result.sweep.layers[i];
    const auto& spectral = result.spectral[i];
    layers.push_back({{"hook", layer.name},
                      {"depth", result.depths[i]},
                      {"features", layer.features},
                      {"mean_difference_auroc", layer.mean_difference_auroc},
                      {"mean_difference_accuracy", layer.mean_difference_accuracy},
                      {"logistic_auroc", layer.logistic_auroc},
                      {"logistic_accuracy", layer.logistic_accuracy},
                      {"logistic_converged", layer.logistic_converged},
                      {"logistic_l2", layer.logistic_l2},
                      {"spectral_auroc", spectral.auroc},
                      {"spectral_removal_recall", spectral.removal_recall},
                      {"spectral_removal_precision", spectral.removal_precision},
                      {"spectral_rows", spectral.mixed_rows},
                      {"spectral_triggered_rows", spectral.triggered_rows}});
  }
  const auto best = result.sweep.best_layer;
  return {{"format", "moulin-probe/1"},
          {"settings", settings},
          {"source", result.source},
          {"model_layers", result.model_layers},
          {"positives", result.sweep.positives},
          {"negatives", result.sweep.negatives},
          {"train_rows", result.sweep.train_rows},
          {"held_out_rows", result.sweep.held_out_rows},
          {"layers", layers},
          {"best_layer", {{"index", best}, {"hook", result.sweep.layers[best].name}, {"depth", result.depths[best]},
                          {"logistic_auroc", result.sweep.layers[best].logistic_auroc},
                          {"mean_difference_auroc", result.sweep.layers[best].mean_difference_auroc}}},
          {"best_mean_difference_layer", result.sweep.best_mean_difference_layer}};
}

report::Report probe_report(const ProbeStudyResult& result, const nlohmann::json& settings) {
  report::Report out("Representation probes: triggered against contrast prompts");
  if (settings.is_object()) out.add_metadata(settings);
  const auto& sweep = result.sweep;
  const auto& best = sweep.layers[sweep.best_layer];

  auto& summary = out.add_section("Summary");
  summary.add_paragraph(fmt::format(
      "{} triggered and {} contrast last-token activations ({}); probes fitted on {} rows and scored on {} held-out rows. "
      "Best layer: {} (depth {}), held-out AUROC {} (logistic) and {} (difference of means). The spectral signature is "
      "scored on a mixed set where triggered prompts are a minority, as poison is: an unsupervised detector's view.",
      sweep.positives, sweep.negatives, result.source, sweep.train_rows, sweep.held_out_rows, best.name,
      percent(result.depths[sweep.best_layer]), report::format_number(best.logistic_auroc, 3),
      report::format_number(best.mean_difference_auroc, 3)));
  summary.add_figure("auroc", auroc_chart(result));

  report::Table table{{"hook", "depth", "diff. of means AUROC", "logistic AUROC", "logistic accuracy", "spectral AUROC",
                       "spectral recall", "spectral precision"},
                      {},
                      3,
                      fmt::format("Spectral: {} triggered among {} rows, {}x the expected share removed.",
                                  result.spectral.empty() ? 0 : result.spectral.front().triggered_rows,
                                  result.spectral.empty() ? 0 : result.spectral.front().mixed_rows,
                                  report::format_number(result.removal_factor, 2))};
  for (std::size_t i = 0; i < sweep.layers.size(); ++i) {
    const auto& layer = sweep.layers[i];
    table.rows.push_back({layer.name, percent(result.depths[i]), layer.mean_difference_auroc, layer.logistic_auroc,
                          layer.logistic_accuracy, result.spectral[i].auroc, result.spectral[i].removal_recall,
                          result.spectral[i].removal_precision});
  }
  out.add_section("Per layer").add_table(std::move(table));
  return out;
}

}  // namespace moulin::triggers
