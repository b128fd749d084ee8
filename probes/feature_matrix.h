#pragma once
// The shared vocabulary of the linear probes: features are rows (n examples x d features) of a double matrix, and
// binary labels say which rows are positives (1, e.g. triggered prompts) and which negatives (0, clean ones).
// Torch-free: probes/tensor_eigen.h converts activations.
#include <cstdint>
#include <vector>

#include <Eigen/Core>

namespace moulin::probes {

// Views that accept a matrix, a vector or a block of one without copying.
using ConstMatrixRef = Eigen::Ref<const Eigen::MatrixXd>;
using ConstVectorRef = Eigen::Ref<const Eigen::VectorXd>;
using BinaryLabels = Eigen::VectorXi;  // 1 positive, 0 negative
using ConstLabelsRef = Eigen::Ref<const Eigen::VectorXi>;
using RowIndices = std::vector<Eigen::Index>;

// Positives stacked above negatives, labelled 1 then 0.
struct LabelledFeatures {
  Eigen::MatrixXd features;
  BinaryLabels labels;
};
// Throws ArgumentError when the column counts differ.
LabelledFeatures stack_classes(ConstMatrixRef positives, ConstMatrixRef negatives);

// The listed rows, in the listed order. Throws ArgumentError for an index outside [0, rows).
Eigen::MatrixXd select_rows(ConstMatrixRef features, const RowIndices& rows);
Eigen::VectorXd select_entries(ConstVectorRef values, const RowIndices& rows);
BinaryLabels select_labels(ConstLabelsRef labels, const RowIndices& rows);

// Checks that `labels` has `rows` entries, each 0 or 1, and (when `need_both_classes`) both values; `function`
// names the caller in the ArgumentError.
void check_binary_labels(ConstLabelsRef labels, Eigen::Index rows, const char* function, bool need_both_classes = true);
// Throws ArgumentError naming `what` when a value is NaN or infinite.
void check_finite(ConstMatrixRef values, const char* function, const char* what);

}  // namespace moulin::probes
