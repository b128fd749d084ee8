#include "probes/spectral_signatures.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include <Eigen/Eigenvalues>
#include <Eigen/QR>
#include <Eigen/SVD>

#include "core/error.h"

namespace moulin::probes {
namespace {

void check_options(const SpectralSignatureOptions& options) {
  if (options.exact_max_dimension < 0)
    throw ArgumentError(fmt::format("spectral_signature: exact_max_dimension must be >= 0, got {}",
                                    options.exact_max_dimension));
  if (options.block_size < 1)
    throw ArgumentError(fmt::format("spectral_signature: block_size must be >= 1, got {}", options.block_size));
  if (options.max_iterations < 1)
    throw ArgumentError(fmt::format("spectral_signature: max_iterations must be >= 1, got {}", options.max_iterations));
  if (!(options.tolerance > 0))
    throw ArgumentError(fmt::format("spectral_signature: tolerance must be > 0, got {}", options.tolerance));
}

Eigen::MatrixXd orthonormal_columns(const Eigen::MatrixXd& columns) {
  const Eigen::HouseholderQR<Eigen::MatrixXd> qr(columns);
  return qr.householderQ() * Eigen::MatrixXd::Identity(columns.rows(), columns.cols());
}

// Top eigenpair of C = centred' centred by subspace iteration with Rayleigh-Ritz, never forming the d x d C.
void top_singular_by_iteration(const Eigen::MatrixXd& centred, const SpectralSignatureOptions& options,
                               SpectralSignature& signature) {
  const Eigen::Index d = centred.cols();
  const Eigen::Index block = std::min<Eigen::Index>({options.block_size, d, centred.rows()});
  std::mt19937_64 random(options.seed);
  std::normal_distribution<double> normal;
  Eigen::MatrixXd basis = orthonormal_columns(Eigen::MatrixXd::NullaryExpr(d, block, [&] { return normal(random); }));
  Eigen::VectorXd top(d);
  double top_value = 0;
  for (signature.iterations = 1; signature.iterations <= options.max_iterations; ++signature.iterations) {
    const Eigen::MatrixXd projected = centred * basis;                  // [n, block]
    const Eigen::MatrixXd image = centred.transpose() * projected;      // C basis, [d, block]
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> ritz(projected.transpose() * projected);
    const Eigen::VectorXd coefficients = ritz.eigenvectors().col(block - 1);  // eigenvalues ascend
    top_value = std::max(ritz.eigenvalues()(block - 1), 0.0);
    top = basis * coefficients;
    const double residual = (image * coefficients - top_value * top).norm();
    signature.converged = residual <= options.tolerance * top_value;
    if (signature.converged) break;
    basis = orthonormal_columns(image);
  }
  signature.iterations = std::min(signature.iterations, options.max_iterations);
  signature.direction = top.normalized();
  signature.singular_value = std::sqrt(top_value);
}

}  // namespace

SpectralSignature spectral_signature(ConstMatrixRef features, const SpectralSignatureOptions& options) {
  check_options(options);
  if (features.rows() < 2)
    throw ArgumentError(fmt::format("spectral_signature: features need at least 2 rows, got {}", features.rows()));
  if (features.cols() == 0) throw ArgumentError("spectral_signature: features have no columns");
  check_finite(features, "spectral_signature", "features");

  SpectralSignature signature;
  signature.mean = features.colwise().mean().transpose();
  const Eigen::MatrixXd centred = features.rowwise() - signature.mean.transpose();
  signature.exact = std::min(features.rows(), features.cols()) <= options.exact_max_dimension;
  if (signature.exact) {
    const Eigen::BDCSVD<Eigen::MatrixXd> svd(centred, Eigen::ComputeThinV);
    signature.direction = svd.matrixV().col(0);
    signature.singular_value = svd.singularValues()(0);
  } else {
    top_singular_by_iteration(centred, options, signature);
  }
  signature.scores = (centred * signature.direction).array().square().matrix();
  return signature;
}

Eigen::VectorXd spectral_signature_scores(ConstMatrixRef features, const SpectralSignatureOptions& options) {
  return spectral_signature(features, options).scores;
}

RowIndices spectral_outliers(ConstVectorRef scores, double expected_poison_fraction, double removal_factor) {
  if (!(expected_poison_fraction > 0 && expected_poison_fraction <= 1))
    throw ArgumentError(fmt::format("spectral_outliers: expected_poison_fraction must be in (0, 1], got {}",
                                    expected_poison_fraction));
  if (!(removal_factor > 0) || !std::isfinite(removal_factor))
    throw ArgumentError(fmt::format("spectral_outliers: removal_factor must be > 0, got {}", removal_factor));
  for (Eigen::Index i = 0; i < scores.size(); ++i)
    if (std::isnan(scores(i))) throw ArgumentError(fmt::format("spectral_outliers: score {} is NaN", i));

  const double wanted = removal_factor * expected_poison_fraction * static_cast<double>(scores.size());
  // The small allowance keeps 1.5 x 0.05 x 400 = 30 from becoming 31 through rounding of the product.
  const auto count = std::min<Eigen::Index>(static_cast<Eigen::Index>(std::ceil(wanted - 1e-9)), scores.size());
  RowIndices order(static_cast<std::size_t>(scores.size()));
  std::iota(order.begin(), order.end(), Eigen::Index{0});
  std::stable_sort(order.begin(), order.end(), [&scores](Eigen::Index a, Eigen::Index b) { return scores(a) > scores(b); });
  order.resize(static_cast<std::size_t>(count));
  return order;
}

}  // namespace moulin::probes
