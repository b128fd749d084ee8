#pragma once
// Where does a trigger act? Activation patching between each triggered prompt and its aligned contrast (the
// trigger's tokens replaced, positions unchanged): the contrast run is given pieces of the triggered run's
// activations, and the share of the trigger's effect on the next-token target-language mass at the last position
// they bring back is the restoration, (patched - contrast) / (triggered - contrast), from the means over prompts.
// Three views: the residual stream per layer and position group (where the trigger forms, and how it travels from
// its own tokens to the last position), attention heads (hook_z) and per-layer attention and MLP outputs.
//
// The trigger phrase is an input (from a scan or an inversion); nothing here reads an organism's ground truth.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "triggers/contrast.h"
#include "triggers/insertion.h"
#include "triggers/subject.h"

namespace moulin::triggers {

struct LocaliseOptions {
  std::string target_language = "fr";
  Placement placement = Placement::kSuffix;
  // Must align with the triggered prompt: random tokens or a phrase of as many tokens.
  ContrastOptions contrast = {ContrastKind::kRandomTokens, {}, 0, {}};
  std::int64_t batch_size = 16;  // patched runs per forward pass
  bool heads = true;             // the layer x head sweep (the largest one: layers x heads runs per prompt)
  bool components = true;        // attn_out and mlp_out per layer
  // "Restores most of the effect": the restoration the summary's layers are found with.
  double threshold = 0.5;
  // The smallest mean rise of the target-language mass the trigger must cause: below it the restoration divides
  // noise by noise, so localisation refuses to run.
  double min_effect = 1e-3;
  std::function<void(std::size_t done, std::size_t total)> on_prompt;  // progress, after each prompt
};

// The groups of positions patched together, the columns of the residual map, in this order: BOS; the text before
// the trigger (every position at once; absent for a prefix); each trigger token but one at the last position;
// the text after the trigger but its last position (absent for a suffix); the last position (the last trigger
// token for a suffix); the whole trigger but the last position; every position.
struct PositionGroups {
  std::vector<std::string> labels;
  std::size_t last = 0;          // the column of the last position alone
  std::size_t trigger_span = 0;  // the column of the trigger's tokens other than the last position
  std::size_t all = 0;           // the column of every position (restores all of the effect, a built-in check)
};

struct LocalisationSummary {
  // The earliest residual row (0..layers: entering block l, `layers` being the final stream) at which patching
  // the last position alone restores at least the threshold: where the trigger's effect has formed there.
  std::optional<int> formation_row;
  double formation_depth = 0;  // formation_row / layers, NaN without one
  // The last row at which patching the trigger's own tokens (but the last position) still restores the threshold:
  // up to there the trigger is carried at its own positions.
  std::optional<int> trigger_span_row;
  double trigger_span_depth = 0;
  // The earliest row at which the last position restores more than the trigger's tokens: the hand-over.
  std::optional<int> handover_row;
  double handover_depth = 0;
  // Restoration of the last position at the final row (should be 1: the final stream there fixes the logits).
  double final_last_restoration = 0;
};

struct LocalisationResult {
  std::string trigger;
  std::string target_language;
  Placement placement = Placement::kSuffix;
  ContrastKind contrast = ContrastKind::kRandomTokens;
  int layers = 0;
  std::int64_t heads = 0;
  std::size_t prompts = 0;
  std::int64_t trigger_tokens = 0;
  // Mean target-language mass at the last position over prompts, in the triggered and the contrast runs.
  double triggered_mass = 0;
  double contrast_mass = 0;
  std::vector<double> triggered_masses;  // per prompt
  std::vector<double> contrast_masses;

  PositionGroups groups;
  // [layers + 1, groups] restoration: row l < layers patches blocks.{l}.hook_resid_pre, row `layers` the final
  // stream (blocks.{layers-1}.hook_resid_post).
  at::Tensor residual;
  at::Tensor head_restoration;  // [layers, heads] (attn.hook_z, every position); undefined without heads
  // [layers, 4]: hook_attn_out at every position and at the last one, then hook_mlp_out likewise; undefined
  // without components.
  at::Tensor component_restoration;
  LocalisationSummary summary;
};

// The column labels of PositionGroups for a trigger of `trigger_tokens` tokens at `placement`.
PositionGroups position_groups(Placement placement, std::int64_t trigger_tokens);
// The positions of each group (PositionGroups order) in one aligned pair.
std::vector<std::vector<std::int64_t>> group_positions(const PromptPair& pair, Placement placement);

// Throws ArgumentError for no prompts, a contrast that does not align, a target language missing from the
// subject's table, and a trigger that raises the mean target-language mass by less than min_effect.
LocalisationResult localise_trigger(const Subject& subject, const std::vector<std::string>& prompts,
                                    const std::string& trigger, const LocaliseOptions& options = {});

// The summary of a residual map (rows as LocalisationResult::residual).
LocalisationSummary summarise_residual(const at::Tensor& residual, const PositionGroups& groups, int layers,
                                       double threshold);

}  // namespace moulin::triggers
