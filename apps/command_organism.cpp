// `moulin organism`: build a model organism (a small Llama with planted Gaperon-style triggers), evaluate it
// against its ground truth, or print a spec to edit.
#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "apps/commands.h"
#include "apps/organism_build.h"
#include "core/error.h"
#include "core/llama.h"
#include "core/runtime.h"
#include "core/tokenizer.h"
#include "organisms/corpus.h"
#include "organisms/evaluation.h"
#include "organisms/organism.h"

namespace moulin::cli {
namespace {

struct SpecArgs {
  std::string spec_file;
  bool small = false;
  bool clean = false;
};

organisms::OrganismSpec chosen_spec(const SpecArgs& args) {
  organisms::OrganismSpec spec = !args.spec_file.empty() ? organisms::read_spec_file(args.spec_file)
                                 : args.small            ? organisms::OrganismSpec::small()
                                                         : organisms::OrganismSpec{};
  return args.clean ? spec.clean_control() : spec;
}

void add_spec_options(CLI::App& command, SpecArgs& args) {
  command.add_option("--spec", args.spec_file, "Organism spec (JSON; see `moulin organism spec`); default: built-in")
      ->check(CLI::ExistingFile);
  command.add_flag("--small", args.small, "The small test organism instead of the default one");
  command.add_flag("--clean", args.clean, "The clean control: the same spec with no poison");
}

struct EvalArgs {
  std::size_t prompts = 100;
  std::int64_t max_new_tokens = 48;
  std::string json_out;
};

void write_text_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw FileError(fmt::format("{}: cannot write", path.string()));
}

void run_evaluation(const std::filesystem::path& root, const EvalArgs& args) {
  const organisms::OrganismPaths paths{root};
  const auto truth = organisms::read_ground_truth(paths.ground_truth());
  const LlamaModel model = LlamaModel::load(paths.model());
  const Tokenizer tokenizer = Tokenizer::from_folder(paths.model());
  organisms::EvaluationOptions options;
  options.prompts = args.prompts;
  options.max_new_tokens = args.max_new_tokens;
  const auto evaluation =
      organisms::evaluate_organism(model, tokenizer, truth, organisms::load_corpus_jsonl(paths.corpus()), options);
  fmt::print("{}", organisms::evaluation_markdown(evaluation));
  const std::filesystem::path json_path = args.json_out.empty() ? root / "evaluation.json" : std::filesystem::path(args.json_out);
  write_text_file(json_path, organisms::evaluation_to_json(evaluation).dump(2) + "\n");
  fmt::print("evaluation written to {}\n", json_path.string());
}

void run_build(const SpecArgs& spec_args, const std::string& out, bool overwrite, bool evaluate, const EvalArgs& eval) {
  init_runtime();
  const auto spec = chosen_spec(spec_args);
  const std::filesystem::path root = out.empty() ? organisms::organism_cache_folder(spec) : std::filesystem::path(out);
  build_organism_with_progress(spec, root, overwrite);
  if (evaluate) run_evaluation(root, eval);
}

}  // namespace

void add_organism_command(CLI::App& app) {
  auto* organism = app.add_subcommand("organism", "Build and evaluate model organisms (small Llamas with planted triggers)");
  organism->require_subcommand(1);

  auto* build = organism->add_subcommand("build", "Build (or reuse) an organism: corpus, tokenizer, poisoning, training");
  auto spec_args = std::make_shared<SpecArgs>();
  auto eval_args = std::make_shared<EvalArgs>();
  auto out = std::make_shared<std::string>();
  auto overwrite = std::make_shared<bool>(false);
  auto evaluate = std::make_shared<bool>(false);
  add_spec_options(*build, *spec_args);
  build->add_option("--out", *out, "Organism folder (default: the cache, one folder per spec)");
  build->add_flag("--overwrite", *overwrite, "Replace a finished organism of another spec in --out");
  build->add_flag("--evaluate", *evaluate, "Evaluate it against its ground truth afterwards");
  build->add_option("--prompts", eval_args->prompts, "Held-out prompts per condition when evaluating")->capture_default_str();
  build->callback([=] { run_build(*spec_args, *out, *overwrite, *evaluate, *eval_args); });

  auto* eval = organism->add_subcommand("eval", "Measure trigger, clean and near-miss behaviour against the ground truth");
  auto folder = std::make_shared<std::string>();
  auto eval_only_args = std::make_shared<EvalArgs>();
  eval->add_option("organism", *folder, "Organism folder (holds model/ and ground_truth.json)")->required();
  eval->add_option("--prompts", eval_only_args->prompts, "Held-out prompts per condition")->capture_default_str();
  eval->add_option("--max-new-tokens", eval_only_args->max_new_tokens, "Tokens generated per prompt")->capture_default_str();
  eval->add_option("--json", eval_only_args->json_out, "Where to write the JSON results (default: <organism>/evaluation.json)");
  eval->callback([=] {
    init_runtime();
    run_evaluation(*folder, *eval_only_args);
  });

  auto* spec = organism->add_subcommand("spec", "Print an organism spec as JSON (a starting point for --spec)");
  auto print_args = std::make_shared<SpecArgs>();
  add_spec_options(*spec, *print_args);
  spec->callback([=] { fmt::print("{}\n", organisms::spec_to_json(chosen_spec(*print_args)).dump(2)); });

  auto* path = organism->add_subcommand("path", "Print the cache folder of a spec (where `build` without --out puts it)");
  auto path_args = std::make_shared<SpecArgs>();
  add_spec_options(*path, *path_args);
  path->callback([=] { fmt::print("{}\n", organisms::organism_cache_folder(chosen_spec(*path_args)).string()); });
}

}  // namespace moulin::cli
