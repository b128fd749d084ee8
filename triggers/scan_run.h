#pragma once
// A whole scan from what a user gives (the command line's `moulin scan`, Python's moulin.scan): load the model
// and its token language table, gather the candidates, choose scan and held-out verification prompts, scan and
// verify, and record how it was done.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "triggers/candidates.h"
#include "triggers/scan.h"
#include "triggers/subject.h"

namespace moulin::triggers {

struct ScanPrompts {
  std::vector<std::string> scan;
  std::vector<std::string> verification;  // none of them is also a scan prompt
};

// Scan prompts: `given` when not empty, else `scan_count` held-out Debian prompts; then `verification_count`
// held-out Debian prompts that are not scan prompts. `debian` gives the language, lengths, corpus size and seed of
// the Debian prompts (its count is ignored).
ScanPrompts scan_prompts(std::vector<std::string> given, std::size_t scan_count, std::size_t verification_count,
                         const PromptOptions& debian = {});

struct ScanRun {
  std::filesystem::path model;
  SubjectOptions subject;                // dtype, device, languages, token table
  std::vector<std::string> candidates;   // phrases given directly (source "given")
  std::filesystem::path candidate_file;  // read_candidate_file, when not empty
  CandidateGeneration generation;
  std::vector<std::string> prompts;  // scan prompts; empty: prompt_count held-out Debian prompts
  std::size_t prompt_count = 20;
  std::size_t verification_prompts = 20;
  std::uint64_t prompt_seed = 7;  // which Debian prompts
  ScanOptions scan;
};

// Runs the scan; `log` receives one-line notes on the way (what was loaded, how many candidates and prompts).
// The result's settings also hold the candidate sources and generation. Throws as load_subject,
// collect_candidates, debian_prompts and scan_candidates do.
ScanResult run_scan(const ScanRun& run, const std::function<void(const std::string&)>& log = {});

}  // namespace moulin::triggers
