// Candidate scan throughput: candidate × prompt next-token evaluations per second with the shared prompt prefix's
// KV cache reused against full sequences, on the same model, candidates and prompts, side by side in one run
// (target: at least 3× with reuse for suffix triggers). The two scans' scores are compared as well.
//
//   moulin_bench_scan [MODEL_FOLDER] [--candidates N] [--prompts N] [--batch N] [--placement suffix]
//
// Without a folder it scans the default organism (built into the cache first when missing, several minutes).
#include <cstdio>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "core/error.h"
#include "core/runtime.h"
#include "organisms/organism.h"
#include "triggers/scan.h"
#include "triggers/scan_run.h"

namespace moulin::bench {
namespace {

struct Settings {
  std::filesystem::path model;
  std::size_t candidates = 1000;
  std::size_t prompts = 20;
  std::int64_t batch = 64;
  triggers::Placement placement = triggers::Placement::kSuffix;
};

Settings parse(int argc, char** argv) {
  Settings settings;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw ArgumentError(fmt::format("{} needs a value", arg));
      return argv[++i];
    };
    if (arg == "--candidates") settings.candidates = std::stoul(value());
    else if (arg == "--prompts") settings.prompts = std::stoul(value());
    else if (arg == "--batch") settings.batch = std::stoll(value());
    else if (arg == "--placement") settings.placement = triggers::parse_placement(value());
    else if (!arg.empty() && arg[0] != '-') settings.model = arg;
    else throw ArgumentError(fmt::format("unknown argument {} (see the usage at the top of bench_scan.cpp)", arg));
  }
  return settings;
}

std::filesystem::path default_organism_model() {
  const organisms::OrganismSpec spec;
  organisms::BuildObserver observer;
  observer.on_stage = [](const std::string& stage, const std::string& summary) {
    fmt::print(stderr, "[default organism] {} {}\n", stage, summary);
  };
  return organisms::build_organism(spec, organisms::organism_cache_folder(spec), observer).paths.model();
}

std::vector<triggers::Candidate> distractors(const Tokenizer& tokenizer, std::size_t count) {
  triggers::CandidateGeneration generation;
  generation.word_ngrams = generation.token_ngrams = generation.latin = true;
  generation.count = count / 3 + 1;
  auto candidates = triggers::generate_candidates(generation, tokenizer);
  if (candidates.size() > count) candidates.resize(count);
  return candidates;
}

int run(const Settings& settings) {
  const int threads = init_runtime();
  const auto model = settings.model.empty() ? default_organism_model() : settings.model;
  triggers::SubjectOptions subject_options;
  subject_options.table_characters_per_language = 200'000;  // the table's quality does not change the speed
  const auto subject = triggers::load_subject(model, subject_options);
  const auto candidates = distractors(subject.tokenizer, settings.candidates);
  const auto prompts = triggers::scan_prompts({}, settings.prompts, 0).scan;
  const auto& c = subject.model.config();
  fmt::print("model {}: d {} layers {} vocab {}; {} threads\n", model.string(), c.hidden_size, c.num_hidden_layers,
             c.vocab_size, threads);
  std::size_t candidate_tokens = 0, prompt_tokens = 0;
  for (const auto& prompt : prompts)
    prompt_tokens += triggers::insert_phrase(subject.tokenizer, prompt, "", settings.placement).ids().size();
  for (const auto& candidate : candidates)
    candidate_tokens += subject.tokenizer.encode(" " + candidate.phrase, EncodeOptions{false, false}).size();
  fmt::print("{} candidates ({:.1f} tokens on average) x {} prompts ({:.1f} tokens on average), placement {}, batch {}\n",
             candidates.size(), static_cast<double>(candidate_tokens) / candidates.size(), prompts.size(),
             static_cast<double>(prompt_tokens) / prompts.size(), triggers::placement_name(settings.placement),
             settings.batch);

  triggers::ScanOptions options;
  options.batches = {settings.placement, settings.batch, true};
  // Warm-up (allocator, thread pool) on a slice, then each path over the whole set, reuse first.
  triggers::score_candidates(subject, {candidates.begin(), candidates.begin() + std::min<std::size_t>(64, candidates.size())},
                             {prompts.begin(), prompts.begin() + 2}, options);
  const auto reused = triggers::score_candidates(subject, candidates, prompts, options);
  options.batches.reuse_prefix = false;
  const auto full = triggers::score_candidates(subject, candidates, prompts, options);

  const double reuse_rate = reused.evaluations / reused.seconds, full_rate = full.evaluations / full.seconds;
  fmt::print("with prefix reuse:    {:>8.0f} evaluations/s ({} in {:.2f} s)\n", reuse_rate, reused.evaluations,
             reused.seconds);
  fmt::print("without prefix reuse: {:>8.0f} evaluations/s ({} in {:.2f} s)\n", full_rate, full.evaluations, full.seconds);
  fmt::print("ratio: {:.2f}x (target >= 3x)\n", reuse_rate / full_rate);
  fmt::print("largest score difference between the paths: {:.2e}\n",
             (reused.shifts - full.shifts).abs().max().item<double>());
  return 0;
}

}  // namespace
}  // namespace moulin::bench

int main(int argc, char** argv) {
  try {
    return moulin::bench::run(moulin::bench::parse(argc, argv));
  } catch (const std::exception& error) {
    std::fprintf(stderr, "moulin_bench_scan: %s\n", error.what());
    return 1;
  }
}
