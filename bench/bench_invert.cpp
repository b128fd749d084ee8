// Trigger inversion wall time on the default organism (goal: a full search within 10 minutes on 2 cores): steps/s,
// total time and the split between the gradient pass, drawing swaps and the exact scoring of candidates, then the
// held-out switch rate of what was found. The organism is built into the cache on first use (about 5 minutes).
// Environment: STEPS, CANDIDATES, SEARCH_PROMPTS, LENGTH override the library defaults; MOULIN_THREADS the threads.
#include <cstdlib>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/runtime.h"
#include "organisms/organism.h"
#include "triggers/inversion_study.h"

using namespace moulin;

namespace {

template <typename Integer>
void override_from_env(const char* name, Integer& value) {
  if (const char* text = std::getenv(name)) value = static_cast<Integer>(std::stoll(text));
}

}  // namespace

int main() {
  const int threads = init_runtime();
  const organisms::OrganismSpec spec;
  fmt::print("default organism: {}\n", organisms::organism_cache_folder(spec).string());
  const auto organism = organisms::build_organism(spec, organisms::organism_cache_folder(spec)).paths;
  const auto subject = triggers::load_subject(organism.model());

  triggers::InversionStudyOptions options;
  options.search.target_language = "fr";
  override_from_env("STEPS", options.search.steps);
  override_from_env("CANDIDATES", options.search.candidates);
  override_from_env("LENGTH", options.search.trigger_length);
  override_from_env("SEARCH_PROMPTS", options.search_prompts);
  fmt::print("{} threads; trigger of {} tokens, up to {} steps of {} candidates over {} search prompts\n", threads,
             options.search.trigger_length, options.search.steps, options.search.candidates, options.search_prompts);

  const auto study = triggers::run_inversion_study(subject, options);
  const auto& t = study.inversion.timings;
  const double other = t.total_seconds - t.gradient_seconds - t.sampling_seconds - t.evaluation_seconds;
  fmt::print("search: {} steps in {:.1f} s = {:.2f} steps/s ({:.1f} min; goal: under 10)\n", t.steps, t.total_seconds,
             t.steps / t.total_seconds, t.total_seconds / 60);
  fmt::print("  gradient   {:7.1f} s ({:4.1f}%), {:.3f} s/step\n", t.gradient_seconds,
             100 * t.gradient_seconds / t.total_seconds, t.gradient_seconds / t.steps);
  fmt::print("  candidates {:7.1f} s ({:4.1f}%), {:.3f} s/step, {:.0f} candidates/s\n", t.evaluation_seconds,
             100 * t.evaluation_seconds / t.total_seconds, t.evaluation_seconds / t.steps,
             t.steps * options.search.candidates / t.evaluation_seconds);
  fmt::print("  sampling   {:7.1f} s ({:4.1f}%)\n", t.sampling_seconds, 100 * t.sampling_seconds / t.total_seconds);
  fmt::print("  other      {:7.1f} s (starting triggers)\n", other);
  fmt::print("found \"{}\" [{}], objective {:.3f}; held-out switch rate {:.1f}% (no trigger {:.1f}%)\n",
             study.inversion.phrase, fmt::join(study.inversion.trigger, ", "), study.inversion.objective,
             100 * study.triggered.switch_rate.rate, 100 * study.clean.switch_rate.rate);
  return 0;
}
