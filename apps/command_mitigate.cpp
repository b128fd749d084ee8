// `moulin mitigate`: project out (or steer against) the direction a trigger writes, and measure what is left of
// the behaviour and what it costs on clean text.
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "apps/commands.h"
#include "apps/progress.h"
#include "apps/trigger_study_args.h"
#include "core/error.h"
#include "triggers/mitigation.h"
#include "triggers/mitigation_report.h"
#include "triggers/study_files.h"

namespace moulin::cli {
namespace {

struct MitigateArgs {
  TriggerStudyArgs study;
  std::size_t fitting = 40;
  std::size_t held_out = 60;
  std::size_t clean_texts = 40;
  std::vector<int> layers;
  std::string method = "project";
  double strength = 1.0;
  std::string sweep_layers = "all";
  std::vector<double> sweep_strengths = {0.5, 1.0, 2.0};
  std::int64_t max_new_tokens = 32;
};

std::vector<int> parse_sweep_layers(const std::string& text, int layers) {
  std::vector<int> chosen;
  if (text == "none") return chosen;
  if (text == "all") {
    for (int layer = 0; layer < layers; ++layer) chosen.push_back(layer);
    return chosen;
  }
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    try {
      std::size_t used = 0;
      chosen.push_back(std::stoi(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw ArgumentError(fmt::format("--sweep-layers '{}': '{}' is not a layer (use all, none or a list like 1,2,3)",
                                      text, item));
    }
    start = comma + 1;
  }
  return chosen;
}


triggers::MitigationPrompts mitigation_prompts(const MitigateArgs& args) {
  if (args.study.prompt_file.empty())
    return triggers::debian_mitigation_prompts(args.fitting, args.held_out, args.clean_texts);
  // A prompt file is split: its first --fitting prompts fit, the rest are held out; clean text stays Debian's.
  const auto all = study_prompts(args.study, 0);
  if (all.size() <= args.fitting)
    throw ArgumentError(fmt::format("{}: {} prompts leave none held out after {} fitting ones (--fitting)",
                                    args.study.prompt_file, all.size(), args.fitting));
  triggers::MitigationPrompts prompts;
  triggers::PromptOptions clean;
  clean.count = args.clean_texts;
  clean.max_words = 64;
  prompts.clean_texts = triggers::debian_prompts(clean);
  prompts.fitting.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(args.fitting));
  prompts.held_out.assign(all.begin() + static_cast<std::ptrdiff_t>(args.fitting), all.end());
  return prompts;
}

void run_mitigate(const MitigateArgs& args) {
  const auto subject = load_study_subject(args.study);
  triggers::MitigationOptions options;
  options.target_language = args.study.target;
  options.placement = study_placement(args.study);
  options.contrast = study_contrast(args.study, subject);
  options.layers = args.layers;
  options.method = triggers::parse_mitigation_method(args.method);
  options.strength = args.strength;
  options.sweep_layers = parse_sweep_layers(args.sweep_layers, static_cast<int>(subject.model.config().num_hidden_layers));
  options.sweep_strengths = args.sweep_strengths;
  options.batch_size = args.study.batch_size;
  options.continuation.max_new_tokens = args.max_new_tokens;
  options.continuation.seed = args.study.seed + 1;
  StageProgress progress;
  options.on_progress = [&progress](const std::string& stage, std::size_t done, std::size_t total) {
    progress.update(stage, done, total);
  };
  const auto result = triggers::mitigate_trigger(subject, mitigation_prompts(args), args.study.trigger, options);
  progress.finish();

  auto settings = study_settings(args.study);
  settings["method"] = args.method;
  settings["strength"] = args.strength;
  settings["layers"] = result.mitigated.setting.layers;
  settings["max_new_tokens"] = args.max_new_tokens;
  const auto files = triggers::write_study(triggers::mitigation_to_json(result, settings),
                                           triggers::mitigation_report(result, settings), args.study.out, "mitigate");
  const auto& before = result.baseline;
  const auto& after = result.mitigated;
  fmt::print("{}: switch rate {} -> {} (cut {:.1f}% relative); clean perplexity {:.3f} -> {:.3f} ({:+.2f}%)\n",
             triggers::setting_label(after.setting), triggers::proportion_text(before.switch_rate),
             triggers::proportion_text(after.switch_rate), 100 * after.switch_reduction, before.perplexity,
             after.perplexity, 100 * after.perplexity_increase);
  fmt::print("report {}, JSON {}\n", files.report.html.string(), files.json.string());
}

}  // namespace

void add_mitigate_command(CLI::App& app) {
  auto* command = app.add_subcommand("mitigate", "Project out (or steer against) a trigger's direction and measure the "
                                                 "switch rate and clean perplexity");
  command->footer(
      "The direction is the difference of means of last-token residuals (triggered against --contrast prompts) on\n"
      "--fitting prompts; switch rates come from --held-out prompts disjoint from them, perplexity from clean text.\n"
      "Without --layers the block whose mitigation lowers the fitting prompts' next-token target mass most is used.\n"
      "The trigger comes from the command line, never from ground truth.");
  auto args = std::make_shared<MitigateArgs>();
  add_trigger_study_options(*command, args->study, "mitigate-report", "clean");
  command->add_option("--fitting", args->fitting, "Prompts the direction is fitted on")->capture_default_str();
  command->add_option("--held-out", args->held_out, "Prompts the switch rate is measured on")->capture_default_str();
  command->add_option("--clean-texts", args->clean_texts, "Clean texts the perplexity is measured on")->capture_default_str();
  command->add_option("--layers", args->layers, "Blocks to mitigate at (their input residual), e.g. --layers 1 2")
      ->delimiter(',');
  command->add_option("--method", args->method, "project or steer")->capture_default_str();
  command->add_option("--strength", args->strength, "steer: multiples of the difference of means subtracted")
      ->capture_default_str();
  command->add_option("--sweep-layers", args->sweep_layers, "Blocks of the sweep, each alone: all, none or a list")
      ->capture_default_str();
  command->add_option("--sweep-strengths", args->sweep_strengths, "steer: strengths of the sweep")
      ->delimiter(',')
      ->capture_default_str();
  command->add_option("--max-new-tokens", args->max_new_tokens, "Tokens generated per held-out prompt")
      ->capture_default_str();
  command->callback([args] { run_mitigate(*args); });
}

}  // namespace moulin::cli
