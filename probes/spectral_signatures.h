#pragma once
// Spectral signatures (Tran, Li & Madry, "Spectral Signatures in Backdoor Attacks", NeurIPS 2018): poisoned
// examples leave a trace along the top singular direction of the centred representations of their class, so
// each example's squared projection on it is an outlier score, and removing the top 1.5 x (expected poison
// fraction) scores removes most of the poison. Torch-free.
#include <cstdint>

#include <Eigen/Core>

#include "probes/feature_matrix.h"

namespace moulin::probes {

struct SpectralSignatureOptions {
  // Exact SVD (Eigen's BDCSVD of the centred n x d matrix) when min(n, d) <= this; beyond, the top singular
  // vector comes from block power (subspace) iteration, O(n d block) per iteration, where a full SVD of a
  // 4000 x 4096 matrix would take minutes.
  Eigen::Index exact_max_dimension = 512;
  int block_size = 8;          // subspace iteration vectors: the extra ones speed up convergence of the first
  // Each iteration costs two passes over the centred matrix. A poisoned class's top direction stands out and
  // converges in a few iterations; without poison the spectrum top is flat, no direction is special, and the
  // iteration stops here (converged false) with a direction of near-top variance.
  int max_iterations = 100;
  double tolerance = 1e-6;     // stop once |C v - lambda v| <= tolerance x lambda (C = centred' centred)
  std::uint64_t seed = 0;      // the random start of the iteration
};

struct SpectralSignature {
  Eigen::VectorXd scores;     // [n] squared projections of the centred rows on `direction`
  Eigen::VectorXd direction;  // [d] unit top right-singular vector (its sign is arbitrary)
  double singular_value = 0;  // the top singular value of the centred matrix
  Eigen::VectorXd mean;       // [d] the row mean that was subtracted
  bool exact = true;          // BDCSVD (true) or subspace iteration (false)
  int iterations = 0;         // subspace iterations (0 when exact)
  bool converged = true;      // the iteration met its tolerance (always true when exact)
};

// Throws ArgumentError for fewer than 2 rows, no columns, non-finite values or invalid options.
SpectralSignature spectral_signature(ConstMatrixRef features, const SpectralSignatureOptions& options = {});
Eigen::VectorXd spectral_signature_scores(ConstMatrixRef features, const SpectralSignatureOptions& options = {});

// The rows to remove: the ceil(removal_factor x expected_poison_fraction x n) highest scores (at most n), highest
// first (ties by row index). Throws ArgumentError unless 0 < expected_poison_fraction <= 1, removal_factor > 0
// and no score is NaN.
RowIndices spectral_outliers(ConstVectorRef scores, double expected_poison_fraction, double removal_factor = 1.5);

}  // namespace moulin::probes
