#include "probes/logistic_regression.h"

#include <fmt/format.h>

#include <cmath>
#include <optional>
#include <utility>
#include <vector>

#include <Eigen/Cholesky>

#include "core/error.h"
#include "probes/lbfgs.h"

namespace moulin::probes {
namespace {

// log(1 + exp(z)) and 1 / (1 + exp(-z)) without overflow for large |z| (separable data drives |z| up).
double softplus(double z) { return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z)); }
double sigmoid(double z) {
  if (z >= 0) return 1 / (1 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1 + e);
}

// The loss of logistic_regression.h over parameters theta = [w; b].
class LogisticObjective {
 public:
  LogisticObjective(ConstMatrixRef features, Eigen::VectorXd targets, double l2)
      : features_(features), targets_(std::move(targets)), l2_(l2) {}

  Eigen::Index parameters() const { return features_.cols() + 1; }

  double value_and_gradient(const Eigen::VectorXd& theta, Eigen::VectorXd& gradient) const {
    const Eigen::VectorXd logits = logits_of(theta);
    Eigen::VectorXd residuals(logits.size());  // p_i - y_i
    double total = 0;
    for (Eigen::Index i = 0; i < logits.size(); ++i) {
      total += softplus(logits(i)) - targets_(i) * logits(i);
      residuals(i) = sigmoid(logits(i)) - targets_(i);
    }
    const double n = static_cast<double>(rows());
    gradient.resize(parameters());
    gradient.head(features_.cols()).noalias() = features_.transpose() * residuals / n;
    gradient.head(features_.cols()) += l2_ * theta.head(features_.cols());
    gradient(features_.cols()) = residuals.sum() / n;
    return total / n + penalty(theta);
  }

  // [[X' S X / n + l2 I, X' s / n], [s' X / n, sum(s) / n]] with s_i = p_i (1 - p_i).
  Eigen::MatrixXd hessian(const Eigen::VectorXd& theta) const {
    const Eigen::VectorXd logits = logits_of(theta);
    Eigen::VectorXd weights(logits.size());
    for (Eigen::Index i = 0; i < logits.size(); ++i) {
      const double p = sigmoid(logits(i));
      weights(i) = p * (1 - p);
    }
    const double n = static_cast<double>(rows());
    const Eigen::Index d = features_.cols();
    // X' S X as (sqrt(S) X)' (sqrt(S) X): a symmetric rank update does half the work of a general product.
    const Eigen::MatrixXd scaled = weights.cwiseSqrt().asDiagonal() * features_;
    Eigen::MatrixXd result = Eigen::MatrixXd::Zero(d + 1, d + 1);
    result.topLeftCorner(d, d).selfadjointView<Eigen::Lower>().rankUpdate(scaled.transpose(), 1 / n);
    result.topLeftCorner(d, d).diagonal().array() += l2_;
    result.col(d).head(d).noalias() = features_.transpose() * weights / n;
    result(d, d) = weights.sum() / n;
    // LDLT reads the lower triangle only; fill it where the rank update did not.
    result.row(d).head(d) = result.col(d).head(d).transpose();
    return result;
  }

 private:
  Eigen::Index rows() const { return features_.rows(); }
  Eigen::VectorXd logits_of(const Eigen::VectorXd& theta) const {
    Eigen::VectorXd logits = features_ * theta.head(features_.cols());
    logits.array() += theta(features_.cols());
    return logits;
  }
  double penalty(const Eigen::VectorXd& theta) const { return l2_ / 2 * theta.head(features_.cols()).squaredNorm(); }

  ConstMatrixRef features_;
  Eigen::VectorXd targets_;
  double l2_;
};

struct NewtonResult {
  int iterations = 0;
  bool converged = false;
  double value = 0;
};

NewtonResult minimize_newton(const LogisticObjective& objective, Eigen::VectorXd& theta, const LogisticOptions& options) {
  constexpr double kArmijo = 1e-4;
  constexpr int kMaxHalvings = 60;
  NewtonResult result;
  Eigen::VectorXd gradient;
  while (true) {
    result.value = objective.value_and_gradient(theta, gradient);
    result.converged = gradient.lpNorm<Eigen::Infinity>() <= options.tolerance;
    if (result.converged || result.iterations >= options.max_iterations) break;

    Eigen::MatrixXd hessian = objective.hessian(theta);
    // A relative ridge far below any real curvature keeps directions the data cannot see (a constant feature
    // alongside the bias with l2 = 0, saturated rows) from turning rounding noise into huge steps. It does not
    // move the minimiser: the step is still zero exactly where the gradient is.
    hessian.diagonal().array() += 1e-12 * (1 + hessian.diagonal().maxCoeff());
    Eigen::VectorXd direction = -Eigen::LDLT<Eigen::MatrixXd>(hessian).solve(gradient);
    double slope = gradient.dot(direction);
    if (!direction.allFinite() || !(slope < 0)) {
      direction = -gradient;
      slope = -gradient.squaredNorm();
    }
    double step = 1;
    bool decreased = false;
    Eigen::VectorXd trial, trial_gradient;
    for (int halving = 0; halving < kMaxHalvings; ++halving, step /= 2) {
      trial = theta + step * direction;
      const double trial_value = objective.value_and_gradient(trial, trial_gradient);
      if (acceptable_step(result.value, trial_value, kArmijo * step * slope, gradient, trial_gradient)) {
        decreased = true;
        break;
      }
    }
    // No decrease, or a step too small to move theta: floating-point precision is exhausted.
    if (!decreased || trial == theta) break;
    theta.swap(trial);
    ++result.iterations;
  }
  return result;
}

