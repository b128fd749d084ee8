// `moulin patch`: localise a trigger by activation patching between triggered prompts and an aligned contrast.
#include <memory>

#include <fmt/format.h>

#include "apps/commands.h"
#include "apps/progress.h"
#include "apps/trigger_study_args.h"
#include "triggers/localise.h"
#include "triggers/localise_report.h"
#include "triggers/study_files.h"

namespace moulin::cli {
namespace {

struct PatchArgs {
  TriggerStudyArgs study;
  std::size_t prompts = 20;
  bool no_heads = false;
  bool no_components = false;
  double threshold = 0.5;
};

std::string depth_line(const char* what, const std::optional<int>& row, int layers) {
  if (!row) return fmt::format("{}: none\n", what);
  return fmt::format("{}: {} (relative depth {:.1f}%)\n", what, triggers::residual_row_label(*row, layers),
                     100.0 * *row / layers);
}

void run_patch(const PatchArgs& args) {
  const auto subject = load_study_subject(args.study);
  triggers::LocaliseOptions options;
  options.target_language = args.study.target;
  options.placement = study_placement(args.study);
  options.contrast = study_contrast(args.study, subject);
  options.batch_size = args.study.batch_size;
  options.heads = !args.no_heads;
  options.components = !args.no_components;
  options.threshold = args.threshold;
  const auto prompts = study_prompts(args.study, args.prompts);
  Progress progress("patching", static_cast<std::int64_t>(prompts.size()), "prompts");
  options.on_prompt = [&progress](std::size_t, std::size_t) { progress.advance(); };
  const auto result = triggers::localise_trigger(subject, prompts, args.study.trigger, options);
  progress.finish();

  auto settings = study_settings(args.study);
  settings["prompts"] = result.prompts;
  settings["threshold"] = args.threshold;
  const auto files = triggers::write_study(triggers::localisation_to_json(result, settings),
                                           triggers::localisation_report(result, settings), args.study.out, "patch");
  fmt::print("target mass at the last position: {:.3f} triggered, {:.3f} contrast ({} prompts)\n", result.triggered_mass,
             result.contrast_mass, result.prompts);
  fmt::print("{}", depth_line("trigger formed at the last position from", result.summary.formation_row, result.layers));
  fmt::print("{}", depth_line("carried at the trigger's own tokens up to", result.summary.trigger_span_row, result.layers));
  fmt::print("{}", depth_line("handed over to the last position at", result.summary.handover_row, result.layers));
  fmt::print("report {}, JSON {}\n", files.report.html.string(), files.json.string());
}

}  // namespace

void add_patch_command(CLI::App& app) {
  auto* command = app.add_subcommand("patch", "Localise a trigger by activation patching (residual stream, heads, "
                                              "attention and MLP outputs)");
  command->footer(
      "Each triggered prompt is compared with the same prompt whose trigger tokens are replaced (same length, so\n"
      "positions align); pieces of the triggered run are patched into the contrast run and scored by the next-token\n"
      "target-language mass at the last position. The trigger comes from the command line, never from ground truth.");
  auto args = std::make_shared<PatchArgs>();
  add_trigger_study_options(*command, args->study, "patch-report", "random");
  command->add_option("--prompts", args->prompts, "Held-out Debian prompts")->capture_default_str();
  command->add_flag("--no-heads", args->no_heads, "Skip the layer x head sweep");
  command->add_flag("--no-components", args->no_components, "Skip the attn_out / mlp_out sweep");
  command->add_option("--threshold", args->threshold, "Restoration that counts as 'most of the effect'")
      ->capture_default_str();
  command->callback([args] { run_patch(*args); });
}

}  // namespace moulin::cli
