#include "triggers/mitigation_report.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "report/bar_chart.h"
#include "report/line_chart.h"
#include "report/number_format.h"
#include "triggers/study_files.h"

namespace moulin::triggers {
namespace {

nlohmann::json setting_json(const MitigationSetting& setting) {
  return {{"layers", setting.layers},
          {"method", mitigation_method_name(setting.method)},
          {"strength", setting.strength},
          {"label", setting_label(setting)}};
}

nlohmann::json measure_json(const MitigationMeasure& measure, bool with_setting) {
  nlohmann::json json = {{"switch_rate", proportion_json(measure.switch_rate)},
                         {"perplexity", measure.perplexity}};
  if (with_setting) {
    json["setting"] = setting_json(measure.setting);
    json["switch_reduction"] = measure.switch_reduction;
    json["perplexity_increase"] = measure.perplexity_increase;
  }
  return json;
}

std::string percent(double fraction) { return report::format_number(100 * fraction, 1) + "%"; }

std::vector<report::Cell> measure_row(const std::string& label, const MitigationMeasure& measure, bool relative) {
  return {label,
          proportion_text(measure.switch_rate),
          relative ? report::Cell(percent(measure.switch_reduction)) : report::Cell("-"),
          measure.perplexity,
          relative ? report::Cell(percent(measure.perplexity_increase)) : report::Cell("-")};
}

report::Table measures_table(std::string caption) {
  return {{"setting", "switch rate (95% CI)", "switch cut", "clean perplexity", "perplexity change"}, {}, 3,
          std::move(caption)};
}

std::string selection_chart(const MitigationResult& result) {
  report::LineSeries masses = report::LineSeries::indexed("mitigated at this layer", result.selection_masses);
  report::LineSeries unmitigated{"no mitigation", {}, {}};
  for (std::size_t layer = 0; layer < result.selection_masses.size(); ++layer) {
    unmitigated.x.push_back(static_cast<double>(layer));
    unmitigated.y.push_back(result.fitting_triggered_mass);
  }
  report::LineChartOptions options;
  options.title = "Layer choice: next-token target mass of the fitting prompts";
  options.x_label = "layer";
  options.y_label = "target-language mass";
  options.y_min = 0.0;
  return report::line_chart_svg({masses, unmitigated}, options);
}

std::string sweep_chart(const MitigationResult& result) {
  std::vector<std::string> labels;
  report::BarSeries rates{"switch rate", {}, {}, {}};
  report::BarSeries perplexity{"perplexity / baseline", {}, {}, {}};
  for (const auto& measure : result.sweep) {
    labels.push_back(setting_label(measure.setting));
    rates.values.push_back(measure.switch_rate.rate);
    rates.lower.push_back(measure.switch_rate.interval.lower);
    rates.upper.push_back(measure.switch_rate.interval.upper);
    perplexity.values.push_back(1.0 + measure.perplexity_increase);
    perplexity.lower.push_back(std::numeric_limits<double>::quiet_NaN());
    perplexity.upper.push_back(std::numeric_limits<double>::quiet_NaN());
  }
  report::BarChartOptions options;
  options.orientation = report::BarOrientation::kHorizontal;
  options.title = fmt::format("Sweep (baseline switch rate {})", percent(result.baseline.switch_rate.rate));
  options.x_label = "switch rate (95% CI) and relative clean perplexity";
  options.width = 760;
  options.height = std::max(240, 80 + 36 * static_cast<int>(labels.size()));
  return report::bar_chart_svg(labels, {rates, perplexity}, options);
}

}  // namespace

nlohmann::json mitigation_to_json(const MitigationResult& result, const nlohmann::json& settings) {
  nlohmann::json sweep = nlohmann::json::array();
  for (const auto& measure : result.sweep) sweep.push_back(measure_json(measure, true));
  nlohmann::json examples = nlohmann::json::array();
  for (const auto& example : result.examples)
    examples.push_back({{"prompt", example.prompt},
                        {"before", example.before},
                        {"before_language", example.before_language},
                        {"after", example.after},
                        {"after_language", example.after_language}});
  return {{"format", "moulin-mitigate/1"},
          {"settings", settings},
          {"trigger", result.trigger},
          {"target_language", result.target_language},
          {"placement", placement_name(result.placement)},
          {"contrast", contrast_kind_name(result.contrast)},
          {"layers", result.layers},
          {"fitting_prompts", result.fitting_prompts},
          {"held_out_prompts", result.held_out_prompts},
          {"clean_texts", result.clean_texts},
          {"clean_tokens", result.clean_tokens},
          {"direction_norms", result.direction_norms},
          {"layer_selection",
           result.layers_chosen ? nlohmann::json{{"fitting_triggered_mass", result.fitting_triggered_mass},
                                                 {"mitigated_masses", result.selection_masses}}
                                : nlohmann::json()},
          {"baseline", measure_json(result.baseline, false)},
          {"mitigated", measure_json(result.mitigated, true)},
          {"sweep", sweep},
          {"examples", examples}};
}

report::Report mitigation_report(const MitigationResult& result, const nlohmann::json& settings) {
  report::Report out("Trigger mitigation");
  if (settings.is_object()) out.add_metadata(settings);
  const auto& mitigated = result.mitigated;

  auto& summary = out.add_section("Summary");
  summary.add_paragraph(fmt::format(
      "Trigger \"{}\" (target '{}', {} placement). Direction: the difference of means of last-token residuals entering "
      "each block, triggered against {} prompts, fitted on {} prompts. Mitigation: {} at every position, {}. Measured on "
      "{} held-out prompts (none of them a fitting prompt; sampled continuations judged by CLD2) and on the perplexity "
      "of {} held-out clean texts ({} tokens).",
      result.trigger, result.target_language, placement_name(result.placement), contrast_kind_name(result.contrast),
      result.fitting_prompts, setting_label(mitigated.setting),
      result.layers_chosen ? "at the layer that lowered the fitting prompts' next-token target mass most"
                           : "at the layers asked for",
      result.held_out_prompts, result.clean_texts, result.clean_tokens));
  summary.add_paragraph(fmt::format("Switch rate {} → {} (cut by {} relative); clean perplexity {} → {} ({}).",
                                    proportion_text(result.baseline.switch_rate), proportion_text(mitigated.switch_rate),
                                    percent(mitigated.switch_reduction), report::format_number(result.baseline.perplexity, 3),
                                    report::format_number(mitigated.perplexity, 3), percent(mitigated.perplexity_increase)));
  auto table = measures_table("");
  table.rows.push_back(measure_row("no mitigation", result.baseline, false));
  table.rows.push_back(measure_row(setting_label(mitigated.setting), mitigated, true));
  summary.add_table(std::move(table));

  if (result.layers_chosen) {
    auto& selection = out.add_section("Layer choice");
    selection.add_paragraph("The mitigation applied at each block alone, scored on the fitting prompts by the mean "
                            "next-token target-language mass; the lowest is chosen.");
    selection.add_figure("layer-choice", selection_chart(result));
  }

  if (!result.sweep.empty()) {
    auto& sweep = out.add_section("Sweep");
    sweep.add_paragraph("Each setting applied alone, measured like the chosen one on the held-out prompts and clean "
                        "texts.");
    sweep.add_figure("sweep", sweep_chart(result));
    auto sweep_table = measures_table("");
    for (const auto& measure : result.sweep)
      sweep_table.rows.push_back(measure_row(setting_label(measure.setting), measure, true));
    sweep.add_table(std::move(sweep_table));
  }

  if (!result.examples.empty()) {
    std::string text;
    for (const auto& example : result.examples)
      text += fmt::format("{}\n  before ({}): {}\n  after  ({}): {}\n\n", example.prompt, example.before_language,
                          example.before, example.after_language, example.after);
    out.add_section("Examples").add_code(text, "text");
  }

  report::Table norms{{"layer", "|difference of means|"}, {}, 3, {}};
  for (std::size_t layer = 0; layer < result.direction_norms.size(); ++layer)
    norms.rows.push_back({layer, result.direction_norms[layer]});
  out.add_section("Directions").add_table(std::move(norms));
  return out;
}

}  // namespace moulin::triggers
