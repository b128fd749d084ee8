#include "probes/feature_matrix.h"

#include <fmt/format.h>

#include <cmath>

#include "core/error.h"

namespace moulin::probes {
namespace {

void check_row_index(Eigen::Index row, Eigen::Index rows, const char* function) {
  if (row < 0 || row >= rows)
    throw ArgumentError(fmt::format("{}: row index {} is outside [0, {})", function, row, rows));
}

}  // namespace

LabelledFeatures stack_classes(ConstMatrixRef positives, ConstMatrixRef negatives) {
  if (positives.cols() != negatives.cols())
    throw ArgumentError(fmt::format("stack_classes: positives have {} features but negatives have {}",
                                    positives.cols(), negatives.cols()));
  LabelledFeatures stacked;
  stacked.features.resize(positives.rows() + negatives.rows(), positives.cols());
  stacked.features.topRows(positives.rows()) = positives;
  stacked.features.bottomRows(negatives.rows()) = negatives;
  stacked.labels.resize(stacked.features.rows());
  stacked.labels.head(positives.rows()).setOnes();
  stacked.labels.tail(negatives.rows()).setZero();
  return stacked;
}

Eigen::MatrixXd select_rows(ConstMatrixRef features, const RowIndices& rows) {
  Eigen::MatrixXd selected(static_cast<Eigen::Index>(rows.size()), features.cols());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    check_row_index(rows[i], features.rows(), "select_rows");
    selected.row(static_cast<Eigen::Index>(i)) = features.row(rows[i]);
  }
  return selected;
}

Eigen::VectorXd select_entries(ConstVectorRef values, const RowIndices& rows) {
  Eigen::VectorXd selected(static_cast<Eigen::Index>(rows.size()));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    check_row_index(rows[i], values.size(), "select_entries");
    selected(static_cast<Eigen::Index>(i)) = values(rows[i]);
  }
  return selected;
}

BinaryLabels select_labels(ConstLabelsRef labels, const RowIndices& rows) {
  BinaryLabels selected(static_cast<Eigen::Index>(rows.size()));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    check_row_index(rows[i], labels.size(), "select_labels");
    selected(static_cast<Eigen::Index>(i)) = labels(rows[i]);
  }
  return selected;
}

void check_binary_labels(ConstLabelsRef labels, Eigen::Index rows, const char* function, bool need_both_classes) {
  if (labels.size() != rows)
    throw ArgumentError(fmt::format("{}: {} labels for {} rows", function, labels.size(), rows));
  Eigen::Index positives = 0;
  for (Eigen::Index i = 0; i < labels.size(); ++i) {
    if (labels(i) != 0 && labels(i) != 1)
      throw ArgumentError(fmt::format("{}: label {} is {}; labels must be 0 or 1", function, i, labels(i)));
    positives += labels(i);
  }
  if (need_both_classes && (positives == 0 || positives == labels.size()))
    throw ArgumentError(fmt::format("{}: labels need both classes, got {} positives and {} negatives", function,
                                    positives, labels.size() - positives));
}

void check_finite(ConstMatrixRef values, const char* function, const char* what) {
  if (values.allFinite()) return;
  for (Eigen::Index column = 0; column < values.cols(); ++column)
    for (Eigen::Index row = 0; row < values.rows(); ++row)
      if (!std::isfinite(values(row, column)))
        throw ArgumentError(fmt::format("{}: {} hold a non-finite value ({}) at row {}, column {}", function, what,
                                        values(row, column), row, column));
}

}  // namespace moulin::probes
