#include "probes/layer_probes.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "probes/auroc.h"
#include "probes/mean_difference.h"
#include "probes/tensor_eigen.h"

namespace moulin::probes {
namespace {

double accuracy(const BinaryLabels& predicted, const BinaryLabels& labels) {
  return static_cast<double>((predicted.array() == labels.array()).count()) / static_cast<double>(labels.size());
}

// The grid's l2 with the best pooled out-of-fold AUROC on the train rows (ties: the larger penalty).
double cross_validated_l2(const Eigen::MatrixXd& train, const BinaryLabels& labels, const LayerSweepOptions& options) {
  if (options.l2_grid.size() == 1) return options.l2_grid.front();
  const Eigen::Index positives = labels.sum(), negatives = labels.size() - positives;
  if (options.folds < 2 || std::min(positives, negatives) < options.folds) return options.logistic.l2;
  const std::vector<int> fold_of = stratified_folds(labels, options.folds, options.seed + 1);
  std::vector<double> grid = options.l2_grid;
  std::sort(grid.begin(), grid.end());
  double best_l2 = options.logistic.l2, best_auroc = -1;
  for (const double l2 : grid) {
    LogisticOptions logistic = options.logistic;
    logistic.l2 = l2;
    Eigen::VectorXd out_of_fold(labels.size());
    for (int fold = 0; fold < options.folds; ++fold) {
      RowIndices fit_rows, score_rows;
      for (Eigen::Index row = 0; row < labels.size(); ++row)
        (fold_of[static_cast<std::size_t>(row)] == fold ? score_rows : fit_rows).push_back(row);
      const LogisticModel model = fit_logistic(select_rows(train, fit_rows), select_labels(labels, fit_rows), logistic);
      const Eigen::VectorXd logits = predict_logit(model, select_rows(train, score_rows));
      for (std::size_t i = 0; i < score_rows.size(); ++i) out_of_fold(score_rows[i]) = logits(static_cast<Eigen::Index>(i));
    }
    const double score = auroc(out_of_fold, labels);
    if (score >= best_auroc) {  // ascending, so a tie keeps the stronger penalty
      best_auroc = score;
      best_l2 = l2;
    }
  }
  return best_l2;
}

LayerProbeScores probe_layer(const LayerFeatures& layer, const TrainHeldOutSplit& split, const LayerSweepOptions& options) {
  const LabelledFeatures data = stack_classes(tensor_to_matrix(layer.positives), tensor_to_matrix(layer.negatives));
  const Eigen::MatrixXd train = select_rows(data.features, split.train);
  const BinaryLabels train_labels = select_labels(data.labels, split.train);
  const Eigen::MatrixXd held_out = select_rows(data.features, split.held_out);
  const BinaryLabels held_out_labels = select_labels(data.labels, split.held_out);

  LayerProbeScores scores;
  scores.name = layer.name;
  scores.features = data.features.cols();

  const MeanDifference mean_difference = difference_of_means(train, train_labels);
  scores.mean_difference_auroc = auroc(project(held_out, mean_difference.unit_direction), held_out_labels);
  scores.mean_difference_accuracy = accuracy(classify(mean_difference, held_out), held_out_labels);

  LogisticOptions logistic_options = options.logistic;
  if (!options.l2_grid.empty()) logistic_options.l2 = cross_validated_l2(train, train_labels, options);
  const LogisticModel logistic = fit_logistic(train, train_labels, logistic_options);
  scores.logistic_l2 = logistic_options.l2;
  const Eigen::VectorXd logits = predict_logit(logistic, held_out);
  scores.logistic_auroc = auroc(logits, held_out_labels);
  scores.logistic_accuracy = accuracy((logits.array() > 0).cast<int>().matrix(), held_out_labels);
  scores.logistic_converged = logistic.converged;
  scores.logistic_iterations = logistic.iterations;
  return scores;
}

void check_layer(const LayerFeatures& layer, std::size_t index) {
  for (const auto* tensor : {&layer.positives, &layer.negatives})
    if (!tensor->defined() || tensor->dim() != 2)
      throw ArgumentError(fmt::format("layer_probe_sweep: layer {} ('{}'): features must be [rows, features] tensors",
                                      index, layer.name));
  if (layer.positives.size(1) != layer.negatives.size(1))
    throw ArgumentError(fmt::format("layer_probe_sweep: layer {} ('{}'): positives have {} features but negatives "
                                    "have {}", index, layer.name, layer.positives.size(1), layer.negatives.size(1)));
}

}  // namespace

LayerSweepResult layer_probe_sweep(std::size_t layer_count, const LayerFeatureSource& source,
                                   const LayerSweepOptions& options) {
  if (layer_count == 0) throw ArgumentError("layer_probe_sweep: no layers");
  LayerSweepResult result;
  TrainHeldOutSplit split;
  for (std::size_t index = 0; index < layer_count; ++index) {
    const LayerFeatures layer = source(index);
    check_layer(layer, index);
    if (index == 0) {
      result.positives = layer.positives.size(0);
      result.negatives = layer.negatives.size(0);
      BinaryLabels labels(result.positives + result.negatives);
      labels.head(result.positives).setOnes();
      labels.tail(result.negatives).setZero();
      split = stratified_split(labels, options.held_out_fraction, options.seed);
      result.train_rows = static_cast<std::int64_t>(split.train.size());
      result.held_out_rows = static_cast<std::int64_t>(split.held_out.size());
    } else if (layer.positives.size(0) != result.positives || layer.negatives.size(0) != result.negatives) {
      throw ArgumentError(fmt::format("layer_probe_sweep: layer {} ('{}') has {} positives and {} negatives, but the "
                                      "first layer {} and {}; every layer must describe the same prompts", index,
                                      layer.name, layer.positives.size(0), layer.negatives.size(0), result.positives,
                                      result.negatives));
    }
    result.layers.push_back(probe_layer(layer, split, options));
  }

  for (std::size_t index = 1; index < result.layers.size(); ++index) {
    const auto& candidate = result.layers[index];
    const auto& best = result.layers[result.best_layer];
    if (candidate.logistic_auroc > best.logistic_auroc ||
        (candidate.logistic_auroc == best.logistic_auroc && candidate.mean_difference_auroc > best.mean_difference_auroc))
      result.best_layer = index;
    if (candidate.mean_difference_auroc > result.layers[result.best_mean_difference_layer].mean_difference_auroc)
      result.best_mean_difference_layer = index;
  }
  return result;
}

LayerSweepResult layer_probe_sweep(const std::vector<LayerFeatures>& layers, const LayerSweepOptions& options) {
  return layer_probe_sweep(layers.size(), [&layers](std::size_t index) { return layers[index]; }, options);
}

std::vector<LayerFeatures> collect_layer_features(const LlamaModel& model,
                                                  const std::vector<std::vector<TokenId>>& positive_prompts,
                                                  const std::vector<std::vector<TokenId>>& negative_prompts,
                                                  const std::vector<std::string>& hook_patterns,
                                                  const LastTokenOptions& options) {
  if (positive_prompts.empty() || negative_prompts.empty())
    throw ArgumentError(fmt::format("collect_layer_features: both classes need prompts, got {} positives and {} "
                                    "negatives", positive_prompts.size(), negative_prompts.size()));
  const auto names = probe_hook_names(hook_patterns, static_cast<int>(model.config().num_hidden_layers));
  // One pass over both sets, so batches stay full.
  std::vector<std::vector<TokenId>> prompts = positive_prompts;
  prompts.insert(prompts.end(), negative_prompts.begin(), negative_prompts.end());
  const auto features = last_token_activations(model, prompts, names, options);
  const auto positives = static_cast<std::int64_t>(positive_prompts.size());
  const auto negatives = static_cast<std::int64_t>(negative_prompts.size());
  std::vector<LayerFeatures> layers;
  for (std::size_t h = 0; h < names.size(); ++h)
    layers.push_back({names[h], features[h].narrow(0, 0, positives), features[h].narrow(0, positives, negatives)});
  return layers;
}

LayerSweepResult probe_layers(const LlamaModel& model, const std::vector<std::vector<TokenId>>& positive_prompts,
                              const std::vector<std::vector<TokenId>>& negative_prompts,
                              const std::vector<std::string>& hook_patterns, const LayerSweepOptions& sweep,
                              const LastTokenOptions& collection) {
  return layer_probe_sweep(collect_layer_features(model, positive_prompts, negative_prompts, hook_patterns, collection),
                           sweep);
}

LayerSweepResult probe_layers(const LlamaModel& model, const Tokenizer& tokenizer,
                              const std::vector<std::string>& positive_prompts,
                              const std::vector<std::string>& negative_prompts,
                              const std::vector<std::string>& hook_patterns, const LayerSweepOptions& sweep,
                              const LastTokenOptions& collection, const EncodeOptions& encode) {
  return probe_layers(model, encode_prompts(tokenizer, positive_prompts, encode),
                      encode_prompts(tokenizer, negative_prompts, encode), hook_patterns, sweep, collection);
}

}  // namespace moulin::probes