void check_options(const LogisticOptions& options) {
  if (!(options.l2 >= 0) || !std::isfinite(options.l2))
    throw ArgumentError(fmt::format("fit_logistic: l2 must be finite and >= 0, got {}", options.l2));
  if (options.max_iterations < 1)
    throw ArgumentError(fmt::format("fit_logistic: max_iterations must be >= 1, got {}", options.max_iterations));
  if (!(options.tolerance > 0))
    throw ArgumentError(fmt::format("fit_logistic: tolerance must be > 0, got {}", options.tolerance));
  if (options.newton_max_dimension < 0)
    throw ArgumentError(fmt::format("fit_logistic: newton_max_dimension must be >= 0, got {}",
                                    options.newton_max_dimension));
}

struct Standardization {
  Eigen::VectorXd means;
  Eigen::VectorXd scales;          // 1 for constant features
  std::vector<bool> constant;
};

Standardization standardization_of(ConstMatrixRef features) {
  Standardization result;
  result.means = features.colwise().mean().transpose();
  result.scales.resize(features.cols());
  result.constant.resize(static_cast<std::size_t>(features.cols()));
  for (Eigen::Index j = 0; j < features.cols(); ++j) {
    const double deviation =
        std::sqrt((features.col(j).array() - result.means(j)).square().mean());
    // A constant column's computed deviation is rounding noise of its mean, not zero: scaling by it would turn
    // the constant into random +-1 values.
    const bool constant = deviation <= 1e-10 * std::abs(result.means(j));
    result.constant[static_cast<std::size_t>(j)] = constant;
    result.scales(j) = constant ? 1 : deviation;
  }
  return result;
}

Eigen::MatrixXd standardized(ConstMatrixRef features, const Standardization& standardization) {
  Eigen::MatrixXd result = (features.rowwise() - standardization.means.transpose()).array().rowwise() /
                           standardization.scales.transpose().array();
  for (Eigen::Index j = 0; j < features.cols(); ++j)
    if (standardization.constant[static_cast<std::size_t>(j)]) result.col(j).setZero();
  return result;
}

}  // namespace

LogisticModel fit_logistic(ConstMatrixRef features, ConstLabelsRef labels, const LogisticOptions& options) {
  check_options(options);
  if (features.rows() == 0) throw ArgumentError("fit_logistic: features have no rows");
  if (features.cols() == 0) throw ArgumentError("fit_logistic: features have no columns");
  check_binary_labels(labels, features.rows(), "fit_logistic");
  check_finite(features, "fit_logistic", "features");

  std::optional<Standardization> standardization;
  Eigen::MatrixXd standardized_features;
  if (options.standardize) {
    standardization = standardization_of(features);
    standardized_features = standardized(features, *standardization);
  }
  const ConstMatrixRef design = options.standardize ? ConstMatrixRef(standardized_features) : features;
  const Eigen::VectorXd targets = labels.cast<double>();
  const LogisticObjective objective(design, targets, options.l2);

  const Eigen::Index d = features.cols();
  Eigen::VectorXd theta = Eigen::VectorXd::Zero(d + 1);
  const double positive_share = targets.mean();
  theta(d) = std::log(positive_share / (1 - positive_share));  // the optimum without features: a good start

  LogisticModel model;
  if (d <= options.newton_max_dimension) {
    const NewtonResult result = minimize_newton(objective, theta, options);
    model.solver = LogisticSolver::kNewton;
    model.iterations = result.iterations;
    model.converged = result.converged;
    model.loss = result.value;
  } else {
    LbfgsOptions lbfgs;
    lbfgs.max_iterations = options.max_iterations;
    lbfgs.gradient_tolerance = options.tolerance;
    const LbfgsResult result = minimize_lbfgs(
        [&objective](const Eigen::VectorXd& x, Eigen::VectorXd& gradient) {
          return objective.value_and_gradient(x, gradient);
        },
        theta, lbfgs);
    model.solver = LogisticSolver::kLbfgs;
    model.iterations = result.iterations;
    model.converged = result.converged;
    model.loss = result.value;
  }

  model.weights = theta.head(d);
  model.bias = theta(d);
  if (standardization) {
    // w . (x - mean) / scale + b = (w / scale) . x + (b - (w / scale) . mean)
    model.weights.array() /= standardization->scales.array();
    model.bias -= model.weights.dot(standardization->means);
  }
  return model;
}

Eigen::VectorXd predict_logit(const LogisticModel& model, ConstMatrixRef features) {
  if (features.cols() != model.weights.size())
    throw ArgumentError(fmt::format("predict_logit: features have {} columns but the model has {} weights",
                                    features.cols(), model.weights.size()));
  Eigen::VectorXd logits = features * model.weights;
  logits.array() += model.bias;
  return logits;
}

Eigen::VectorXd predict_probability(const LogisticModel& model, ConstMatrixRef features) {
  return predict_logit(model, features).unaryExpr([](double z) { return sigmoid(z); });
}

}  // namespace moulin::probes
