#pragma once
// Means over prompts with their 95% confidence intervals: a scan scores each candidate on a few dozen prompts,
// and its ranking is only as good as the spread of those scores.
#include <cstdint>

#include <ATen/ATen.h>

namespace moulin::triggers {

// The 0.975 quantile of Student's t distribution: exact for 1 and 2 degrees of freedom, Abramowitz and Stegun
// 26.7.5 beyond (within 0.003 from 3 on). Throws ArgumentError below 1 degree of freedom.
double student_t_975(std::int64_t degrees_of_freedom);

struct MeanIntervals {
  at::Tensor mean;   // the sample mean along the reduced dimension
  at::Tensor lower;  // mean -/+ t(0.975, n - 1) * standard error; NaN with fewer than 2 samples
  at::Tensor upper;
};

// The mean of `samples` along `dim` with its 95% Student-t interval, in float64.
MeanIntervals mean_intervals(const at::Tensor& samples, std::int64_t dim);

}  // namespace moulin::triggers
