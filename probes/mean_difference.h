#pragma once
// The difference-of-means direction between two classes of activations: the simplest linear probe, and the
// direction steering and ablation experiments use (hooks/interventions.h takes it as a tensor through
// probes/tensor_eigen.h). Torch-free.
#include <Eigen/Core>

#include "probes/feature_matrix.h"

namespace moulin::probes {

struct MeanDifference {
  Eigen::VectorXd positive_mean;   // [d]
  Eigen::VectorXd negative_mean;   // [d]
  Eigen::VectorXd direction;       // positive_mean - negative_mean, unnormalised
  // direction / |direction|; zero when the means coincide (every projection is then 0 and no row is positive).
  Eigen::VectorXd unit_direction;
  // Halfway between the classes on the unit direction: unit_direction . (positive_mean + negative_mean) / 2.
  // A row is called positive when project(row, unit_direction) > threshold.
  double threshold = 0;
};

// Throws ArgumentError when a class has no rows, the feature counts differ or a value is not finite.
MeanDifference difference_of_means(ConstMatrixRef positives, ConstMatrixRef negatives);
// The same from one matrix and 0/1 labels.
MeanDifference difference_of_means(ConstMatrixRef features, ConstLabelsRef labels);

// features . direction per row: [n]. Throws ArgumentError when the sizes disagree.
Eigen::VectorXd project(ConstMatrixRef features, ConstVectorRef direction);
// 1 where project(row, unit_direction) > threshold, else 0.
BinaryLabels classify(const MeanDifference& probe, ConstMatrixRef features);

}  // namespace moulin::probes
