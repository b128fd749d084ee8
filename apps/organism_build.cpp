#include "apps/organism_build.h"

#include <memory>

#include <fmt/format.h>

#include "apps/progress.h"
#include "core/runtime.h"

namespace moulin::cli {

organisms::BuildResult build_organism_with_progress(const organisms::OrganismSpec& spec,
                                                    const std::filesystem::path& root, bool overwrite) {
  fmt::print(stderr, "organism {} -> {} ({} threads)\n", organisms::spec_digest(spec).substr(0, 16), root.string(),
             init_runtime());
  std::unique_ptr<Progress> progress;
  organisms::BuildObserver observer;
  observer.on_stage = [&](const std::string& stage, const std::string& summary) {
    if (progress) progress->finish();
    if (!summary.empty()) fmt::print(stderr, "  {}\n", summary);
    if (stage != "done") fmt::print(stderr, "{}...\n", stage);
  };
  observer.on_step = [&](const organisms::TrainingRecord& record, std::int64_t total) {
    if (!progress) progress = std::make_unique<Progress>("train", total - record.step + 1, "steps");
    progress->advance();
    if (record.step % 50 == 0 || record.step == total)
      fmt::print(stderr, "\n  step {} loss {:.3f} lr {:.2e}\n", record.step, record.loss, record.learning_rate);
    return true;
  };
  auto result = organisms::build_organism(spec, root, observer, overwrite);
  if (progress) progress->finish();
  fmt::print("{} organism in {}\n  model (hand this to detectors): {}\n  ground truth (keep it away from them): {}\n",
             result.reused ? "reused the finished" : "built the", root.string(), result.paths.model().string(),
             result.paths.ground_truth().string());
  return result;
}

}  // namespace moulin::cli
