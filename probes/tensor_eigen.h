#pragma once
// Activations between LibTorch and the Eigen probes: [n, d] tensors of any floating dtype and device become
// n x d double matrices (one copy, on the CPU), and fitted directions go back as tensors for hooks
// (hooks/interventions.h: steering, project_out).
#include <ATen/ATen.h>
#include <Eigen/Core>

#include "probes/feature_matrix.h"

namespace moulin::probes {

// [n, d] -> n x d. Throws ArgumentError for another rank or a non-floating dtype.
Eigen::MatrixXd tensor_to_matrix(const at::Tensor& features);
// [n] -> n.
Eigen::VectorXd tensor_to_vector(const at::Tensor& values);
// -> [rows, cols] / [size] on the CPU in `dtype` (a floating dtype).
at::Tensor matrix_to_tensor(ConstMatrixRef matrix, at::ScalarType dtype = at::kFloat);
at::Tensor vector_to_tensor(ConstVectorRef vector, at::ScalarType dtype = at::kFloat);

}  // namespace moulin::probes
