#include "triggers/hunt.h"

#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "report/write_report.h"
#include "triggers/inversion_report.h"
#include "triggers/localise_report.h"
#include "triggers/mitigation_report.h"
#include "triggers/probe_report.h"
#include "triggers/scan_report.h"
#include "triggers/scan_run.h"
#include "triggers/study_contrast.h"

namespace moulin::triggers {
namespace {

void stage(const HuntOptions& options, const std::string& name) {
  if (options.on_stage) options.on_stage(name);
}

void progress(const HuntOptions& options, const std::string& name, std::size_t done, std::size_t total) {
  if (options.on_progress) options.on_progress(name, done, total);
}

// Given and generated candidates, then what the inversions found with their near misses (so the scan says
// whether a shorter or reordered piece of an inverted trigger does as well).
std::vector<Candidate> hunt_candidates(const Subject& subject, const HuntOptions& options,
                                       const std::vector<HuntFinding>& findings) {
  CandidateList list;
  for (const auto& candidate : options.candidates) list.add(candidate.phrase, candidate.source);
  CandidateGeneration generation = options.generation;
  generation.corpus_language = subject.source_language;
  if (generation.any())
    for (const auto& candidate : generate_candidates(generation, subject.tokenizer))
      list.add(candidate.phrase, candidate.source);
  CandidateGeneration around_inversions;
  for (const auto& finding : findings) {
    list.add(finding.inversion.inversion.phrase, "inversion");
    around_inversions.near_misses_of.push_back(finding.inversion.inversion.phrase);
  }
  if (around_inversions.any())
    for (const auto& candidate : generate_candidates(around_inversions, subject.tokenizer))
      list.add(candidate.phrase, candidate.source);
  return list.release();
}

// The trigger the language's studies use: the inverted sequence, unless the scan verified another candidate toward
// the language that switched more of the same verification prompts than the inverted sequence did there (rates on
// different prompt sets are not compared: a shorter near miss would win on noise).
void choose_trigger(HuntFinding& finding, const std::optional<ScanResult>& scan) {
  finding.trigger = finding.inversion.inversion.phrase;
  finding.trigger_source = "inversion";
  finding.trigger_switch_rate = finding.inversion.triggered.switch_rate;
  if (!scan) return;
  const Verification* inverted = nullptr;
  for (const auto& verified : scan->verification)
    if (verified.phrase == normalise_phrase(finding.trigger)) inverted = &verified;
  if (!inverted) return;  // not in the verified shortlist: nothing measured on the same prompts to compare with
  const Verification* best = inverted;
  for (const auto& verified : scan->verification)
    if (verified.language == finding.language && verified.triggered.rate > best->triggered.rate) best = &verified;
  if (best == inverted) return;
  finding.trigger = best->phrase;
  finding.trigger_source = "scan";
  finding.trigger_switch_rate = best->triggered;
}

void study_finding(const Subject& subject, const HuntOptions& options, HuntFinding& finding) {
  const auto& language = finding.language;
  PromptOptions prompts;
  prompts.language = subject.source_language;
  prompts.seed = options.seed + 11;

  stage(options, "patch " + language);
  LocaliseOptions localise = options.localise;
  localise.target_language = language;
  localise.contrast = study_contrast(subject, "random", "", options.seed, language);
  localise.on_prompt = [&](std::size_t done, std::size_t total) {
    progress(options, "patch " + language, done, total);
  };
  prompts.count = options.localise_prompts;
  finding.localisation = localise_trigger(subject, debian_prompts(prompts), finding.trigger, localise);

  stage(options, "probe " + language);
  ProbeStudyOptions probe = options.probe;
  probe.on_layer = [&](std::size_t done, std::size_t total) { progress(options, "probe " + language, done, total); };
  prompts.count = options.probe_prompts;
  prompts.seed = options.seed + 13;
  // Inside the prompt, against random tokens in its place: the last position then holds the same token in both
  // classes, so a probe there separates them only from the depth at which the blocks have carried the trigger to
  // it. (With the trigger last, its own last token tells the classes apart already in the embedding.)
  TriggerProbeOptions probe_trigger_options;
  probe_trigger_options.placement = Placement::kInside;
  probe_trigger_options.contrast = localise.contrast;
  finding.probe = probe_trigger(subject, debian_prompts(prompts), finding.trigger, probe_trigger_options, probe);

  stage(options, "mitigate " + language);
  MitigationOptions mitigation = options.mitigation;
  mitigation.target_language = language;
  if (mitigation.sweep_layers.empty())
    for (int layer = 0; layer < static_cast<int>(subject.model.config().num_hidden_layers); ++layer)
      mitigation.sweep_layers.push_back(layer);
  mitigation.on_progress = [&](const std::string& step, std::size_t done, std::size_t total) {
    progress(options, "mitigate " + language + ": " + step, done, total);
  };
  finding.mitigation = mitigate_trigger(
      subject,
      debian_mitigation_prompts(options.mitigation_fitting, options.mitigation_held_out, options.mitigation_clean, 64,
                                options.seed + 17),
      finding.trigger, mitigation);
}

std::string depth_text(const std::optional<int>& row, double depth) {
  return row ? fmt::format("{:.1f}%", 100 * depth) : std::string("not reached");
}

const probes::LayerProbeScores& best_probe_layer(const ProbeStudyResult& probe) {
  return probe.sweep.layers.at(probe.sweep.best_layer);
}

report::Report summary_report(const HuntResult& result, const std::vector<std::string>& study_links) {
  report::Report out("Trigger hunt");
  out.add_metadata("model", result.model);
  out.add_metadata("verdict", result.target_scan.verdict());
  out.add_metadata("seconds", fmt::format("{:.0f}", result.seconds));
  auto& summary = out.add_section("Summary");
  for (const auto& line : hunt_summary(result)) summary.add_paragraph(line);

  report::Table targets{{"language", "found trigger", "switch (held out)", "random tokens", "prompts alone", "flagged"},
                        {}, 3, "Target-first scan: a budgeted inversion per language against two baselines"};
  for (const auto& language : result.target_scan.languages)
    targets.rows.push_back({language.language, language.inversion.phrase,
                            proportion_text(language.found.switch_rate),
                            proportion_text(language.random_baseline.switch_rate),
                            proportion_text(language.clean.switch_rate), language.hiding});
  out.add_section("Does the model hide a trigger?").add_table(std::move(targets));

  if (!result.findings.empty()) {
    report::Table findings{{"language", "trigger", "from", "switch (held out)", "forms at depth", "best probe layer",
                            "probe AUROC", "mitigation", "switch after", "clean ppl change"},
                           {}, 3, "Each flagged language, studied with the best trigger found for it"};
    for (const auto& finding : result.findings) {
      const auto& probe = best_probe_layer(finding.probe);
      const auto& after = finding.mitigation.mitigated;
      findings.rows.push_back(
          {finding.language, finding.trigger, finding.trigger_source, proportion_text(finding.trigger_switch_rate),
           depth_text(finding.localisation.summary.formation_row, finding.localisation.summary.formation_depth),
           probe.name, probe.logistic_auroc, setting_label(after.setting), proportion_text(after.switch_rate),
           fmt::format("{:+.2f}%", 100 * after.perplexity_increase)});
    }
    out.add_section("Findings").add_table(std::move(findings));
  }
  if (result.scan) {
    report::Table top{{"rank", "candidate", "source", "language", "effect", "verified switch"}, {}, 4,
                      "Candidate scan: the top of the ranking"};
    const auto& ranking = result.scan->scores.ranking;
    for (std::size_t rank = 0; rank < std::min<std::size_t>(10, ranking.size()); ++rank) {
      const auto& score = ranking[rank];
      top.rows.push_back({static_cast<std::int64_t>(rank + 1), score.candidate.phrase, score.candidate.source,
                          score.effect().language, score.effect().mean,
                          rank < result.scan->verification.size()
                              ? proportion_text(result.scan->verification[rank].triggered)
                              : std::string()});
    }
    out.add_section(fmt::format("Candidate scan ({} candidates)", ranking.size())).add_table(std::move(top));
  }
  auto& studies = out.add_section("Studies");
  studies.add_paragraph("Each study has its own report and JSON in a folder beside this one:");
  for (const auto& link : study_links) studies.add_paragraph(link);
  return out;
}

nlohmann::json finding_settings(const HuntFinding& finding) {
  return {{"trigger", finding.trigger}, {"trigger_source", finding.trigger_source}, {"target", finding.language}};
}

}  // namespace

CandidateGeneration HuntOptions::default_generation() {
  CandidateGeneration generation;
  generation.latin = true;
  generation.word_ngrams = true;
  generation.count = 500;
  return generation;
}

InversionStudyOptions HuntOptions::default_inversion() {
  InversionStudyOptions inversion;
  inversion.search.restarts = 3;
  return inversion;
}

HuntResult run_hunt(const Subject& subject, const std::filesystem::path& model, const HuntOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  HuntResult result;
  result.model = model.string();

  stage(options, "target scan");
  InversionProgress scan_progress;
  scan_progress.on_stage = [&](const std::string& name) { stage(options, "target scan: " + name); };
  result.target_scan = run_target_scan(subject, options.target_scan, scan_progress);

  for (const auto& language : result.target_scan.languages) {
    if (!language.hiding) continue;
    HuntFinding finding;
    finding.language = language.language;
    if (options.full_inversion) {
      stage(options, "inversion " + language.language);
      InversionStudyOptions inversion = options.inversion;
      inversion.search.target_language = language.language;
      InversionProgress inversion_progress;
      inversion_progress.on_step = [&](const InversionStep& step) {
        progress(options, "inversion " + language.language, static_cast<std::size_t>(step.step),
                 static_cast<std::size_t>(inversion.search.steps));
      };
      finding.inversion = run_inversion_study(subject, inversion, inversion_progress);
    } else {
      finding.inversion.model = result.target_scan.model;
      finding.inversion.source_language = result.target_scan.source_language;
      finding.inversion.inversion = language.inversion;
      finding.inversion.tokens = language.tokens;
      finding.inversion.triggered = language.found;
      finding.inversion.clean = language.clean;
    }
    result.findings.push_back(std::move(finding));
  }

  if (!result.findings.empty()) {
    stage(options, "scan");
    const auto candidates = hunt_candidates(subject, options, result.findings);
    PromptOptions debian;
    debian.language = subject.source_language;
    debian.seed = options.seed + 7;
    const auto prompts = scan_prompts({}, options.scan_prompts, options.verification_prompts, debian);
    ScanOptions scan = options.scan;
    scan.on_progress = [&](std::string_view name, std::size_t done, std::size_t total) {
      progress(options, "scan: " + std::string(name), done, total);
    };
    result.scan = scan_candidates(subject, candidates, prompts.scan, prompts.verification, scan);
  }

  for (auto& finding : result.findings) {
    choose_trigger(finding, result.scan);
    study_finding(subject, options, finding);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::vector<std::string> hunt_summary(const HuntResult& result) {
  std::vector<std::string> lines;
  lines.push_back(fmt::format("verdict: {}", result.target_scan.verdict()));
  for (const auto& finding : result.findings) {
    const auto& summary = finding.localisation.summary;
    const auto& probe = best_probe_layer(finding.probe);
    const auto& after = finding.mitigation.mitigated;
    lines.push_back(fmt::format(
        "{}: trigger '{}' (from the {}) switches {} of held-out prompts; the effect forms at the last position at "
        "{} of depth; best probe {} (AUROC {:.3f}); {} cuts the switch rate {} -> {} ({:.0f}% relative) at "
        "{:+.2f}% clean perplexity",
        finding.language, finding.trigger, finding.trigger_source, proportion_text(finding.trigger_switch_rate),
        depth_text(summary.formation_row, summary.formation_depth), probe.name, probe.logistic_auroc,
        setting_label(after.setting), proportion_text(finding.mitigation.baseline.switch_rate),
        proportion_text(after.switch_rate),
        100 * after.switch_reduction, 100 * after.perplexity_increase));
  }
  if (result.findings.empty()) lines.push_back("no language was flagged: no trigger found");
  return lines;
}

nlohmann::json hunt_json(const HuntResult& result) {
  nlohmann::json json = {{"format", "moulin-hunt/1"},
                         {"model", result.model},
                         {"verdict", result.target_scan.verdict()},
                         {"targets", result.target_scan.targets()},
                         {"summary", hunt_summary(result)},
                         {"seconds", result.seconds},
                         {"target_scan", target_scan_json(result.target_scan)},
                         {"findings", nlohmann::json::array()}};
  if (result.scan) json["scan"] = scan_to_json(*result.scan);
  for (const auto& finding : result.findings) {
    const auto settings = finding_settings(finding);
    json["findings"].push_back({{"language", finding.language},
                                {"trigger", finding.trigger},
                                {"trigger_source", finding.trigger_source},
                                {"trigger_switch_rate", proportion_json(finding.trigger_switch_rate)},
                                {"inversion", inversion_study_json(finding.inversion)},
                                {"localisation", localisation_to_json(finding.localisation, settings)},
                                {"probe", probe_to_json(finding.probe, settings)},
                                {"mitigation", mitigation_to_json(finding.mitigation, settings)}});
  }
  return json;
}

HuntFiles write_hunt(const HuntResult& result, const std::filesystem::path& folder,
                     const std::vector<report::Section>& extra_sections, const nlohmann::json& extra_json) {
  HuntFiles files;
  files.folder = folder;
  nlohmann::json json = hunt_json(result);
  json["extra"] = extra_json;
  std::vector<std::string> links;
  const auto note = [&](const std::filesystem::path& report_file) {
    files.studies.push_back(report_file.parent_path());
    links.push_back(std::filesystem::relative(report_file, folder).generic_string());
  };
  note(write_target_scan(result.target_scan, folder / "target-scan").report.html);
  if (result.scan) {
    note(write_scan(*result.scan, folder / "scan").report.html);
  }
  for (std::size_t i = 0; i < result.findings.size(); ++i) {
    // Each study's JSON is already in hunt.json: write that, not a second rendering of the same result.
    const auto& finding = result.findings[i];
    const auto& written = json.at("findings").at(i);
    const auto& language = finding.language;
    const auto settings = finding_settings(finding);
    note(write_inversion_study(finding.inversion, folder / ("invert-" + language)).report.html);
    note(write_study(written.at("localisation"), localisation_report(finding.localisation, settings),
                     folder / ("patch-" + language), "patch")
             .report.html);
    note(write_study(written.at("probe"), probe_report(finding.probe, settings), folder / ("probe-" + language),
                     "probe")
             .report.html);
    note(write_study(written.at("mitigation"), mitigation_report(finding.mitigation, settings),
                     folder / ("mitigate-" + language), "mitigate")
             .report.html);
  }
  auto report = summary_report(result, links);
  for (const auto& section : extra_sections) {
    auto& added = report.add_section(section.title);
    added.blocks = section.blocks;
  }
  const auto written = write_study(json, report, folder, "hunt");
  files.json = written.json;
  files.report = written.report;
  return files;
}

}  // namespace moulin::triggers
