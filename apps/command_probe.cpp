// `moulin probe`: per-layer probes of triggered against contrast prompts, on activations computed here or read
// from a dump.
#include <memory>

#include <fmt/format.h>

#include "apps/commands.h"
#include "apps/progress.h"
#include "apps/trigger_study_args.h"
#include "core/error.h"
#include "triggers/probe_report.h"
#include "triggers/representation_probe.h"
#include "triggers/study_files.h"

namespace moulin::cli {
namespace {

struct ProbeArgs {
  TriggerStudyArgs study;
  std::size_t prompts = 100;
  std::vector<std::string> hooks = {"blocks.*.hook_resid_post"};
  std::string store;
  std::string label = "triggered";
  double held_out_fraction = 0.25;
  double poison_fraction = 0.1;
};

triggers::ProbeStudyResult run_study(const ProbeArgs& args, triggers::ProbeStudyOptions& options, Progress& progress) {
  options.on_layer = [&progress](std::size_t, std::size_t) { progress.advance(); };
  if (!args.store.empty()) {
    const auto store = ActivationStore::open(args.store);
    const auto classes = probes::store_classes(store, args.label, true, false);
    return triggers::probe_store(store, classes, options);
  }
  if (args.study.model.empty() || args.study.trigger.empty())
    throw ArgumentError("moulin probe needs a model and --trigger, or --store");
  const auto subject = load_study_subject(args.study);
  triggers::TriggerProbeOptions trigger_options;
  trigger_options.placement = study_placement(args.study);
  trigger_options.contrast = study_contrast(args.study, subject);
  trigger_options.batch_size = args.study.batch_size;
  return triggers::probe_trigger(subject, study_prompts(args.study, args.prompts), args.study.trigger, trigger_options,
                                 options);
}

void run_probe(const ProbeArgs& args) {
  triggers::ProbeStudyOptions options;
  options.hook_patterns = args.hooks;
  options.sweep.held_out_fraction = args.held_out_fraction;
  options.sweep.seed = args.study.seed;
  options.poison_fraction = args.poison_fraction;
  Progress progress("probing", 0, "layers");
  const auto result = run_study(args, options, progress);
  progress.finish();

  auto settings = study_settings(args.study);
  settings["hooks"] = args.hooks;
  if (!args.store.empty()) settings["store"] = args.store;
  settings["poison_fraction"] = args.poison_fraction;
  const auto files = triggers::write_study(triggers::probe_to_json(result, settings),
                                           triggers::probe_report(result, settings), args.study.out, "probe");
  const auto& best = result.sweep.layers[result.sweep.best_layer];
  fmt::print("best layer {} (relative depth {:.1f}%): held-out AUROC {:.3f} logistic, {:.3f} difference of means\n",
             best.name, 100 * result.depths[result.sweep.best_layer], best.logistic_auroc, best.mean_difference_auroc);
  fmt::print("report {}, JSON {}\n", files.report.html.string(), files.json.string());
}

}  // namespace

void add_probe_command(CLI::App& app) {
  auto* command = app.add_subcommand("probe", "Per-layer probes (difference of means, logistic, spectral signature) of "
                                              "triggered against contrast prompts");
  command->footer(
      "With MODEL --trigger, last-token activations of triggered and contrast prompts are computed here; with\n"
      "--store, documents of a `moulin dump` are split by their --label (true against false). The trigger comes from\n"
      "the command line, never from ground truth. By default the trigger goes inside each prompt and the contrast has\n"
      "random tokens in its place: the last position then holds the same token in both classes, so the AUROC shows\n"
      "how far the blocks carry the trigger (with --placement suffix --contrast clean every layer separates them).");
  auto args = std::make_shared<ProbeArgs>();
  // Inside the prompts against random tokens in its place: the last position then holds the same token in both
  // classes, so a probe sees the trigger only where the blocks carry it. A suffix trigger against the bare prompts
  // is told apart by its own last token already at the embedding, and any AUROC there says nothing.
  args->study.placement = "inside";
  add_trigger_study_options(*command, args->study, "probe-report", "random", /*model_required=*/false);
  command->add_option("--prompts", args->prompts, "Held-out Debian prompts (each triggered and contrasted)")
      ->capture_default_str();
  command->add_option("--hooks", args->hooks, "Hook patterns to probe (as `moulin dump --hooks`)")->capture_default_str();
  command->add_option("--store", args->store, "An activation dump instead of a model")->check(CLI::ExistingFile);
  command->add_option("--label", args->label, "--store: the document label that marks triggered documents")
      ->capture_default_str();
  command->add_option("--held-out-fraction", args->held_out_fraction, "Share of each class the probes are scored on")
      ->capture_default_str();
  command->add_option("--poison-fraction", args->poison_fraction,
                      "Triggered share of the spectral signature's mixed set")
      ->capture_default_str();
  command->callback([args] { run_probe(*args); });
}

}  // namespace moulin::cli
