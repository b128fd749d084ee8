#include "core/dtype.h"

#include <array>
#include <utility>

#include <fmt/format.h>

#include "core/error.h"

namespace moulin {
namespace {

struct DTypeRow {
  DType dtype;
  std::string_view safetensors_name;
  std::size_t size;
};

// The safetensors format's dtype names (safetensors/src/tensor.rs `Dtype`), spelled once here.
constexpr std::array<DTypeRow, 15> kDTypes{{
    {DType::kBool, "BOOL", 1},   {DType::kU8, "U8", 1},     {DType::kI8, "I8", 1},
    {DType::kI16, "I16", 2},     {DType::kU16, "U16", 2},   {DType::kF16, "F16", 2},
    {DType::kBF16, "BF16", 2},   {DType::kI32, "I32", 4},   {DType::kU32, "U32", 4},
    {DType::kF32, "F32", 4},     {DType::kF64, "F64", 8},   {DType::kI64, "I64", 8},
    {DType::kU64, "U64", 8},     {DType::kF8E4M3, "F8_E4M3", 1}, {DType::kF8E5M2, "F8_E5M2", 1},
}};

const DTypeRow& row_of(DType dtype) {
  for (const auto& row : kDTypes)
    if (row.dtype == dtype) return row;
  throw UnsupportedError("internal: dtype missing from the dtype table");
}

}  // namespace

std::size_t dtype_size(DType dtype) { return row_of(dtype).size; }

std::string_view dtype_safetensors_name(DType dtype) { return row_of(dtype).safetensors_name; }

std::optional<DType> dtype_from_safetensors_name(std::string_view name) {
  for (const auto& row : kDTypes)
    if (row.safetensors_name == name) return row.dtype;
  return std::nullopt;
}

DType parse_model_dtype(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, DType>, 10> kSpellings{{
      {"float32", DType::kF32}, {"fp32", DType::kF32}, {"f32", DType::kF32}, {"float", DType::kF32},
      {"bfloat16", DType::kBF16}, {"bf16", DType::kBF16},
      {"float16", DType::kF16}, {"fp16", DType::kF16}, {"f16", DType::kF16}, {"half", DType::kF16},
  }};
  for (const auto& [spelling, dtype] : kSpellings)
    if (spelling == text) return dtype;
  throw UnsupportedError(fmt::format("unsupported model dtype '{}': use float32, bfloat16 or float16", text));
}

std::string_view model_dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kF32: return "float32";
    case DType::kBF16: return "bfloat16";
    case DType::kF16: return "float16";
    default: return dtype_safetensors_name(dtype);
  }
}

}  // namespace moulin
