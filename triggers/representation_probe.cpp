#include "triggers/representation_probe.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "hooks/hook_names.h"
#include "probes/auroc.h"
#include "probes/last_token_activations.h"
#include "probes/tensor_eigen.h"

namespace moulin::triggers {
namespace {

// Every contrast row and enough triggered rows to make them poison_fraction of the mix (at least one). The first
// triggered rows are taken: prompts come shuffled already, and the same rows at every layer keep layers comparable.
SpectralLayerScores spectral_scores(const probes::LayerFeatures& layer, const ProbeStudyOptions& options) {
  const auto negatives = layer.negatives.size(0);
  const auto available = layer.positives.size(0);
  const double share = options.poison_fraction / (1.0 - options.poison_fraction);
  const auto triggered = std::clamp<std::int64_t>(std::llround(share * static_cast<double>(negatives)), 1, available);
  const at::Tensor mixed = at::cat({layer.negatives.to(at::kFloat), layer.positives.narrow(0, 0, triggered).to(at::kFloat)});
  probes::BinaryLabels labels = probes::BinaryLabels::Zero(mixed.size(0));
  labels.tail(triggered).setOnes();

  const Eigen::VectorXd scores = probes::spectral_signature_scores(probes::tensor_to_matrix(mixed), options.spectral);
  SpectralLayerScores result;
  result.mixed_rows = mixed.size(0);
  result.triggered_rows = triggered;
  result.auroc = probes::auroc(scores, labels);
  const double actual_share = static_cast<double>(triggered) / static_cast<double>(mixed.size(0));
  const auto removed = probes::spectral_outliers(scores, actual_share, options.removal_factor);
  const auto caught = std::count_if(removed.begin(), removed.end(), [&](Eigen::Index row) { return labels[row] == 1; });
  result.removal_recall = static_cast<double>(caught) / static_cast<double>(triggered);
  result.removal_precision = removed.empty() ? 0.0 : static_cast<double>(caught) / static_cast<double>(removed.size());
  return result;
}

}  // namespace

double relative_depth(const std::string& hook_name, int layers) {
  const auto address = parse_hook_name(hook_name);
  if (!address) throw ArgumentError(fmt::format("'{}' is not a hook point name", hook_name));
  if (!hook_point_is_per_layer(address->point)) return address->point == HookPoint::kEmbed ? 0.0 : 1.0;
  double blocks_done = address->layer;
  switch (address->point) {
    case HookPoint::kAttnOut:
    case HookPoint::kResidMid:
    case HookPoint::kLn2Scale:
    case HookPoint::kLn2Normalized:
    case HookPoint::kMlpPre:
    case HookPoint::kMlpPreLinear:
    case HookPoint::kMlpPost:
      blocks_done += 0.5;
      break;
    case HookPoint::kMlpOut:
    case HookPoint::kResidPost:
      blocks_done += 1.0;
      break;
    default:
      break;
  }
  return blocks_done / layers;
}

ProbeStudyResult probe_layer_features(std::size_t layer_count, const probes::LayerFeatureSource& source,
                                      int model_layers, const ProbeStudyOptions& options) {
  if (!(options.poison_fraction > 0 && options.poison_fraction < 1))
    throw ArgumentError(fmt::format("the spectral mix's triggered share must be in (0, 1), got {}", options.poison_fraction));
  if (model_layers < 1) throw ArgumentError(fmt::format("a model of {} blocks has no depth", model_layers));
  ProbeStudyResult result;
  result.model_layers = model_layers;
  result.removal_factor = options.removal_factor;
  result.spectral.resize(layer_count);
  // Each layer is read once: the spectral scores are taken as the sweep passes it by.
  const probes::LayerFeatureSource scored = [&](std::size_t index) {
    probes::LayerFeatures layer = source(index);
    result.spectral.at(index) = spectral_scores(layer, options);
    if (options.on_layer) options.on_layer(index + 1, layer_count);
    return layer;
  };
  result.sweep = probes::layer_probe_sweep(layer_count, scored, options.sweep);
  for (const auto& layer : result.sweep.layers) result.depths.push_back(relative_depth(layer.name, model_layers));
  return result;
}

ProbeStudyResult probe_trigger(const Subject& subject, const std::vector<std::string>& prompts,
                               const std::string& trigger, const TriggerProbeOptions& trigger_options,
                               const ProbeStudyOptions& options) {
  const auto pairs = prompt_pairs(subject.tokenizer, prompts, trigger, trigger_options.placement, trigger_options.contrast);
  probes::LastTokenOptions collection;
  collection.batch_size = trigger_options.batch_size;
  const auto layers = probes::collect_layer_features(subject.model, triggered_ids(pairs), contrast_ids(pairs),
                                                     options.hook_patterns, collection);
  auto result = probe_layer_features(
      layers.size(), [&layers](std::size_t index) { return layers[index]; },
      static_cast<int>(subject.model.config().num_hidden_layers), options);
  result.source = "forward";
  return result;
}

ProbeStudyResult probe_store(const ActivationStore& store, const probes::StoreClasses& classes,
                             const ProbeStudyOptions& options) {
  const auto hooks = probes::store_hooks_matching(store, options.hook_patterns);
  const auto config = store.model_config();
  if (!config.contains("num_hidden_layers") || !config["num_hidden_layers"].is_number_integer())
    throw FormatError(fmt::format("{}: the model_config attribute has no integer num_hidden_layers", store.path().string()));
  auto result = probe_layer_features(
      hooks.size(), [&](std::size_t index) { return probes::store_layer_features(store, hooks[index], classes); },
      config["num_hidden_layers"].get<int>(), options);
  result.source = store.path().string();
  return result;
}

}  // namespace moulin::triggers
