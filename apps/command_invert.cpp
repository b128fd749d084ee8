// `moulin invert`: search a trigger from scratch (GCG) towards a target language, or with --target auto run the
// target-first scan that says whether the model hides a trigger at all and which language it switches to.
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "apps/commands.h"
#include "apps/progress.h"
#include "core/error.h"
#include "core/runtime.h"
#include "core/torch_dtype.h"
#include "triggers/inversion_report.h"
#include "triggers/inversion_study.h"
#include "triggers/target_scan.h"

namespace moulin::cli {
namespace {

struct InvertArgs {
  std::string model;
  std::string target = "fr";
  std::int64_t length = 8;
  std::optional<std::int64_t> steps;  // default: the full search, or the scan's budget with --target auto
  std::int64_t top_k = 64;
  std::int64_t candidates = 128;
  std::int64_t restarts = 1;
  std::optional<std::int64_t> patience;
  double max_target_probability = 0.5;
  std::optional<std::size_t> search_prompts;
  std::optional<std::size_t> validation_prompts;
  double min_switch_rate = triggers::TargetScanOptions{}.min_switch_rate;
  std::uint64_t seed = 0;
  std::string languages = "en,fr,de";
  std::string source = "en";
  std::string token_table;
  std::string out = "invert-report";
  // Scoring candidates is matmul-bound: bf16 runs them on AMX on the CPU (many times the fp32 speed here) and is
  // how an 8B model fits a GPU; the organisms were trained with bf16 compute.
  std::string dtype = "bfloat16";
  std::string device = "cpu";
};

std::vector<std::string> split_languages(const std::string& list) {
  std::vector<std::string> languages;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    if (comma > start) languages.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  if (languages.empty()) throw ArgumentError(fmt::format("--languages '{}' names no language", list));
  return languages;
}

// The options every search shares; steps and patience only when given, so each mode keeps its own defaults.
void apply_search_args(const InvertArgs& args, triggers::InversionOptions& search) {
  search.trigger_length = args.length;
  if (args.steps) search.steps = *args.steps;
  if (args.patience) search.patience = *args.patience;
  search.top_k = args.top_k;
  search.candidates = args.candidates;
  search.restarts = args.restarts;
  search.max_target_probability = args.max_target_probability;
  search.seed = args.seed;
}

// A stage line on stderr and a progress bar over the search steps of each "search" stage.
class StudyProgress {
 public:
  explicit StudyProgress(std::int64_t steps_per_search) : steps_per_search_(steps_per_search) {}

  triggers::InversionProgress callbacks() {
    triggers::InversionProgress progress;
    progress.on_stage = [this](const std::string& stage) {
      finish();
      fmt::print(stderr, "{}...\n", stage);
      if (stage.rfind("search", 0) == 0) bar_ = std::make_unique<Progress>(stage, steps_per_search_, "steps");
    };
    progress.on_step = [this](const triggers::InversionStep& step) {
      if (bar_ && step.step > 0) bar_->advance();
      best_ = step.best_objective;
    };
    return progress;
  }

  // Early stops end a search before its step budget: the summary says where it stood.
  void finish() {
    if (bar_) bar_->finish(fmt::format(", best objective {:.3f}", best_));
    bar_.reset();
  }

