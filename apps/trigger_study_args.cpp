#include "apps/trigger_study_args.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/runtime.h"
#include "core/torch_dtype.h"
#include "triggers/trigger_vocabulary.h"
#include "triggers/study_contrast.h"

namespace moulin::cli {
namespace {

std::vector<std::string> split_list(const std::string& list, const char* option) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    if (comma > start) items.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  if (items.empty()) throw ArgumentError(fmt::format("{} '{}' lists nothing", option, list));
  return items;
}

}  // namespace

void add_trigger_study_options(CLI::App& command, TriggerStudyArgs& args, const std::string& out,
                               const std::string& contrast, bool model_required) {
  args.out = out;
  args.contrast = contrast;
  auto* model = command.add_option("model", args.model, "Model folder (config.json, safetensors, tokenizer.json)");
  auto* trigger = command.add_option("--trigger", args.trigger, "The trigger phrase (from `moulin scan` or `moulin invert`)");
  if (model_required) {
    model->required();
    trigger->required();
  }
  command.add_option("--target", args.target, "The language the trigger switches to (a token-table language)")
      ->capture_default_str();
  command.add_option("--placement", args.placement, "Where the trigger goes: suffix, prefix or inside")
      ->capture_default_str();
  command.add_option("--contrast", args.contrast,
                     "What triggered prompts are compared with: clean (no trigger), random (its tokens replaced by "
                     "random ones) or phrase (--contrast-phrase in its place)")
      ->capture_default_str();
  command.add_option("--contrast-phrase", args.contrast_phrase, "The phrase of --contrast phrase (e.g. a near miss)");
  command.add_option("--seed", args.seed, "Seed of the random contrast")->capture_default_str();
  command.add_option("--prompt-file", args.prompt_file, "Prompts, one per line, instead of held-out Debian text")
      ->check(CLI::ExistingFile);
  command.add_option("--languages", args.languages, "Languages of the token table (comma-separated)")->capture_default_str();
  command.add_option("--source", args.source, "The prompts' language")->capture_default_str();
  command.add_option("--token-table", args.token_table, "A saved token language table instead of estimating one")
      ->check(CLI::ExistingFile);
  command.add_option("--out", args.out, "Folder for the JSON and the Markdown/HTML report")->capture_default_str();
  command.add_option("--dtype", args.dtype, "float32, bfloat16 or float16")->capture_default_str();
  command.add_option("--device", args.device, "cpu, cuda or cuda:N")->capture_default_str();
  command.add_option("--batch-size", args.batch_size, "Runs per forward pass")->capture_default_str();
}

triggers::Subject load_study_subject(const TriggerStudyArgs& args) {
  const int threads = init_runtime();
  triggers::SubjectOptions options;
  options.dtype = parse_model_scalar_type(args.dtype);
  options.device = args.device;
  options.source_language = args.source;
  options.languages = split_list(args.languages, "--languages");
  options.token_language_table = args.token_table;
  fmt::print(stderr, "loading {} and its token language table ({} threads)...\n", args.model, threads);
  return triggers::load_subject(args.model, options);
}

triggers::Placement study_placement(const TriggerStudyArgs& args) { return triggers::parse_placement(args.placement); }

triggers::ContrastOptions study_contrast(const TriggerStudyArgs& args, const triggers::Subject& subject) {
  return triggers::study_contrast(subject, args.contrast, args.contrast_phrase, args.seed, args.target);
}

std::vector<std::string> study_prompts(const TriggerStudyArgs& args, std::size_t count, std::size_t skip) {
  if (!args.prompt_file.empty()) return triggers::read_prompt_file(args.prompt_file);
  triggers::PromptOptions options;
  options.language = args.source;
  options.count = count;
  return triggers::debian_prompts(options, skip);
}

nlohmann::json study_settings(const TriggerStudyArgs& args) {
  nlohmann::json settings = {{"model", args.model},     {"trigger", args.trigger},     {"target", args.target},
                             {"placement", args.placement}, {"contrast", args.contrast}, {"seed", args.seed},
                             {"source", args.source},   {"dtype", args.dtype},         {"device", args.device}};
  if (!args.contrast_phrase.empty()) settings["contrast_phrase"] = args.contrast_phrase;
  if (!args.prompt_file.empty()) settings["prompt_file"] = args.prompt_file;
  return settings;
}

}  // namespace moulin::cli
