#include "probes/mean_difference.h"

#include <fmt/format.h>

#include "core/error.h"

namespace moulin::probes {

MeanDifference difference_of_means(ConstMatrixRef positives, ConstMatrixRef negatives) {
  if (positives.rows() == 0 || negatives.rows() == 0)
    throw ArgumentError(fmt::format("difference_of_means: both classes need rows, got {} positives and {} negatives",
                                    positives.rows(), negatives.rows()));
  if (positives.cols() != negatives.cols())
    throw ArgumentError(fmt::format("difference_of_means: positives have {} features but negatives have {}",
                                    positives.cols(), negatives.cols()));
  check_finite(positives, "difference_of_means", "positives");
  check_finite(negatives, "difference_of_means", "negatives");
  MeanDifference probe;
  probe.positive_mean = positives.colwise().mean().transpose();
  probe.negative_mean = negatives.colwise().mean().transpose();
  probe.direction = probe.positive_mean - probe.negative_mean;
  const double norm = probe.direction.norm();
  probe.unit_direction = norm > 0 ? Eigen::VectorXd(probe.direction / norm) : Eigen::VectorXd::Zero(probe.direction.size());
  probe.threshold = probe.unit_direction.dot(probe.positive_mean + probe.negative_mean) / 2;
  return probe;
}

MeanDifference difference_of_means(ConstMatrixRef features, ConstLabelsRef labels) {
  check_binary_labels(labels, features.rows(), "difference_of_means");
  RowIndices positive_rows, negative_rows;
  for (Eigen::Index row = 0; row < labels.size(); ++row) (labels(row) == 1 ? positive_rows : negative_rows).push_back(row);
  return difference_of_means(select_rows(features, positive_rows), select_rows(features, negative_rows));
}

Eigen::VectorXd project(ConstMatrixRef features, ConstVectorRef direction) {
  if (features.cols() != direction.size())
    throw ArgumentError(fmt::format("project: features have {} columns but the direction has {} entries",
                                    features.cols(), direction.size()));
  return features * direction;
}

BinaryLabels classify(const MeanDifference& probe, ConstMatrixRef features) {
  const Eigen::VectorXd projections = project(features, probe.unit_direction);
  return (projections.array() > probe.threshold).cast<int>().matrix();
}

}  // namespace moulin::probes
