#pragma once
// Rotary position embeddings exactly as transformers 4.44 computes them: inv_freq in fp32 (with linear or llama3
// rescaling), cos/sin of position x inv_freq in fp32 cast to the model dtype, rotate-half application.
#include <ATen/ATen.h>

#include "core/config.h"

namespace moulin {

// [head_dim / 2] fp32 on CPU.
at::Tensor rope_inv_freq(const LlamaConfig& config);

struct RopeTables {
  at::Tensor cos;  // [batch, pos, 1, head_dim], model dtype
  at::Tensor sin;  // [batch, pos, 1, head_dim], model dtype
};

// `position_ids` [batch, pos] int64; `inv_freq` fp32 on the model's device.
RopeTables rope_tables(const at::Tensor& inv_freq, const at::Tensor& position_ids, at::ScalarType dtype);

// x [batch, pos, heads, head_dim] -> x * cos + rotate_half(x) * sin, in x's dtype.
at::Tensor apply_rope(const at::Tensor& x, const RopeTables& tables);

}  // namespace moulin
