#pragma once
// Is the trigger visible in the representations, and from which depth on? Per layer: held-out AUROC of a
// difference-of-means and a logistic probe separating triggered from contrast prompts' last-token activations
// (probes/layer_probes.h), and a spectral-signature outlier score (probes/spectral_signatures.h) on a mixed set
// where triggered prompts are a small minority, as poisoned documents are in a training set: how well an
// unsupervised detector would pick them out. Features come from forwards run here or from an HDF5 dump
// (`moulin dump`).
//
// The trigger phrase is an input (from a scan or an inversion); nothing here reads an organism's ground truth.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "probes/layer_probes.h"
#include "probes/spectral_signatures.h"
#include "probes/store_features.h"
#include "store/activation_store.h"
#include "triggers/contrast.h"
#include "triggers/insertion.h"
#include "triggers/subject.h"

namespace moulin::triggers {

struct ProbeStudyOptions {
  std::vector<std::string> hook_patterns = {"blocks.*.hook_resid_post"};
  probes::LayerSweepOptions sweep;
  // The triggered share of the spectral signature's mixed set (all contrast rows plus this share of triggered
  // ones), and the removal budget as a multiple of it (Tran et al. remove 1.5 x the expected poison).
  double poison_fraction = 0.1;
  double removal_factor = 1.5;
  probes::SpectralSignatureOptions spectral;
  std::function<void(std::size_t done, std::size_t total)> on_layer;  // progress, after each layer
};

struct SpectralLayerScores {
  double auroc = 0;              // of the outlier scores, triggered rows as positives
  double removal_recall = 0;     // triggered rows among the removed / triggered rows in the mix
  double removal_precision = 0;  // triggered rows among the removed / removed rows
  std::int64_t mixed_rows = 0;
  std::int64_t triggered_rows = 0;
};

struct ProbeStudyResult {
  probes::LayerSweepResult sweep;
  std::vector<SpectralLayerScores> spectral;  // one per sweep layer, same order
  std::vector<double> depths;                 // each hook's relative depth (relative_depth)
  int model_layers = 0;
  double removal_factor = 0;  // as in the options
  std::string source;  // "forward" or the store's path
};

// The share of the model's blocks an activation has been through: 0 for the embedding and blocks.0.hook_resid_pre,
// l / layers entering block l, (l + 0.5) / layers from its attention output to its MLP, (l + 1) / layers for its
// MLP output and blocks.{l}.hook_resid_post, 1 after the blocks. Throws ArgumentError for a name that is not a
// hook point.
double relative_depth(const std::string& hook_name, int layers);

// The study over any per-layer source of triggered (positive) and contrast (negative) features.
ProbeStudyResult probe_layer_features(std::size_t layer_count, const probes::LayerFeatureSource& source,
                                      int model_layers, const ProbeStudyOptions& options = {});

struct TriggerProbeOptions {
  // Inside, so that the last position holds the same token with and without the trigger and a probe there sees
  // the trigger only through the blocks (a suffix trigger's own last token separates the classes at the
  // embedding). The command line and Python default to a random contrast (triggers/study_contrast.h).
  Placement placement = Placement::kInside;
  ContrastOptions contrast;  // default: the prompts without the trigger
  std::int64_t batch_size = 16;
};

// Triggered and contrast versions of `prompts`, run through the model. Throws as prompt_pairs and
// probe_layer_features.
ProbeStudyResult probe_trigger(const Subject& subject, const std::vector<std::string>& prompts,
                               const std::string& trigger, const TriggerProbeOptions& trigger_options = {},
                               const ProbeStudyOptions& options = {});

// Documents of a dump, split into classes by probes::store_classes. The store's model config gives the depth.
ProbeStudyResult probe_store(const ActivationStore& store, const probes::StoreClasses& classes,
                             const ProbeStudyOptions& options = {});

}  // namespace moulin::triggers
