#pragma once
// Where in the network does a representation separate two classes of prompts (triggered vs clean)? For each layer
// (or any hook point), a difference-of-means probe and an L2 logistic probe are fitted on a stratified train split
// of the two classes' activations and scored by AUROC on the held-out rows. Features come from tensors in memory,
// from a callback that yields one layer at a time (so 32 layers x thousands x 4096 never sit in memory at once),
// from forwards run here (probes/last_token_activations.h) or from an HDF5 dump (probes/store_features.h).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "core/llama.h"
#include "core/tokenizer.h"
#include "probes/last_token_activations.h"
#include "probes/logistic_regression.h"

namespace moulin::probes {

// One layer's features: [positives, d] and [negatives, d], any floating dtype (d may differ between layers).
struct LayerFeatures {
  std::string name;  // the hook name, reported back
  at::Tensor positives;
  at::Tensor negatives;
};
// Layer `index`'s features, for index in [0, layer_count).
using LayerFeatureSource = std::function<LayerFeatures(std::size_t index)>;

struct LayerSweepOptions {
  double held_out_fraction = 0.25;  // of each class
  std::uint64_t seed = 0;           // the split (probes/auroc.h stratified_split), the same for every layer
  LogisticOptions logistic;         // its l2 is replaced by the one chosen from l2_grid when the grid has several
  // The logistic probe's L2 strength is chosen per layer by stratified k-fold cross-validation on the train rows
  // (pooled out-of-fold AUROC; ties go to the stronger penalty), then refitted on all of them: with a few hundred
  // prompts and thousands of features a fixed penalty either overfits or underfits some layers. The held-out rows
  // are never seen by the choice. A single value (or a class with fewer train rows than folds) fixes it.
  std::vector<double> l2_grid = {1e-4, 1e-3, 1e-2, 1e-1, 1.0};
  int folds = 5;
};

struct LayerProbeScores {
  std::string name;
  std::int64_t features = 0;
  // Held-out AUROC of the projection on the train rows' difference of means, and its accuracy at the halfway
  // threshold.
  double mean_difference_auroc = 0;
  double mean_difference_accuracy = 0;
  // Held-out AUROC of the logistic probe's logit, and its accuracy at probability 1/2.
  double logistic_auroc = 0;
  double logistic_accuracy = 0;
  bool logistic_converged = false;
  int logistic_iterations = 0;
  double logistic_l2 = 0;  // the penalty used (chosen by cross-validation, or LogisticOptions::l2)
};

struct LayerSweepResult {
  std::vector<LayerProbeScores> layers;  // in source order
  // Index into `layers` with the highest logistic AUROC (ties: higher difference-of-means AUROC, then earlier).
  std::size_t best_layer = 0;
  // Index with the highest difference-of-means AUROC (ties: earlier).
  std::size_t best_mean_difference_layer = 0;
  std::int64_t positives = 0, negatives = 0;
  std::int64_t train_rows = 0, held_out_rows = 0;
};

// Throws ArgumentError for no layers, a layer whose class sizes differ from the first layer's (the split is
// shared), mismatched feature counts between classes, fewer than 2 rows in a class, and what the probes refuse.
LayerSweepResult layer_probe_sweep(std::size_t layer_count, const LayerFeatureSource& source,
                                   const LayerSweepOptions& options = {});
LayerSweepResult layer_probe_sweep(const std::vector<LayerFeatures>& layers, const LayerSweepOptions& options = {});

// Last-token features of both prompt sets at every hook `hook_patterns` selects (probe_hook_names), in forward
// order: one LayerFeatures per hook.
std::vector<LayerFeatures> collect_layer_features(const LlamaModel& model,
                                                  const std::vector<std::vector<TokenId>>& positive_prompts,
                                                  const std::vector<std::vector<TokenId>>& negative_prompts,
                                                  const std::vector<std::string>& hook_patterns,
                                                  const LastTokenOptions& options = {});

// collect_layer_features then layer_probe_sweep: e.g. hook_patterns {"blocks.*.hook_resid_post"} with triggered
// prompts as positives and the same prompts without the trigger as negatives.
LayerSweepResult probe_layers(const LlamaModel& model, const std::vector<std::vector<TokenId>>& positive_prompts,
                              const std::vector<std::vector<TokenId>>& negative_prompts,
                              const std::vector<std::string>& hook_patterns, const LayerSweepOptions& sweep = {},
                              const LastTokenOptions& collection = {});
LayerSweepResult probe_layers(const LlamaModel& model, const Tokenizer& tokenizer,
                              const std::vector<std::string>& positive_prompts,
                              const std::vector<std::string>& negative_prompts,
                              const std::vector<std::string>& hook_patterns, const LayerSweepOptions& sweep = {},
                              const LastTokenOptions& collection = {}, const EncodeOptions& encode = {});

}  // namespace moulin::probes
