#pragma once
// A blind trigger hunt, the main job of moulin: everything a researcher does to a model suspected of hiding a
// language-switch trigger, in the order one study feeds the next.
//
//   1. target-first scan (target_scan.h): does the model hide a trigger at all, and toward which language?
//   2. for each flagged language, a full inversion (inversion_study.h): a token sequence that switches held-out
//      prompts there;
//   3. a candidate scan (scan.h) of the given and generated candidates plus every inverted trigger and its near
//      misses: which phrase moves the next token most, verified by generation;
//   4. for each flagged language, with the best trigger known for it (a verified scan candidate when it switched
//      more of the verification prompts than the inverted sequence did, else the inverted sequence): localisation
//      by activation patching (localise.h), representation probes (representation_probe.h) and mitigation
//      (mitigation.h).
//
// Nothing here reads an organism's ground truth: the model folder is all a hunt sees. Comparing the findings with
// a planted truth is the caller's business (`moulin hunt` does it after the hunt when the folder is an organism's).
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/report.h"
#include "triggers/candidates.h"
#include "triggers/inversion_study.h"
#include "triggers/localise.h"
#include "triggers/mitigation.h"
#include "triggers/representation_probe.h"
#include "triggers/scan.h"
#include "triggers/study_files.h"
#include "triggers/subject.h"
#include "triggers/target_scan.h"

namespace moulin::triggers {

struct HuntOptions {
  TargetScanOptions target_scan;
  // A full inversion per flagged language (search.target_language is set per language). Off: the target scan's
  // budgeted inversion stands in for it.
  bool full_inversion = true;
  InversionStudyOptions inversion = default_inversion();

  // The candidate scan: given phrases, generated ones, and what the inversions found (with their near misses).
  std::vector<Candidate> candidates;
  CandidateGeneration generation = default_generation();
  std::size_t scan_prompts = 20;
  std::size_t verification_prompts = 20;
  ScanOptions scan;

  std::size_t localise_prompts = 16;
  LocaliseOptions localise;
  std::size_t probe_prompts = 100;
  ProbeStudyOptions probe;
  std::size_t mitigation_fitting = 40, mitigation_held_out = 60, mitigation_clean = 40;
  MitigationOptions mitigation;
  std::uint64_t seed = 0;

  // A stage starting ("target scan", "inversion fr", "scan", "patch fr"...), and the progress inside it.
  std::function<void(const std::string& stage)> on_stage;
  std::function<void(const std::string& stage, std::size_t done, std::size_t total)> on_progress;

  // Latin-looking phrases and English word n-grams, 500 of each.
  static CandidateGeneration default_generation();
  // Three restarts: a single search can stall on a local optimum (on the default organism one restart reached 78%
  // held-out toward German where the target scan's budgeted search had found 72%).
  static InversionStudyOptions default_inversion();
};

struct HuntFinding {
  std::string language;
  InversionStudy inversion;
  std::string trigger;         // the phrase the studies below used
  std::string trigger_source;  // "scan" or "inversion"
  probes::Proportion trigger_switch_rate;  // the held-out switch rate that chose it
  LocalisationResult localisation;
  ProbeStudyResult probe;
  MitigationResult mitigation;
};

struct HuntResult {
  std::string model;
  TargetScan target_scan;
  std::optional<ScanResult> scan;  // absent when no language was flagged
  std::vector<HuntFinding> findings;  // one per flagged language
  double seconds = 0;
};

// `model` is the subject's folder, for the record. Throws as the studies it runs do.
HuntResult run_hunt(const Subject& subject, const std::filesystem::path& model, const HuntOptions& options);

// One line per finding: "fr: trigger ' talica ...' (inversion), switches 85% [..]; forms at 25% of depth; ...",
// or "no trigger found".
std::vector<std::string> hunt_summary(const HuntResult& result);

// hunt.json: the summary and every study's JSON (as the single-study commands write them).
nlohmann::json hunt_json(const HuntResult& result);

struct HuntFiles {
  std::filesystem::path folder;
  std::filesystem::path json;       // hunt.json: the summary and every study's JSON
  report::ReportFiles report;       // hunt.md / hunt.html / figures
  std::vector<std::filesystem::path> studies;  // each study's own folder (report and JSON)
};

// Writes <folder>/hunt.{json,md,html} and a subfolder per study: target-scan/, invert-<L>/, scan/, patch-<L>/,
// probe-<L>/, mitigate-<L>/. `extra_sections` (a ground-truth comparison, say) are appended to the report and
// `extra_json` is stored under "extra". Throws FileError for a folder that cannot be written.
HuntFiles write_hunt(const HuntResult& result, const std::filesystem::path& folder,
                     const std::vector<report::Section>& extra_sections = {},
                     const nlohmann::json& extra_json = nlohmann::json::object());

}  // namespace moulin::triggers
