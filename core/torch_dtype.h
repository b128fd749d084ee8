#pragma once
// Bridges between moulin's torch-free DType and LibTorch.
#include <string_view>

#include <ATen/ATen.h>

#include "core/dtype.h"

namespace moulin {

// Throws UnsupportedError for dtypes torch has no type for (unsigned wider than 8 bits, fp8 before torch 2.1).
at::ScalarType to_scalar_type(DType dtype);
// float32 / bfloat16 / float16 only: the dtypes a model runs in.
at::ScalarType parse_model_scalar_type(std::string_view text);
std::string_view scalar_type_name(at::ScalarType type);

}  // namespace moulin
