#pragma once
// Area under the ROC curve of a scoring rule, and a seeded train / held-out split to measure it on rows a probe
// was not fitted on. Torch-free.
#include <cstdint>

#include <Eigen/Core>

#include "probes/feature_matrix.h"

namespace moulin::probes {

// P(score of a random positive > score of a random negative), ties counting one half: the Mann-Whitney U
// statistic over n_pos x n_neg, computed exactly from mid-ranks. 1 is a perfect separation, 0.5 chance, 0 a
// perfectly reversed one. Throws ArgumentError for mismatched sizes, labels other than 0/1, a missing class or a
// NaN score.
double auroc(ConstVectorRef scores, ConstLabelsRef labels);

struct TrainHeldOutSplit {
  RowIndices train;     // ascending
  RowIndices held_out;  // ascending
};

// Stratified split: each class sends round(held_out_fraction x its size) rows, but at least one and never all, to
// held_out, chosen by a seeded Fisher-Yates shuffle (std::mt19937_64 with an explicit bounded draw, so the split
// is the same on every platform and standard library). Throws ArgumentError unless 0 < held_out_fraction < 1 and
// each class has at least 2 rows.
TrainHeldOutSplit stratified_split(ConstLabelsRef labels, double held_out_fraction, std::uint64_t seed = 0);

// Stratified k-fold cross-validation: each class's rows, shuffled with the seed as stratified_split does, dealt in
// turn to folds 0..folds-1, so every fold holds both classes in the same proportions. Returns each row's fold.
// Throws ArgumentError when folds < 2 or a class has fewer rows than folds.
std::vector<int> stratified_folds(ConstLabelsRef labels, int folds, std::uint64_t seed = 0);

}  // namespace moulin::probes