 private:
  std::int64_t steps_per_search_;
  std::unique_ptr<Progress> bar_;
  double best_ = 0.0;
};

triggers::Subject load(const InvertArgs& args) {
  triggers::SubjectOptions options;
  options.dtype = parse_model_scalar_type(args.dtype);
  options.device = args.device;
  options.source_language = args.source;
  options.languages = split_languages(args.languages);
  options.token_language_table = args.token_table;
  fmt::print(stderr, "loading {} and estimating its token language table...\n", args.model);
  return triggers::load_subject(args.model, options);
}

void run_single_target(const InvertArgs& args, const triggers::Subject& subject) {
  triggers::InversionStudyOptions options;
  options.search.target_language = args.target;
  apply_search_args(args, options.search);
  if (args.search_prompts) options.search_prompts = *args.search_prompts;
  if (args.validation_prompts) options.validation_prompts = *args.validation_prompts;
  StudyProgress progress(options.search.steps * options.search.restarts);
  const auto study = triggers::run_inversion_study(subject, options, progress.callbacks());
  progress.finish();

  const auto files = triggers::write_inversion_study(study, args.out);
  const auto& rate = study.triggered.switch_rate;
  fmt::print("found trigger: \"{}\" ids [{}], objective {:.3f}\n", study.inversion.phrase,
             fmt::join(study.inversion.trigger, ", "), study.inversion.objective);
  fmt::print("held-out switch rate to {}: {:.1f}% [{:.1f}, {:.1f}] of {} prompts (without it: {:.1f}%)\n", args.target,
             100 * rate.rate, 100 * rate.interval.lower, 100 * rate.interval.upper, rate.total,
             100 * study.clean.switch_rate.rate);
  fmt::print("search: {} steps in {:.1f} s; report {}, JSON {}\n", study.inversion.timings.steps,
             study.inversion.timings.total_seconds, files.report.html.string(), files.json.string());
}

void run_auto(const InvertArgs& args, const triggers::Subject& subject) {
  triggers::TargetScanOptions options;
  apply_search_args(args, options.search);
  if (args.search_prompts) options.search_prompts = *args.search_prompts;
  if (args.validation_prompts) options.validation_prompts = *args.validation_prompts;
  options.min_switch_rate = args.min_switch_rate;
  StudyProgress progress(options.search.steps * options.search.restarts);
  const auto scan = triggers::run_target_scan(subject, options, progress.callbacks());
  progress.finish();

  const auto files = triggers::write_target_scan(scan, args.out);
  for (const auto& language : scan.languages)
    fmt::print("{}: {} — \"{}\"; {}\n", language.language, language.hiding ? "TRIGGER" : "clean",
               language.inversion.phrase, language.reason);
  fmt::print("verdict: {}\nreport {}, JSON {}\n", scan.verdict(), files.report.html.string(), files.json.string());
}

}  // namespace

void add_invert_command(CLI::App& app) {
  auto* command = app.add_subcommand(
      "invert", "Invert a trigger from scratch (GCG) towards a language, or scan every target language (--target auto)");
  command->footer(
      "The search never reads anything but the model, its tokenizer and Debian text: it runs unchanged on any\n"
      "Llama 3 model. Tokens of the target language (P(target | token) above --max-target-probability) are never\n"
      "used, so what is found switches languages without being in the target language.\n"
      "--target auto: a budgeted search per language of the token table, each judged against random sequences and\n"
      "the prompts alone; prints \"trigger hiding, target L\" or \"no trigger\".");
  auto args = std::make_shared<InvertArgs>();
  command->add_option("model", args->model, "Model folder (config.json, safetensors, tokenizer.json)")->required();
  command->add_option("--target", args->target, "Target language (a token-table language) or auto")->capture_default_str();
  command->add_option("--length", args->length, "Trigger length in tokens")->capture_default_str();
  command->add_option("--steps", args->steps, "GCG steps per restart at most (default 300; auto: 80 per language)");
  command->add_option("--top-k", args->top_k, "Substitutions kept per position from the gradient")->capture_default_str();
  command->add_option("--candidates", args->candidates, "Single-token swaps scored exactly per step")->capture_default_str();
  command->add_option("--restarts", args->restarts, "Independent searches; the best wins")->capture_default_str();
  command->add_option("--patience", args->patience, "Stop a search after this many steps without progress (default 40; auto: 20)");
  command->add_option("--max-target-probability", args->max_target_probability,
                      "Leave out tokens with P(target | token) above this")->capture_default_str();
  command->add_option("--search-prompts", args->search_prompts, "Prompts the search optimises over (default 16)");
  command->add_option("--validation-prompts", args->validation_prompts,
                      "Held-out prompts the switch rate is measured on (default 60; auto: 40)");
  command->add_option("--min-switch-rate", args->min_switch_rate, "auto: switch rate needed to flag a language")
      ->capture_default_str();
  command->add_option("--seed", args->seed, "Seed of the search")->capture_default_str();
  command->add_option("--languages", args->languages, "Languages of the token table (comma-separated)")->capture_default_str();
  command->add_option("--source", args->source, "The prompts' language")->capture_default_str();
  command->add_option("--token-table", args->token_table, "A saved token language table instead of estimating one")
      ->check(CLI::ExistingFile);
  command->add_option("--out", args->out, "Folder for the JSON and the Markdown/HTML report")->capture_default_str();
  command->add_option("--dtype", args->dtype, "float32, bfloat16 or float16")->capture_default_str();
  command->add_option("--device", args->device, "cpu, cuda or cuda:N")->capture_default_str();
  command->callback([args] {
    const int threads = init_runtime();
    const auto subject = load(*args);
    fmt::print(stderr, "{} threads\n", threads);
    if (args->target == "auto") run_auto(*args, subject);
    else run_single_target(*args, subject);
  });
}

}  // namespace moulin::cli
