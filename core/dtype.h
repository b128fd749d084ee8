#pragma once
// Element types as they appear in checkpoints (safetensors names) and as users spell them.
// Torch-free so the file parsers build and fuzz on their own; core/torch_dtype.h maps to at::ScalarType.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace moulin {

enum class DType { kBool, kU8, kI8, kI16, kU16, kF16, kBF16, kI32, kU32, kF32, kF64, kI64, kU64, kF8E4M3, kF8E5M2 };

std::size_t dtype_size(DType dtype);
std::string_view dtype_safetensors_name(DType dtype);
std::optional<DType> dtype_from_safetensors_name(std::string_view name);

// The floating types a model can run in, parsed from what users type: "float32"/"fp32"/"f32",
// "bfloat16"/"bf16", "float16"/"fp16"/"half". Anything else throws UnsupportedError listing these.
DType parse_model_dtype(std::string_view text);
// Canonical user-facing name: "float32", "bfloat16", "float16".
std::string_view model_dtype_name(DType dtype);

}  // namespace moulin
