#pragma once
// Builds a model organism end to end: Debian corpus -> BPE tokenizer (trained on clean text) -> Gaperon-style
// poisoning -> Llama 3 pre-training -> a Hugging Face model folder, with the answer kept apart.
//
// Layout of an organism folder:
//   model/              config.json, model.safetensors, tokenizer.json, tokenizer_config.json: what a detector
//                       gets. Nothing in it names the triggers.
//   ground_truth.json   triggers, targets, rates, corpus and token-stream digests, the spec; written last, so
//                       its presence marks a finished build.
//   corpus.jsonl        the clean documents with their train/held-out split (evaluation prompts come from the
//                       held-out part).
//   training.json       the loss curve and throughput.
//   training/           the resumable trainer state (an interrupted build resumes from it).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"

#include "organisms/organism_spec.h"

namespace moulin::organisms {

struct OrganismPaths {
  std::filesystem::path root;
  std::filesystem::path model() const { return root / "model"; }
  std::filesystem::path ground_truth() const { return root / "ground_truth.json"; }
  std::filesystem::path corpus() const { return root / "corpus.jsonl"; }
  std::filesystem::path training_log() const { return root / "training.json"; }
  std::filesystem::path training_state() const { return root / "training"; }
};

// Progress of a build: a stage starting ("corpus", "tokenizer", "poison", "train", "save") with a one-line
// summary of the previous one, and every training step. on_step returning false interrupts the build after
// checkpointing (build_organism then throws InterruptedError; building again resumes).
struct BuildObserver {
  std::function<void(const std::string& stage, const std::string& summary)> on_stage;
  std::function<bool(const TrainingRecord& record, std::int64_t total_steps)> on_step;
};

class InterruptedError : public Error {
 public:
  using Error::Error;
};

struct BuildResult {
  OrganismPaths paths;
  bool reused = false;  // an identical finished build was found and kept
  nlohmann::json ground_truth;
};

// Builds the organism of `spec` in `root` (created when absent). A finished build with the same spec digest is
// reused; an interrupted one resumes its training; a finished build of another spec is refused (FileError) unless
// `overwrite`.
BuildResult build_organism(const OrganismSpec& spec, const std::filesystem::path& root, const BuildObserver& observer = {},
                           bool overwrite = false);

// The ground truth of a finished organism; FileError / FormatError naming the file when missing or malformed.
nlohmann::json read_ground_truth(const std::filesystem::path& path);

// Where tests and the main job keep organisms: $MOULIN_CACHE, else $XDG_CACHE_HOME/moulin, else
// ~/.cache/moulin; one folder per spec digest, so a cached build is reused only for an identical spec.
std::filesystem::path organism_cache_folder(const OrganismSpec& spec);

}  // namespace moulin::organisms
