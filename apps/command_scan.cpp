// `moulin scan`: rank candidate trigger phrases by how far they move a model's next token toward another language,
// verify the top ones by generation, and write scan.json with a Markdown/HTML report.
#include <algorithm>
#include <memory>

#include <fmt/format.h>

#include "apps/commands.h"
#include "apps/progress.h"
#include "apps/subject_args.h"
#include "core/runtime.h"
#include "triggers/scan_report.h"
#include "triggers/scan_run.h"

namespace moulin::cli {
namespace {

struct ScanArgs {
  std::string model;
  std::string candidates;
  std::vector<std::string> generate;
  std::size_t count = 1000;
  std::uint64_t seed = 0;
  std::string prompts;
  std::size_t prompt_count = 20;
  std::size_t verify_prompts = 20;
  std::string placement = "suffix";
  std::int64_t batch = 64;
  std::size_t top = 20;
  std::int64_t max_new_tokens = 32;
  bool no_reuse = false;
  std::string out = "moulin-scan";
  SubjectArgs subject;
};


void print_top(const triggers::ScanResult& result, std::size_t rows) {
  fmt::print("{:>4}  {:<36} {:<12} {:<4} {:>8}  {:<19} {}\n", "rank", "candidate", "source", "lang", "effect",
             "95% CI", "verified (clean)");
  const auto& ranking = result.scores.ranking;
  for (std::size_t rank = 0; rank < std::min(rows, ranking.size()); ++rank) {
    const auto& score = ranking[rank];
    std::string verified;
    if (rank < result.verification.size())
      verified = fmt::format("{:.2f} ({:.2f})", result.verification[rank].triggered.rate,
                             result.verification[rank].clean.rate);
    fmt::print("{:>4}  {:<36} {:<12} {:<4} {:>+8.4f}  [{:+.4f}, {:+.4f}] {}\n", rank + 1, score.candidate.phrase,
               score.candidate.source, score.effect().language, score.effect().mean, score.effect().lower,
               score.effect().upper, verified);
  }
}

triggers::ScanRun scan_run(const ScanArgs& args) {
  triggers::ScanRun run;
  run.model = args.model;
  run.subject = subject_options(args.subject);
  run.candidate_file = args.candidates;
  for (const auto& list : args.generate) triggers::parse_generation_list(list, run.generation);
  run.generation.count = args.count;
  run.generation.seed = args.seed;
  run.generation.corpus_language = args.subject.source_language;
  if (!args.prompts.empty()) run.prompts = triggers::read_prompt_file(args.prompts);
  run.prompt_count = args.prompt_count;
  run.verification_prompts = args.verify_prompts;
  run.prompt_seed = args.seed + 7;
  run.scan.batches.placement = triggers::parse_placement(args.placement);
  run.scan.batches.batch_size = args.batch;
  run.scan.batches.reuse_prefix = !args.no_reuse;
  run.scan.top_k = args.top;
  run.scan.verification.max_new_tokens = args.max_new_tokens;
  return run;
}

void scan_from_args(const ScanArgs& args) {
  const int threads = init_runtime();
  auto run = scan_run(args);
  StageProgress progress;
  run.scan.on_progress = [&](std::string_view stage, std::size_t done, std::size_t total) {
    progress.update(stage, done, total, stage == "score" ? "evaluations" : "candidates");
  };
  fmt::print(stderr, "{} threads\n", threads);
  const auto result = triggers::run_scan(run, [](const std::string& line) { fmt::print(stderr, "{}\n", line); });
  progress.finish();
  const auto files = triggers::write_scan(result, args.out);
  print_top(result, std::max<std::size_t>(args.top, 10));
  fmt::print("scan written to {} (report {})\n", files.json.string(), files.report.html.string());
}

}  // namespace

void add_scan_command(CLI::App& app) {
  auto* command = app.add_subcommand(
      "scan", "Rank candidate trigger phrases by the language shift they cause at the next token, verify the top ones");
  auto args = std::make_shared<ScanArgs>();
  command->add_option("model", args->model, "Model folder (config.json, safetensors, tokenizer.json)")
      ->required()
      ->check(CLI::ExistingDirectory);
  command->add_option("--candidates", args->candidates, "Candidate phrases, one per line ('#' starts a comment)")
      ->check(CLI::ExistingFile);
  command
      ->add_option("--generate", args->generate,
                   "Generated candidates: word-ngrams,token-ngrams,latin,near-misses-of=PHRASE (comma-separated)")
      ->allow_extra_args(false);  // one list per --generate (repeatable): phrases hold spaces, lists split at commas
  command->add_option("--count", args->count, "Candidates per generator (word n-grams, token n-grams, Latin)")
      ->capture_default_str();
  command->add_option("--seed", args->seed, "Seed of candidate generation and Debian prompt choice")->capture_default_str();
  auto* prompt_file = command->add_option("--prompts", args->prompts, "Scan prompts, one per line")->check(CLI::ExistingFile);
  command->add_option("--prompt-count", args->prompt_count, "Held-out Debian prompts to scan on")
      ->capture_default_str()
      ->excludes(prompt_file);
  command->add_option("--verify-prompts", args->verify_prompts, "Held-out prompts for the generation check")
      ->capture_default_str();
  command->add_option("--placement", args->placement, "Where candidates go: prefix, suffix or inside")
      ->capture_default_str();
  command->add_option("--batch", args->batch, "Candidates per forward pass")->capture_default_str();
  command->add_option("--top", args->top, "Top candidates verified by generation")->capture_default_str();
  command->add_option("--max-new-tokens", args->max_new_tokens, "Tokens generated per verification prompt")
      ->capture_default_str();
  command->add_flag("--no-reuse", args->no_reuse, "Run full sequences instead of reusing the prompt prefix's KV cache");
  command->add_option("--out", args->out, "Output folder (scan.json, scan.md, scan.html, figures/)")->capture_default_str();
  add_subject_options(*command, args->subject);
  command->callback([args] { scan_from_args(*args); });
}

}  // namespace moulin::cli
