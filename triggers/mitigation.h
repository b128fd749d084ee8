#pragma once
// Mitigation: take away the direction a trigger writes into the residual stream and see whether the behaviour goes
// and the model stays a model. The direction is the difference of means of last-token residuals (entering a
// block) between triggered and contrast prompts, fitted on one set of prompts; during generation it is projected
// out (the component along it set to the contrast prompts' mean level) or steered against, at chosen blocks and
// every position. Measured on held-out prompts disjoint from the
// fitting ones: the switch rate to the target language before and after (CLD2 on sampled continuations, Wilson
// intervals), and the perplexity of held-out clean text with and without the intervention.
//
// The trigger phrase is an input (from a scan or an inversion); nothing here reads an organism's ground truth.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <ATen/ATen.h>

#include "hooks/hook_set.h"
#include "probes/continuation.h"
#include "probes/language_id.h"
#include "triggers/contrast.h"
#include "triggers/insertion.h"
#include "triggers/subject.h"

namespace moulin::triggers {

enum class MitigationMethod {
  kProject,  // move the component along the direction to the contrast mean's: x - ((x - contrast mean) . u) u
  kSteer,    // subtract strength x the (unnormalised) difference of means
};
// "project", "steer".
const char* mitigation_method_name(MitigationMethod method);
// Throws ArgumentError naming the accepted names.
MitigationMethod parse_mitigation_method(std::string_view name);

// The difference of means of the last-token residual entering one block.
struct LayerDirection {
  int layer = 0;
  at::Tensor direction;      // [d_model] float32: triggered mean - contrast mean
  at::Tensor contrast_mean;  // [d_model] float32
};

// Last-token residuals entering each of `layers` (blocks.{l}.hook_resid_pre) for both prompt sets, and their
// difference of means. Throws ArgumentError for no prompts, a layer out of range or repeated.
std::vector<LayerDirection> fit_directions(const LlamaModel& model, const std::vector<PromptPair>& pairs,
                                           const std::vector<int>& layers, std::int64_t batch_size = 16);

struct MitigationSetting {
  std::vector<int> layers;  // blocks whose input is edited, each with its own direction
  MitigationMethod method = MitigationMethod::kProject;
  double strength = 1.0;  // steering only: multiples of the difference of means subtracted
};
// "project @ 1,2" / "steer x2 @ 3".
std::string setting_label(const MitigationSetting& setting);

// Adds the setting's interventions to `hooks`, at every position. Throws ArgumentError when a layer of the
// setting has no direction among `directions`.
void add_mitigation_hooks(HookSet& hooks, const std::vector<LayerDirection>& directions, const MitigationSetting& setting);

// Three disjoint prompt sets: directions are fitted on `fitting`, the switch rate is measured on `held_out`, the
// perplexity on `clean_texts` (no trigger inserted).
struct MitigationPrompts {
  std::vector<std::string> fitting;
  std::vector<std::string> held_out;
  std::vector<std::string> clean_texts;
};

// Held-out Debian prompts for the three sets (triggers/subject.h debian_prompts, disjoint through `skip`; the
// clean texts are up to `clean_max_words` words long for a steadier perplexity).
MitigationPrompts debian_mitigation_prompts(std::size_t fitting, std::size_t held_out, std::size_t clean_texts,
                                            std::size_t clean_max_words = 64, std::uint64_t seed = 7);

struct MitigationOptions {
  std::string target_language = "fr";
  Placement placement = Placement::kSuffix;
  ContrastOptions contrast;  // the class the triggered prompts are contrasted with when fitting (default: clean)
  // The blocks to mitigate at. Empty: the single block whose mitigation lowers the fitting prompts' next-token
  // target-language mass the most (fitting prompts only, so the held-out measures stay held out).
  std::vector<int> layers;
  MitigationMethod method = MitigationMethod::kProject;
  double strength = 1.0;
  // The sweep: each of these blocks alone, with the method at each strength (steering) or once (projection).
  std::vector<int> sweep_layers;
  std::vector<double> sweep_strengths = {0.5, 1.0, 2.0};
  probes::ContinuationOptions continuation = default_continuation();
  std::int64_t batch_size = 16;  // prompts per forward when fitting, selecting and scoring perplexity
  std::size_t examples = 3;      // continuations kept for the report, before and after
  std::function<void(const std::string& stage, std::size_t done, std::size_t total)> on_progress;

  // Sampled like the organism evaluation (temperature 0.7, top-k 40, seeded): greedy decoding of small models
  // loops into text no language identifier can place.
  static probes::ContinuationOptions default_continuation();
};

struct MitigationMeasure {
  MitigationSetting setting;
  probes::Proportion switch_rate;  // held-out triggered prompts continued in the target language
  double perplexity = 0;           // of the clean texts
  double switch_reduction = 0;     // 1 - switch_rate / baseline switch rate (relative cut)
  double perplexity_increase = 0;  // perplexity / baseline perplexity - 1
};

struct MitigationExample {
  std::string prompt;  // with the trigger
  std::string before;  // continuation without the mitigation
  std::string after;
  std::string before_language;
  std::string after_language;
};

struct MitigationResult {
  std::string trigger;
  std::string target_language;
  Placement placement = Placement::kSuffix;
  ContrastKind contrast = ContrastKind::kClean;
  int layers = 0;
  std::size_t fitting_prompts = 0, held_out_prompts = 0, clean_texts = 0;
  std::int64_t clean_tokens = 0;
  std::vector<double> direction_norms;  // per block, |difference of means| entering it
  // Mean next-token target mass over the fitting prompts with each single block mitigated (the layer choice).
  std::vector<double> selection_masses;
  double fitting_triggered_mass = 0;  // the same without mitigation
  bool layers_chosen = false;         // the layers came from the selection, not the options

  MitigationMeasure baseline;  // no intervention
  MitigationMeasure mitigated;
  std::vector<MitigationMeasure> sweep;
  std::vector<MitigationExample> examples;
};

// Throws ArgumentError for an empty prompt set, overlapping fitting and held-out prompts, a layer out of range,
// a target language missing from the subject's table and a non-positive strength.
MitigationResult mitigate_trigger(const Subject& subject, const MitigationPrompts& prompts, const std::string& trigger,
                                  const MitigationOptions& options = {});

}  // namespace moulin::triggers
