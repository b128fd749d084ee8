#include "probes/auroc.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "core/error.h"

namespace moulin::probes {
namespace {

// Uniform in [0, bound) by rejection: std::uniform_int_distribution's algorithm differs between libraries.
std::uint64_t uniform_below(std::mt19937_64& random, std::uint64_t bound) {
  const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % bound;
  std::uint64_t draw;
  do draw = random(); while (draw >= limit);
  return draw % bound;
}

void shuffle(RowIndices& rows, std::mt19937_64& random) {
  for (std::size_t i = rows.size(); i > 1; --i)
    std::swap(rows[i - 1], rows[static_cast<std::size_t>(uniform_below(random, i))]);
}

}  // namespace

double auroc(ConstVectorRef scores, ConstLabelsRef labels) {
  check_binary_labels(labels, scores.size(), "auroc");
  for (Eigen::Index i = 0; i < scores.size(); ++i)
    if (std::isnan(scores(i))) throw ArgumentError(fmt::format("auroc: score {} is NaN", i));

  std::vector<Eigen::Index> order(static_cast<std::size_t>(scores.size()));
  std::iota(order.begin(), order.end(), Eigen::Index{0});
  std::sort(order.begin(), order.end(), [&scores](Eigen::Index a, Eigen::Index b) { return scores(a) < scores(b); });

  // Sum of the positives' ranks, each tie group getting its mid-rank. Ranks are doubled so mid-ranks stay integers
  // and the sum stays exact.
  std::int64_t doubled_rank_sum = 0;
  std::int64_t positives = 0;
  for (std::size_t first = 0; first < order.size();) {
    std::size_t last = first;
    while (last + 1 < order.size() && scores(order[last + 1]) == scores(order[first])) ++last;
    const auto doubled_mid_rank = static_cast<std::int64_t>(first + 1 + last + 1);
    for (std::size_t i = first; i <= last; ++i)
      if (labels(order[i]) == 1) {
        doubled_rank_sum += doubled_mid_rank;
        ++positives;
      }
    first = last + 1;
  }
  const std::int64_t negatives = scores.size() - positives;
  // U = rank_sum - n_pos (n_pos + 1) / 2, doubled on both sides.
  const std::int64_t doubled_u = doubled_rank_sum - positives * (positives + 1);
  return static_cast<double>(doubled_u) / (2.0 * static_cast<double>(positives) * static_cast<double>(negatives));
}

TrainHeldOutSplit stratified_split(ConstLabelsRef labels, double held_out_fraction, std::uint64_t seed) {
  if (!(held_out_fraction > 0 && held_out_fraction < 1))
    throw ArgumentError(fmt::format("stratified_split: held_out_fraction must be in (0, 1), got {}", held_out_fraction));
  check_binary_labels(labels, labels.size(), "stratified_split");
  RowIndices classes[2];
  for (Eigen::Index row = 0; row < labels.size(); ++row) classes[labels(row)].push_back(row);

  std::mt19937_64 random(seed);
  TrainHeldOutSplit split;
  for (int label : {1, 0}) {
    auto& rows = classes[label];
    if (rows.size() < 2)
      throw ArgumentError(fmt::format("stratified_split: class {} has {} row; each class needs 2 (one to train on, "
                                      "one to hold out)", label, rows.size()));
    const auto wanted = static_cast<std::size_t>(std::llround(held_out_fraction * static_cast<double>(rows.size())));
    const std::size_t held_out = std::clamp<std::size_t>(wanted, 1, rows.size() - 1);
    shuffle(rows, random);
    split.held_out.insert(split.held_out.end(), rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(held_out));
    split.train.insert(split.train.end(), rows.begin() + static_cast<std::ptrdiff_t>(held_out), rows.end());
  }
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.held_out.begin(), split.held_out.end());
  return split;
}

std::vector<int> stratified_folds(ConstLabelsRef labels, int folds, std::uint64_t seed) {
  if (folds < 2) throw ArgumentError(fmt::format("stratified_folds: need at least 2 folds, got {}", folds));
  check_binary_labels(labels, labels.size(), "stratified_folds");
  RowIndices classes[2];
  for (Eigen::Index row = 0; row < labels.size(); ++row) classes[labels(row)].push_back(row);
  std::mt19937_64 random(seed);
  std::vector<int> fold_of(static_cast<std::size_t>(labels.size()), 0);
  for (int label : {1, 0}) {
    auto& rows = classes[label];
    if (rows.size() < static_cast<std::size_t>(folds))
      throw ArgumentError(fmt::format("stratified_folds: class {} has {} rows, fewer than the {} folds", label,
                                      rows.size(), folds));
    shuffle(rows, random);
    for (std::size_t i = 0; i < rows.size(); ++i)
      fold_of[static_cast<std::size_t>(rows[i])] = static_cast<int>(i % static_cast<std::size_t>(folds));
  }
  return fold_of;
}

}  // namespace moulin::probes
