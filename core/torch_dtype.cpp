#include "core/torch_dtype.h"

#include <fmt/format.h>

#include "core/error.h"

namespace moulin {

at::ScalarType to_scalar_type(DType dtype) {
  switch (dtype) {
    case DType::kBool: return at::kBool;
    case DType::kU8: return at::kByte;
    case DType::kI8: return at::kChar;
    case DType::kI16: return at::kShort;
    case DType::kF16: return at::kHalf;
    case DType::kBF16: return at::kBFloat16;
    case DType::kI32: return at::kInt;
    case DType::kF32: return at::kFloat;
    case DType::kF64: return at::kDouble;
    case DType::kI64: return at::kLong;
    default:
      throw UnsupportedError(fmt::format("tensors of dtype {} cannot be loaded by this LibTorch",
                                         dtype_safetensors_name(dtype)));
  }
}

at::ScalarType parse_model_scalar_type(std::string_view text) { return to_scalar_type(parse_model_dtype(text)); }

std::string_view scalar_type_name(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return "float32";
    case at::kBFloat16: return "bfloat16";
    case at::kHalf: return "float16";
    case at::kDouble: return "float64";
    default: return c10::toString(type);
  }
}

}  // namespace moulin
