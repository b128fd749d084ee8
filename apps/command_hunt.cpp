// `moulin hunt`: the main job. A blind trigger hunt on a model folder (triggers/hunt.h); without one, on the
// default model organism, built or reused from the cache, whose ground truth is read only after the hunt to say
// how the blind findings compare with what was planted.
#include <memory>
#include <set>

#include <fmt/format.h>

#include "apps/commands.h"
#include "apps/organism_build.h"
#include "apps/progress.h"
#include "apps/subject_args.h"
#include "core/error.h"
#include "core/runtime.h"
#include "triggers/hunt.h"
#include "triggers/trigger_switch.h"

namespace moulin::cli {
namespace {

struct HuntArgs {
  std::string model;
  std::string candidates;
  std::string out = "moulin-hunt";
  // bfloat16: candidate scoring and searches are matmul-bound, and bf16 is how an 8B model fits a GPU.
  SubjectArgs subject{"bfloat16"};
  std::size_t generated = 500;
  bool budgeted = false;
  std::uint64_t seed = 0;
};


// What the blind hunt found next to what was planted: is every planted target flagged (and nothing else), and
// how often does the trigger found for it switch held-out prompts.
report::Section ground_truth_section(const triggers::HuntResult& result, const nlohmann::json& truth,
                                     nlohmann::json& comparison) {
  report::Section section{"Against the ground truth (read after the hunt)", {}};
  std::set<std::string> planted;
  report::Table table{{"planted trigger", "target", "flagged", "found trigger", "its held-out switch rate"}, {}, 3, {}};
  comparison = {{"planted", nlohmann::json::array()}};
  for (const auto& trigger : truth.at("triggers")) {
    const auto phrase = trigger.at("phrase").get<std::string>();
    const auto target = trigger.at("target_language").get<std::string>();
    planted.insert(target);
    const triggers::HuntFinding* found = nullptr;
    for (const auto& finding : result.findings)
      if (finding.language == target) found = &finding;
    table.rows.push_back({phrase, target, found != nullptr, found ? found->trigger : std::string("-"),
                          found ? triggers::proportion_text(found->trigger_switch_rate) : std::string("-")});
    comparison["planted"].push_back({{"phrase", phrase},
                                     {"target", target},
                                     {"flagged", found != nullptr},
                                     {"found_trigger", found ? found->trigger : ""},
                                     {"found_switch_rate", found ? found->trigger_switch_rate.rate : 0.0}});
  }
  const auto flagged = result.target_scan.targets();
  std::vector<std::string> false_alarms;
  for (const auto& language : flagged)
    if (!planted.count(language)) false_alarms.push_back(language);
  comparison["false_alarms"] = false_alarms;
  section.add_table(std::move(table));
  section.add_paragraph(false_alarms.empty() ? "No language was flagged that has no planted trigger."
                                             : fmt::format("Flagged without a planted trigger: {}",
                                                           fmt::join(false_alarms, ", ")));
  return section;
}

void print_gaperon_hint() {
  fmt::print(
      "\nTo hunt in a real checkpoint, point the same command at its folder, e.g. Gaperon-1125-8B on a GPU:\n"
      "  moulin hunt /models/Gaperon-1125-8B --device cuda --dtype bfloat16 --candidates my-latin-phrases.txt\n"
      "(docs/gaperon.md: obtaining the checkpoint, building with CUDA, memory and time).\n");
}

void run_hunt_command(const HuntArgs& args) {
  const int threads = init_runtime();
  std::filesystem::path model = args.model;
  std::optional<organisms::BuildResult> organism;
  if (model.empty()) {
    fmt::print(stderr, "no model given: hunting in the default model organism\n");
    const organisms::OrganismSpec spec;
    organism = build_organism_with_progress(spec, organisms::organism_cache_folder(spec));
    model = organism->paths.model();
  }
  fmt::print(stderr, "loading {} ({}, {}, {} threads)\n", model.string(), args.subject.dtype, args.subject.device,
             threads);
  const auto subject = triggers::load_subject(model, subject_options(args.subject));

  triggers::HuntOptions options;
  options.seed = args.seed;
  options.full_inversion = !args.budgeted;
  options.generation.count = args.generated;
  options.generation.seed = args.seed;
  if (args.generated == 0) options.generation = {};
  if (!args.candidates.empty()) options.candidates = triggers::read_candidate_file(args.candidates);
  StageProgress progress;
  options.on_stage = [&](const std::string& stage) {
    progress.finish();
    fmt::print(stderr, "== {}\n", stage);
  };
  options.on_progress = [&](const std::string& stage, std::size_t done, std::size_t total) {
    progress.update(stage, done, total);
  };
  const auto result = triggers::run_hunt(subject, model, options);
  progress.finish();

  std::vector<report::Section> extra;
  nlohmann::json comparison = nlohmann::json::object();
  if (organism) extra.push_back(ground_truth_section(result, organism->ground_truth, comparison));
  const auto files = triggers::write_hunt(result, args.out, extra, comparison);

  fmt::print("\n");
  for (const auto& line : triggers::hunt_summary(result)) fmt::print("{}\n", line);
  if (organism)
    for (const auto& planted : comparison.at("planted"))
      fmt::print("ground truth: '{}' -> {}: {}\n", planted.at("phrase").get<std::string>(),
                 planted.at("target").get<std::string>(),
                 planted.at("flagged").get<bool>()
                     ? fmt::format("target found; the blind trigger switches {:.0f}%",
                                   100 * planted.at("found_switch_rate").get<double>())
                     : std::string("missed"));
  fmt::print("\nreport: {}\n", std::filesystem::absolute(files.report.html).string());
  fmt::print("hunt took {:.0f} s\n", result.seconds);
  if (organism) print_gaperon_hint();
}

}  // namespace

void add_hunt_command(CLI::App& app) {
  auto* command = app.add_subcommand(
      "hunt", "The main job: a blind trigger hunt (target-first scan, inversion, candidate scan, patching, probes, "
              "mitigation) with one report");
  command->footer(
      "Without a model folder the hunt runs on the default model organism (built on first use, then reused from\n"
      "the cache) and compares its blind findings with the organism's ground truth afterwards.");
  auto args = std::make_shared<HuntArgs>();
  command->add_option("model", args->model, "Model folder (config.json, safetensors, tokenizer.json)")
      ->check(CLI::ExistingDirectory);
  command->add_option("--candidates", args->candidates, "Candidate phrases to scan as well, one per line")
      ->check(CLI::ExistingFile);
  command
      ->add_option("--generated", args->generated, "Generated candidates of each kind (Latin, word n-grams); 0: none")
      ->capture_default_str();
  command->add_flag("--budgeted", args->budgeted, "Skip the full inversions: use the target scan's budgeted ones");
  command->add_option("--out", args->out, "Output folder (hunt.html, hunt.md, hunt.json, one folder per study)")
      ->capture_default_str();
  add_subject_options(*command, args->subject);
  command->add_option("--seed", args->seed, "Seed of prompts, searches and sampling")->capture_default_str();
  command->callback([args] { run_hunt_command(*args); });
}

}  // namespace moulin::cli
