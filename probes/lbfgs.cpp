#include "probes/lbfgs.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <vector>

#include "core/error.h"

namespace moulin::probes {
namespace {

struct CurvaturePair {
  Eigen::VectorXd step;            // s = x_next - x
  Eigen::VectorXd gradient_change;  // y = g_next - g
  double rho;                      // 1 / (y . s)
};

// Nocedal & Wright's two-loop recursion: -H g with H the L-BFGS inverse-Hessian estimate.
Eigen::VectorXd search_direction(const Eigen::VectorXd& gradient, const std::deque<CurvaturePair>& pairs) {
  Eigen::VectorXd q = gradient;
  std::vector<double> alphas(pairs.size());
  for (std::size_t i = pairs.size(); i-- > 0;) {
    alphas[i] = pairs[i].rho * pairs[i].step.dot(q);
    q -= alphas[i] * pairs[i].gradient_change;
  }
  if (!pairs.empty()) {
    // Scaling by the latest curvature makes the first trial step of 1 well sized.
    const auto& last = pairs.back();
    q *= last.step.dot(last.gradient_change) / last.gradient_change.squaredNorm();
  }
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const double beta = pairs[i].rho * pairs[i].gradient_change.dot(q);
    q += (alphas[i] - beta) * pairs[i].step;
  }
  return -q;
}

}  // namespace

bool acceptable_step(double value, double trial_value, double required_decrease, const Eigen::VectorXd& gradient,
                     const Eigen::VectorXd& trial_gradient) {
  if (!std::isfinite(trial_value)) return false;
  if (trial_value <= value + required_decrease) return true;
  // Near the minimum the decrease a step achieves (about |gradient|^2 / curvature) falls below the rounding of
  // the value itself, and Armijo's test compares noise; the gradient is still measured accurately.
  return std::abs(trial_value - value) <= 1e-12 * (1 + std::abs(value)) &&
         trial_gradient.lpNorm<Eigen::Infinity>() < gradient.lpNorm<Eigen::Infinity>();
}

LbfgsResult minimize_lbfgs(const Objective& objective, Eigen::VectorXd& x, const LbfgsOptions& options) {
  if (options.max_iterations < 0)
    throw ArgumentError(fmt::format("L-BFGS: max_iterations must be >= 0, got {}", options.max_iterations));
  if (!(options.gradient_tolerance > 0))
    throw ArgumentError(fmt::format("L-BFGS: gradient_tolerance must be > 0, got {}", options.gradient_tolerance));
  if (options.history < 1) throw ArgumentError(fmt::format("L-BFGS: history must be >= 1, got {}", options.history));

  constexpr double kArmijo = 1e-4;
  constexpr int kMaxHalvings = 60;
  Eigen::VectorXd gradient(x.size());
  LbfgsResult result;
  result.value = objective(x, gradient);
  std::deque<CurvaturePair> pairs;
  Eigen::VectorXd trial(x.size()), trial_gradient(x.size());
  while (true) {
    result.converged = gradient.lpNorm<Eigen::Infinity>() <= options.gradient_tolerance;
    if (result.converged || result.iterations >= options.max_iterations) break;

    Eigen::VectorXd direction = search_direction(gradient, pairs);
    double slope = gradient.dot(direction);
    if (!(slope < 0)) {  // lost positive definiteness to rounding: restart from steepest descent
      pairs.clear();
      direction = -gradient;
      slope = -gradient.squaredNorm();
    }
    // Without curvature information a unit step can be wildly off scale: start at a unit-length step.
    double step = pairs.empty() ? std::min(1.0, 1.0 / direction.norm()) : 1.0;
    double trial_value = 0;
    bool decreased = false;
    for (int halving = 0; halving < kMaxHalvings; ++halving, step /= 2) {
      trial = x + step * direction;
      trial_value = objective(trial, trial_gradient);
      if (acceptable_step(result.value, trial_value, kArmijo * step * slope, gradient, trial_gradient)) {
        decreased = true;
        break;
      }
    }
    // No decrease, or a step too small to move x: floating-point precision is exhausted.
    if (!decreased || trial == x) break;
    ++result.iterations;

    CurvaturePair pair{trial - x, trial_gradient - gradient, 0};
    const double curvature = pair.step.dot(pair.gradient_change);
    // Keep only pairs that keep the estimate positive definite (always true for strictly convex objectives,
    // up to rounding).
    if (curvature > 1e-12 * pair.step.norm() * pair.gradient_change.norm()) {
      pair.rho = 1 / curvature;
      pairs.push_back(std::move(pair));
      if (static_cast<int>(pairs.size()) > options.history) pairs.pop_front();
    }
    x.swap(trial);
    gradient.swap(trial_gradient);
    result.value = trial_value;
  }
  return result;
}

}  // namespace moulin::probes
