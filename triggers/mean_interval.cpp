#include "triggers/mean_interval.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "core/error.h"

namespace moulin::triggers {

double student_t_975(std::int64_t degrees_of_freedom) {
  if (degrees_of_freedom < 1)
    throw ArgumentError(fmt::format("Student's t needs at least 1 degree of freedom, got {}", degrees_of_freedom));
  if (degrees_of_freedom == 1) return 12.706204736174698;  // tan(0.475 pi)
  if (degrees_of_freedom == 2) return 4.302652729749464;   // 0.95 / sqrt(2 * 0.975 * 0.025)
  const double z = 1.959963984540054, n = static_cast<double>(degrees_of_freedom);
  const double z2 = z * z, z3 = z2 * z, z5 = z3 * z2, z7 = z5 * z2, z9 = z7 * z2;
  return z + (z3 + z) / (4 * n) + (5 * z5 + 16 * z3 + 3 * z) / (96 * n * n) +
         (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * n * n * n) +
         (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / (92160 * n * n * n * n);
}

MeanIntervals mean_intervals(const at::Tensor& samples, std::int64_t dim) {
  const at::Tensor values = samples.to(at::kDouble);
  const std::int64_t n = values.size(dim);
  const at::Tensor mean = values.mean(dim);
  if (n < 2) {
    const at::Tensor unknown = at::full_like(mean, std::numeric_limits<double>::quiet_NaN());
    return {mean, unknown, unknown.clone()};
  }
  const at::Tensor half_width = values.std(dim, /*unbiased=*/true) * (student_t_975(n - 1) / std::sqrt(static_cast<double>(n)));
  return {mean, mean - half_width, mean + half_width};
}

}  // namespace moulin::triggers
