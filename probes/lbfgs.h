#pragma once
// Limited-memory BFGS for smooth convex objectives (the logistic probe when d is too large for Newton). Memory is
// O(history x d) and an iteration costs one or a few objective evaluations. Torch-free.
#include <functional>

#include <Eigen/Core>

namespace moulin::probes {

struct LbfgsOptions {
  int max_iterations = 500;
  double gradient_tolerance = 1e-6;  // converged once |gradient|_inf <= this
  int history = 10;                  // curvature pairs kept
};

struct LbfgsResult {
  int iterations = 0;
  bool converged = false;
  double value = 0;  // objective at the returned point
};

// f(x) returning the value and writing the gradient into its second argument (already sized like x).
using Objective = std::function<double(const Eigen::VectorXd& x, Eigen::VectorXd& gradient)>;

// Minimises `objective` from `x`, leaving the best point found in `x`. Stops when the gradient tolerance is met,
// after max_iterations, or when a backtracking (Armijo) line search can no longer decrease the value, which
// happens at the limit of floating-point precision (then `converged` says whether the tolerance was met).
LbfgsResult minimize_lbfgs(const Objective& objective, Eigen::VectorXd& x, const LbfgsOptions& options = {});

// The line searches' acceptance test: Armijo's sufficient decrease (trial_value <= value + required_decrease,
// required_decrease < 0), or, once the decrease is below the rounding of the value, a smaller gradient.
bool acceptable_step(double value, double trial_value, double required_decrease, const Eigen::VectorXd& gradient,
                     const Eigen::VectorXd& trial_gradient);

}  // namespace moulin::probes
