#include "triggers/scan_run.h"

#include <map>
#include <unordered_set>

#include <fmt/format.h>

namespace moulin::triggers {
namespace {

std::vector<Candidate> gathered_candidates(const ScanRun& run, const Tokenizer& tokenizer) {
  CandidateList list;
  for (const auto& phrase : run.candidates) list.add(phrase, "given");
  if (!run.candidate_file.empty() || run.generation.any() || list.size() == 0)
    for (const auto& candidate : collect_candidates(run.candidate_file, run.generation, tokenizer))
      list.add(candidate.phrase, candidate.source);
  return list.release();
}

std::string source_counts(const std::vector<Candidate>& candidates) {
  std::map<std::string, std::size_t> counts;
  for (const auto& candidate : candidates) ++counts[candidate.source];
  std::string text;
  for (const auto& [source, count] : counts) text += fmt::format("{}{} {}", text.empty() ? "" : ", ", count, source);
  return text;
}

nlohmann::json generation_settings(const ScanRun& run) {
  const auto& generation = run.generation;
  return {{"given", run.candidates.size()},
          {"file", run.candidate_file.string()},
          {"word_ngrams", generation.word_ngrams},
          {"token_ngrams", generation.token_ngrams},
          {"latin", generation.latin},
          {"near_misses_of", generation.near_misses_of},
          {"count", generation.count},
          {"seed", generation.seed}};
}

}  // namespace

ScanPrompts scan_prompts(std::vector<std::string> given, std::size_t scan_count, std::size_t verification_count,
                         const PromptOptions& debian) {
  ScanPrompts prompts;
  prompts.scan = std::move(given);
  PromptOptions options = debian;
  // Given prompts may be Debian prompts too: draw enough to replace any of them.
  options.count = (prompts.scan.empty() ? scan_count : prompts.scan.size()) + verification_count;
  if (options.count == 0) return prompts;
  auto held_out = debian_prompts(options);
  if (prompts.scan.empty()) prompts.scan.assign(held_out.begin(), held_out.begin() + static_cast<std::ptrdiff_t>(scan_count));
  const std::unordered_set<std::string> scanned(prompts.scan.begin(), prompts.scan.end());
  for (auto& prompt : held_out)
    if (prompts.verification.size() < verification_count && !scanned.count(prompt))
      prompts.verification.push_back(std::move(prompt));
  return prompts;
}

ScanResult run_scan(const ScanRun& run, const std::function<void(const std::string&)>& log) {
  const auto note = [&](const std::string& line) {
    if (log) log(line);
  };
  note(fmt::format("loading {} and its token language table", run.model.string()));
  const Subject subject = load_subject(run.model, run.subject);
  const auto candidates = gathered_candidates(run, subject.tokenizer);
  note(fmt::format("{} candidates ({})", candidates.size(), source_counts(candidates)));
  PromptOptions debian;
  debian.language = subject.source_language;
  debian.seed = run.prompt_seed;
  const auto prompts = scan_prompts(run.prompts, run.prompt_count, run.verification_prompts, debian);
  note(fmt::format("{} scan prompts, {} held-out verification prompts, placement {}", prompts.scan.size(),
                   prompts.verification.size(), placement_name(run.scan.batches.placement)));
  ScanResult result = scan_candidates(subject, candidates, prompts.scan, prompts.verification, run.scan);
  result.settings["candidate_generation"] = generation_settings(run);
  result.settings["prompt_seed"] = run.prompt_seed;
  return result;
}

}  // namespace moulin::triggers
