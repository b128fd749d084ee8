#include "probes/tensor_eigen.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"

namespace moulin::probes {
namespace {

using RowMajorMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

at::Tensor cpu_doubles(const at::Tensor& tensor, std::int64_t rank, const char* function, const char* expected) {
  if (!tensor.defined()) throw ArgumentError(fmt::format("{}: the tensor is undefined", function));
  if (tensor.dim() != rank)
    throw ArgumentError(fmt::format("{}: expected {}, got [{}]", function, expected, fmt::join(tensor.sizes(), ", ")));
  if (!at::isFloatingType(tensor.scalar_type()))
    throw ArgumentError(fmt::format("{}: expected a floating dtype, got {}", function,
                                    c10::toString(tensor.scalar_type())));
  return tensor.detach().to(at::kCPU, at::kDouble).contiguous();
}

void check_floating(at::ScalarType dtype, const char* function) {
  if (!at::isFloatingType(dtype))
    throw ArgumentError(fmt::format("{}: dtype must be a floating type, got {}", function, c10::toString(dtype)));
}

}  // namespace

Eigen::MatrixXd tensor_to_matrix(const at::Tensor& features) {
  const at::Tensor values = cpu_doubles(features, 2, "tensor_to_matrix", "[rows, features]");
  return Eigen::Map<const RowMajorMatrix>(values.data_ptr<double>(), values.size(0), values.size(1));
}

Eigen::VectorXd tensor_to_vector(const at::Tensor& values) {
  const at::Tensor doubles = cpu_doubles(values, 1, "tensor_to_vector", "[size]");
  return Eigen::Map<const Eigen::VectorXd>(doubles.data_ptr<double>(), doubles.size(0));
}

at::Tensor matrix_to_tensor(ConstMatrixRef matrix, at::ScalarType dtype) {
  check_floating(dtype, "matrix_to_tensor");
  at::Tensor result = at::empty({matrix.rows(), matrix.cols()}, at::kDouble);
  Eigen::Map<RowMajorMatrix>(result.data_ptr<double>(), matrix.rows(), matrix.cols()) = matrix;
  return result.to(dtype);
}

at::Tensor vector_to_tensor(ConstVectorRef vector, at::ScalarType dtype) {
  check_floating(dtype, "vector_to_tensor");
  at::Tensor result = at::empty({vector.size()}, at::kDouble);
  Eigen::Map<Eigen::VectorXd>(result.data_ptr<double>(), vector.size()) = vector;
  return result.to(dtype);
}

}  // namespace moulin::probes
