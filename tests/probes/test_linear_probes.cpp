// The torch-free linear probes against hand computations: difference of means on a hand case and on Gaussian
// classes; logistic regression at a hand-solved regularised optimum and at the closed-form maximum-likelihood
// optimum of a 1-D problem (both solvers, with and without standardisation), a zero gradient at the solution of
// a random problem, finite weights on separable data, constant features, and refused inputs; AUROC on perfect,
// reversed, tied and hand-counted mixed cases; the seeded stratified split; spectral signatures flagging a
// planted 5% cluster, exactly (BDCSVD) and by subspace iteration.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <vector>

#include "core/error.h"
#include "probes/auroc.h"
#include "probes/feature_matrix.h"
#include "probes/logistic_regression.h"
#include "probes/mean_difference.h"
#include "probes/spectral_signatures.h"
#include "tests/support/expect_error.h"

namespace moulin::probes {
namespace {

using test::expect_error;

Eigen::MatrixXd gaussian(Eigen::Index rows, Eigen::Index cols, std::mt19937_64& random) {
  std::normal_distribution<double> normal;
  return Eigen::MatrixXd::NullaryExpr(rows, cols, [&] { return normal(random); });
}

BinaryLabels labels_of(std::initializer_list<int> values) {
  BinaryLabels labels(static_cast<Eigen::Index>(values.size()));
  Eigen::Index i = 0;
  for (const int value : values) labels(i++) = value;
  return labels;
}

Eigen::VectorXd vector_of(std::initializer_list<double> values) {
  Eigen::VectorXd vector(static_cast<Eigen::Index>(values.size()));
  Eigen::Index i = 0;
  for (const double value : values) vector(i++) = value;
  return vector;
}

double logit(double p) { return std::log(p / (1 - p)); }

// The gradient of logistic_regression.h's loss in raw features, written out independently of the library.
Eigen::VectorXd loss_gradient(const Eigen::MatrixXd& x, const BinaryLabels& y, const Eigen::VectorXd& w, double b,
                              double l2) {
  Eigen::VectorXd gradient = Eigen::VectorXd::Zero(x.cols() + 1);
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    const double p = 1 / (1 + std::exp(-(x.row(i).dot(w) + b)));
    gradient.head(x.cols()) += (p - y(i)) * x.row(i).transpose();
    gradient(x.cols()) += p - y(i);
  }
  gradient /= static_cast<double>(x.rows());
  gradient.head(x.cols()) += l2 * w;
  return gradient;
}

LogisticOptions tight(double l2, bool standardize, bool newton) {
  LogisticOptions options;
  options.l2 = l2;
  options.standardize = standardize;
  options.tolerance = 1e-11;
  options.max_iterations = 2000;
  options.newton_max_dimension = newton ? 1024 : 0;
  return options;
}

// ---------------------------------------------------------------------------------------------------------------
// Difference of means

TEST(DifferenceOfMeans, HandCase) {
  Eigen::MatrixXd positives(2, 2), negatives(2, 2);
  positives << 2, 0, 4, 0;
  negatives << 0, 0, 0, 2;
  const auto probe = difference_of_means(positives, negatives);
  EXPECT_TRUE(probe.positive_mean.isApprox(vector_of({3, 0})));
  EXPECT_TRUE(probe.negative_mean.isApprox(vector_of({0, 1})));
  EXPECT_TRUE(probe.direction.isApprox(vector_of({3, -1})));
  EXPECT_TRUE(probe.unit_direction.isApprox(vector_of({3, -1}) / std::sqrt(10.0)));
  // (3, -1) / sqrt(10) . (3, 1) / 2 = 8 / (2 sqrt(10))
  EXPECT_NEAR(probe.threshold, 4 / std::sqrt(10.0), 1e-15);
  EXPECT_TRUE(project(positives, probe.direction).isApprox(vector_of({6, 12})));
  EXPECT_EQ(classify(probe, positives), labels_of({1, 1}));
  EXPECT_EQ(classify(probe, negatives), labels_of({0, 0}));

  // The same from stacked rows and labels.
  const auto stacked = stack_classes(positives, negatives);
  EXPECT_EQ(stacked.labels, labels_of({1, 1, 0, 0}));
  EXPECT_TRUE(difference_of_means(stacked.features, stacked.labels).direction.isApprox(probe.direction));
}

TEST(DifferenceOfMeans, GaussianClasses) {
  std::mt19937_64 random(11);
  const Eigen::Index d = 16;
  Eigen::VectorXd shift = Eigen::VectorXd::Zero(d);
  shift(3) = 4;
  shift(7) = -3;  // |shift| = 5
  const Eigen::MatrixXd positives = gaussian(300, d, random).rowwise() + shift.transpose();
  const Eigen::MatrixXd negatives = gaussian(300, d, random);
  const auto probe = difference_of_means(positives, negatives);
  EXPECT_NEAR(probe.unit_direction.norm(), 1, 1e-12);
  EXPECT_GT(probe.unit_direction.dot(shift / 5), 0.98);
  EXPECT_TRUE(probe.direction.isApprox(positives.colwise().mean().transpose() - negatives.colwise().mean().transpose()));
  // Classes 5 standard deviations apart: the halfway threshold misclassifies ~0.6% (Phi(-2.5)).
  const double accuracy = (classify(probe, positives).sum() + (1 - classify(probe, negatives).array()).sum()) / 600.0;
  EXPECT_GT(accuracy, 0.97);
}

TEST(DifferenceOfMeans, CoincidingMeansAndErrors) {
  Eigen::MatrixXd rows(2, 3);
  rows << 1, 2, 3, 3, 2, 1;
  const auto probe = difference_of_means(rows, rows.colwise().reverse());
  EXPECT_TRUE(probe.unit_direction.isZero());
  EXPECT_EQ(probe.threshold, 0);
  expect_error<ArgumentError>([&] { difference_of_means(rows, Eigen::MatrixXd(0, 3)); }, {"0 negatives"});
  expect_error<ArgumentError>([&] { difference_of_means(rows, Eigen::MatrixXd::Zero(2, 2)); }, {"3 features", "2"});
  expect_error<ArgumentError>([&] { project(rows, Eigen::VectorXd::Zero(2)); }, {"3 columns", "2 entries"});
  Eigen::MatrixXd bad = rows;
  bad(1, 2) = std::numeric_limits<double>::quiet_NaN();
  expect_error<ArgumentError>([&] { difference_of_means(bad, rows); }, {"positives", "row 1, column 2"});
}

// ---------------------------------------------------------------------------------------------------------------
// Logistic regression

// x = -1 (label 0) and x = +1 (label 1). By symmetry b = 0, and the gradient in w is -sigmoid(-w) + l2 w, so
// l2 = sigmoid(-ln 3) / ln 3 = 1 / (4 ln 3) puts the optimum at w = ln 3 exactly.
TEST(LogisticRegression, HandSolvedRegularisedOptimum) {
  Eigen::MatrixXd x(2, 1);
  x << -1, 1;
  const BinaryLabels y = labels_of({0, 1});
  const double l2 = 1 / (4 * std::log(3.0));
  for (const bool standardize : {false, true})  // these x already have mean 0 and unit variance
    for (const bool newton : {true, false}) {
      const auto model = fit_logistic(x, y, tight(l2, standardize, newton));
      EXPECT_TRUE(model.converged);
      EXPECT_EQ(model.solver, newton ? LogisticSolver::kNewton : LogisticSolver::kLbfgs);
      EXPECT_NEAR(model.weights(0), std::log(3.0), 1e-9) << standardize << newton;
      EXPECT_NEAR(model.bias, 0, 1e-9);
      // loss = log(1 + e^-w) + l2 w^2 / 2 = log(4/3) + ln 3 / 8
      EXPECT_NEAR(model.loss, std::log(4.0 / 3.0) + std::log(3.0) / 8, 1e-12);
      EXPECT_TRUE(predict_probability(model, x).isApprox(vector_of({0.25, 0.75}), 1e-9));
    }
}

// Unregularised, with two distinct x values the fitted probabilities equal the observed frequencies:
// sigmoid(b - w) = 1/4 at x = -1 and sigmoid(b + w) = 4/5 at x = +1.
TEST(LogisticRegression, ClosedFormMaximumLikelihoodIn1D) {
  Eigen::MatrixXd x(9, 1);
  x << -1, -1, -1, -1, 1, 1, 1, 1, 1;
  const BinaryLabels y = labels_of({1, 0, 0, 0, 1, 1, 1, 1, 0});
  const double w = (logit(0.8) - logit(0.25)) / 2, b = (logit(0.8) + logit(0.25)) / 2;
  for (const bool standardize : {false, true})
    for (const bool newton : {true, false}) {
      const auto model = fit_logistic(x, y, tight(0, standardize, newton));
      EXPECT_TRUE(model.converged);
      EXPECT_NEAR(model.weights(0), w, 1e-8) << standardize << newton;
      EXPECT_NEAR(model.bias, b, 1e-8) << standardize << newton;
      EXPECT_LT(loss_gradient(x, y, model.weights, model.bias, 0).lpNorm<Eigen::Infinity>(), 1e-9);
    }
}

TEST(LogisticRegression, GradientVanishesAtTheSolutionAndSolversAgree) {
  std::mt19937_64 random(5);
  const Eigen::Index n = 200, d = 6;
  Eigen::MatrixXd x = gaussian(n, d, random);
  x.col(2) *= 30;  // scales far apart, so standardisation matters
  x.col(4).array() += 7;
  const Eigen::VectorXd truth = vector_of({1.5, -2, 0.05, 0, 0.8, 0.3});
  std::uniform_real_distribution<double> uniform;
  BinaryLabels y(n);
  for (Eigen::Index i = 0; i < n; ++i) y(i) = uniform(random) < 1 / (1 + std::exp(-(x.row(i).dot(truth) - 5.6)));

  const double l2 = 0.05;
  const auto newton = fit_logistic(x, y, tight(l2, false, true));
  const auto lbfgs = fit_logistic(x, y, tight(l2, false, false));
  EXPECT_TRUE(newton.converged);
  EXPECT_TRUE(lbfgs.converged);
  EXPECT_LT(newton.iterations, 20);
  EXPECT_LT(loss_gradient(x, y, newton.weights, newton.bias, l2).lpNorm<Eigen::Infinity>(), 1e-10);
  EXPECT_LT(loss_gradient(x, y, lbfgs.weights, lbfgs.bias, l2).lpNorm<Eigen::Infinity>(), 1e-10);
  EXPECT_TRUE(lbfgs.weights.isApprox(newton.weights, 1e-7));
  EXPECT_NEAR(lbfgs.bias, newton.bias, 1e-7);

  // Standardised: the penalty acts on w x scale, so the raw-space gradient is l2 (w_std / scale) away from the
  // plain loss's; check stationarity in the standardised coordinates instead.
  const auto standardized = fit_logistic(x, y, tight(l2, true, true));
  const auto standardized_lbfgs = fit_logistic(x, y, tight(l2, true, false));
  EXPECT_TRUE(standardized.converged);
  const Eigen::RowVectorXd mean = x.colwise().mean();
  const Eigen::RowVectorXd scale = ((x.rowwise() - mean).array().square().colwise().mean()).sqrt();
  const Eigen::MatrixXd z = (x.rowwise() - mean).array().rowwise() / scale.array();
  const Eigen::VectorXd w_std = standardized.weights.array() * scale.transpose().array();
  const double b_std = standardized.bias + standardized.weights.dot(mean.transpose());
  EXPECT_LT(loss_gradient(z, y, w_std, b_std, l2).lpNorm<Eigen::Infinity>(), 1e-9);
  EXPECT_TRUE(standardized_lbfgs.weights.isApprox(standardized.weights, 1e-7));
  EXPECT_TRUE(predict_logit(standardized, x).isApprox(z * w_std + Eigen::VectorXd::Constant(n, b_std), 1e-9));
}

TEST(LogisticRegression, SeparableDataStaysFinite) {
  std::mt19937_64 random(8);
  Eigen::MatrixXd x = gaussian(80, 3, random);
  BinaryLabels y(80);
  for (Eigen::Index i = 0; i < 80; ++i) {
    y(i) = i % 2;
    x(i, 0) = (i % 2 ? 1 : -1) * (1 + std::abs(x(i, 0)));  // a margin of 2 along the first feature
  }
  const double l2 = 1e-3;
  for (const bool standardize : {false, true})
    for (const bool newton : {true, false}) {
      const auto model = fit_logistic(x, y, tight(l2, standardize, newton));
      EXPECT_TRUE(model.converged) << standardize << newton;
      EXPECT_TRUE(model.weights.allFinite());
      EXPECT_TRUE(std::isfinite(model.bias));
      // (l2 / 2) |w|^2 <= loss(optimum) <= loss(0, 0) = log 2, in the coordinates that are penalised.
      if (!standardize) EXPECT_LE(model.weights.squaredNorm(), 2 * std::log(2.0) / l2 + 1e-9);
      EXPECT_LT(model.loss, std::log(2.0));
      const Eigen::VectorXd p = predict_probability(model, x);
      for (Eigen::Index i = 0; i < 80; ++i) EXPECT_EQ(p(i) > 0.5, y(i) == 1);
      EXPECT_EQ(auroc(predict_logit(model, x), y), 1.0);
    }
}

TEST(LogisticRegression, ConstantFeatures) {
  std::mt19937_64 random(9);
  const Eigen::Index n = 120;
  Eigen::MatrixXd informative = gaussian(n, 2, random);
  BinaryLabels y(n);
  std::uniform_real_distribution<double> uniform;
  for (Eigen::Index i = 0; i < n; ++i) y(i) = uniform(random) < 1 / (1 + std::exp(-2 * informative(i, 0)));
  Eigen::MatrixXd x(n, 4);
  x.col(0) = informative.col(0);
  x.col(1).setConstant(0.1);  // a mean that is not exact in binary: its computed deviation is rounding noise
  x.col(2) = informative.col(1);
  x.col(3).setZero();

  const auto reference = fit_logistic(informative, y, tight(0.01, true, true));
  for (const bool newton : {true, false}) {
    const auto model = fit_logistic(x, y, tight(0.01, true, newton));
    EXPECT_TRUE(model.converged);
    EXPECT_EQ(model.weights(1), 0);
    EXPECT_EQ(model.weights(3), 0);
    EXPECT_NEAR(model.weights(0), reference.weights(0), 1e-8);
    EXPECT_NEAR(model.weights(2), reference.weights(1), 1e-8);
    EXPECT_NEAR(model.bias, reference.bias, 1e-8);
  }
  // Unstandardised, a constant column duplicates the bias (l2 = 0 leaves their split undetermined): the fit must
  // still converge to the same predictions.
  const auto unregularised = fit_logistic(x, y, tight(0, false, true));
  const auto unregularised_reference = fit_logistic(informative, y, tight(0, false, true));
  EXPECT_TRUE(unregularised.converged);
  EXPECT_TRUE(unregularised.weights.allFinite());
  EXPECT_TRUE(predict_logit(unregularised, x).isApprox(predict_logit(unregularised_reference, informative), 1e-7));
}

TEST(LogisticRegression, RefusedInputs) {
  Eigen::MatrixXd x(4, 2);
  x << 1, 2, 3, 4, 5, 6, 7, 8;
  const BinaryLabels y = labels_of({0, 1, 0, 1});
  expect_error<ArgumentError>([&] { fit_logistic(Eigen::MatrixXd(0, 2), BinaryLabels(0)); }, {"no rows"});
  expect_error<ArgumentError>([&] { fit_logistic(Eigen::MatrixXd(4, 0), y); }, {"no columns"});
  expect_error<ArgumentError>([&] { fit_logistic(x, labels_of({0, 1, 1})); }, {"3 labels for 4 rows"});
  expect_error<ArgumentError>([&] { fit_logistic(x, labels_of({1, 1, 1, 1})); }, {"both classes", "4 positives"});
  expect_error<ArgumentError>([&] { fit_logistic(x, labels_of({0, 2, 0, 1})); }, {"label 1 is 2"});
  Eigen::MatrixXd infinite = x;
  infinite(2, 1) = std::numeric_limits<double>::infinity();
  expect_error<ArgumentError>([&] { fit_logistic(infinite, y); }, {"features", "row 2, column 1"});
  LogisticOptions options;
  options.l2 = -1;
  expect_error<ArgumentError>([&] { fit_logistic(x, y, options); }, {"l2", "-1"});
  options = {};
  options.tolerance = 0;
  expect_error<ArgumentError>([&] { fit_logistic(x, y, options); }, {"tolerance"});
  const auto model = fit_logistic(x, y);
  expect_error<ArgumentError>([&] { predict_logit(model, Eigen::MatrixXd(1, 3)); }, {"3 columns", "2 weights"});
}

// ---------------------------------------------------------------------------------------------------------------
// AUROC and splits

TEST(Auroc, HandCases) {
  const BinaryLabels labels = labels_of({0, 0, 1, 1});
  EXPECT_EQ(auroc(vector_of({0.1, 0.2, 0.8, 0.9}), labels), 1.0);
  EXPECT_EQ(auroc(vector_of({0.9, 0.8, 0.2, 0.1}), labels), 0.0);
  EXPECT_EQ(auroc(vector_of({0.5, 0.5, 0.5, 0.5}), labels), 0.5);
  // Pairs (positive, negative): (0.35, 0.1) and (0.8, both) win, (0.35, 0.4) loses: 3 of 4.
  EXPECT_EQ(auroc(vector_of({0.1, 0.4, 0.35, 0.8}), labels), 0.75);
  // Positives {0.5, 0.7} against negatives {0.5, 0.2}: one tie (1/2) and three wins: 3.5 of 4.
  EXPECT_EQ(auroc(vector_of({0.5, 0.2, 0.5, 0.7}), labels), 0.875);
  // Positives {1, 2, 2} against negatives {2, 0}, a three-way tie at 2: positive 1 beats 0 and loses to 2 (1),
  // each positive 2 ties 2 and beats 0 (1.5 twice): 4 of 6 pairs.
  EXPECT_DOUBLE_EQ(auroc(vector_of({1, 2, 2, 2, 0}), labels_of({1, 1, 1, 0, 0})), 4.0 / 6.0);
  // Order of the rows does not matter.
  EXPECT_DOUBLE_EQ(auroc(vector_of({0, 2, 1, 2, 2}), labels_of({0, 1, 1, 0, 1})), 4.0 / 6.0);

  expect_error<ArgumentError>([&] { auroc(vector_of({1, 2}), labels); }, {"4 labels for 2 rows"});
  expect_error<ArgumentError>([&] { auroc(vector_of({1, 2}), labels_of({1, 1})); }, {"both classes"});
  expect_error<ArgumentError>(
      [&] { auroc(vector_of({1, std::numeric_limits<double>::quiet_NaN(), 3, 4}), labels); }, {"score 1 is NaN"});
}

TEST(StratifiedSplit, SeededAndStratified) {
  BinaryLabels labels(50);
  for (Eigen::Index i = 0; i < 50; ++i) labels(i) = i < 20;  // 20 positives, 30 negatives
  const auto split = stratified_split(labels, 0.25, 3);
  EXPECT_EQ(split.held_out.size(), 5u + 8u);  // round(5), round(7.5) = 8
  EXPECT_EQ(split.train.size(), 37u);
  std::set<Eigen::Index> all(split.train.begin(), split.train.end());
  all.insert(split.held_out.begin(), split.held_out.end());
  EXPECT_EQ(all.size(), 50u);
  EXPECT_TRUE(std::is_sorted(split.train.begin(), split.train.end()));
  EXPECT_EQ(select_labels(labels, split.held_out).sum(), 5);

  const auto again = stratified_split(labels, 0.25, 3);
  EXPECT_EQ(again.held_out, split.held_out);
  EXPECT_NE(stratified_split(labels, 0.25, 4).held_out, split.held_out);
  // A tiny fraction still holds out one row of each class; a large one still trains on one.
  EXPECT_EQ(stratified_split(labels, 0.001, 0).held_out.size(), 2u);
  EXPECT_EQ(stratified_split(labels, 0.999, 0).train.size(), 2u);

  expect_error<ArgumentError>([&] { stratified_split(labels, 1.0); }, {"held_out_fraction", "(0, 1)"});
  expect_error<ArgumentError>([&] { stratified_split(labels_of({1, 0, 0}), 0.5); }, {"class 1 has 1 row"});
}

TEST(StratifiedFolds, EveryFoldHoldsBothClassesInProportion) {
  BinaryLabels labels(50);
  for (Eigen::Index i = 0; i < 50; ++i) labels(i) = i < 20;  // 20 positives, 30 negatives
  const auto folds = stratified_folds(labels, 5, 3);
  ASSERT_EQ(folds.size(), 50u);
  for (int fold = 0; fold < 5; ++fold) {
    int positives = 0, negatives = 0;
    for (Eigen::Index i = 0; i < 50; ++i)
      if (folds[static_cast<std::size_t>(i)] == fold) (labels(i) ? positives : negatives) += 1;
    EXPECT_EQ(positives, 4) << fold;
    EXPECT_EQ(negatives, 6) << fold;
  }
  EXPECT_EQ(stratified_folds(labels, 5, 3), folds);
  EXPECT_NE(stratified_folds(labels, 5, 4), folds);
  expect_error<ArgumentError>([&] { stratified_folds(labels, 1); }, {"at least 2 folds"});
  expect_error<ArgumentError>([&] { stratified_folds(labels_of({1, 1, 0, 0, 0}), 3); }, {"class 1 has 2 rows", "3 folds"});
}

// ---------------------------------------------------------------------------------------------------------------
// Spectral signatures

struct PlantedCluster {
  Eigen::MatrixXd features;
  std::set<Eigen::Index> poisoned;
};

// n Gaussian rows in d dimensions, 5% of them moved by `shift` along one random direction.
PlantedCluster planted_cluster(Eigen::Index n, Eigen::Index d, double shift_length, std::uint64_t seed) {
  std::mt19937_64 random(seed);
  PlantedCluster data{gaussian(n, d, random), {}};
  const Eigen::VectorXd shift = shift_length * gaussian(d, 1, random).col(0).normalized();
  std::vector<Eigen::Index> rows(static_cast<std::size_t>(n));
  for (Eigen::Index i = 0; i < n; ++i) rows[static_cast<std::size_t>(i)] = i;
  std::shuffle(rows.begin(), rows.end(), random);
  for (Eigen::Index k = 0; k < n / 20; ++k) {
    data.poisoned.insert(rows[static_cast<std::size_t>(k)]);
    data.features.row(rows[static_cast<std::size_t>(k)]) += shift.transpose();
  }
  return data;
}

double recall(const RowIndices& flagged, const std::set<Eigen::Index>& poisoned) {
  const auto found = std::count_if(flagged.begin(), flagged.end(), [&](Eigen::Index row) { return poisoned.count(row) > 0; });
  return static_cast<double>(found) / static_cast<double>(poisoned.size());
}

TEST(SpectralSignatures, FlagPlantedClusterExactly) {
  const auto data = planted_cluster(400, 32, 6, 21);
  const auto signature = spectral_signature(data.features);
  EXPECT_TRUE(signature.exact);
  EXPECT_NEAR(signature.direction.norm(), 1, 1e-12);
  const Eigen::MatrixXd centred = data.features.rowwise() - data.features.colwise().mean();
  EXPECT_TRUE(signature.scores.isApprox((centred * signature.direction).array().square().matrix()));
  const auto flagged = spectral_outliers(signature.scores, 0.05);
  EXPECT_EQ(flagged.size(), 30u);  // 1.5 x 5% of 400
  EXPECT_GE(recall(flagged, data.poisoned), 0.9);
  for (std::size_t i = 1; i < flagged.size(); ++i)
    EXPECT_GE(signature.scores(flagged[i - 1]), signature.scores(flagged[i]));
}

TEST(SpectralSignatures, SubspaceIterationMatchesTheSvd) {
  // Wide (d > n), where the noise's own top singular values are large (Marchenko-Pastur), so the cluster is moved
  // further to stand out.
  const auto data = planted_cluster(300, 700, 12, 22);
  const auto exact = spectral_signature(data.features);
  SpectralSignatureOptions options;
  options.exact_max_dimension = 0;
  options.tolerance = 1e-10;
  const auto iterated = spectral_signature(data.features, options);
  EXPECT_TRUE(exact.exact);
  EXPECT_FALSE(iterated.exact);
  EXPECT_TRUE(iterated.converged);
  EXPECT_GT(iterated.iterations, 0);
  EXPECT_LT(iterated.iterations, options.max_iterations);
  EXPECT_NEAR(std::abs(iterated.direction.dot(exact.direction)), 1, 1e-9);
  EXPECT_NEAR(iterated.singular_value, exact.singular_value, 1e-9 * exact.singular_value);
  EXPECT_TRUE(iterated.scores.isApprox(exact.scores, 1e-6));
  EXPECT_GE(recall(spectral_outliers(iterated.scores, 0.05), data.poisoned), 0.9);
  EXPECT_TRUE(spectral_signature_scores(data.features, options).isApprox(iterated.scores));
}

TEST(SpectralSignatures, OutlierCountsAndErrors) {
  const Eigen::VectorXd scores = vector_of({0.5, 3, 1, 3, 0});
  EXPECT_EQ(spectral_outliers(scores, 0.2), (RowIndices{1, 3}));       // ceil(1.5 x 0.2 x 5) = 2, ties by row
  EXPECT_EQ(spectral_outliers(scores, 0.2, 1.0), (RowIndices{1}));
  EXPECT_EQ(spectral_outliers(scores, 1.0).size(), 5u);                 // capped at n
  expect_error<ArgumentError>([&] { spectral_outliers(scores, 0); }, {"expected_poison_fraction"});
  expect_error<ArgumentError>([&] { spectral_outliers(scores, 0.1, -1); }, {"removal_factor"});
  expect_error<ArgumentError>([&] { spectral_signature(Eigen::MatrixXd::Zero(1, 3)); }, {"at least 2 rows"});
  SpectralSignatureOptions options;
  options.block_size = 0;
  expect_error<ArgumentError>([&] { spectral_signature(Eigen::MatrixXd::Zero(3, 3), options); }, {"block_size"});
}

}  // namespace
}  // namespace moulin::probes
