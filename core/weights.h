#pragma once
// Model weights as plain tensors, loaded once from a checkpoint and only read afterwards.
// q/k/v and gate/up rows are stored fused so each block runs two input matmuls instead of five; the
// per-checkpoint-name views (q_proj(), ...) alias the fused storage.
#include <vector>

#include <ATen/ATen.h>

#include "core/checkpoint.h"
#include "core/config.h"

namespace moulin {

struct LayerWeights {
  at::Tensor input_norm;           // [d_model]
  at::Tensor qkv_proj;             // [q_size + 2 kv_size, d_model]: rows of q_proj, then k_proj, then v_proj
  at::Tensor qkv_bias;             // [q_size + 2 kv_size], undefined without attention_bias
  at::Tensor o_proj;               // [d_model, q_size]
  at::Tensor o_bias;               // [d_model], undefined without attention_bias
  at::Tensor post_attention_norm;  // [d_model]
  at::Tensor gate_up_proj;         // [2 d_mlp, d_model]: rows of gate_proj, then up_proj
  at::Tensor gate_up_bias;         // [2 d_mlp], undefined without mlp_bias
  at::Tensor down_proj;            // [d_model, d_mlp]
  at::Tensor down_bias;            // [d_model], undefined without mlp_bias
};

struct ModelWeights {
  at::Tensor embed_tokens;          // [vocab, d_model]
  std::vector<LayerWeights> layers;  // num_hidden_layers entries
  at::Tensor final_norm;            // [d_model]
  at::Tensor lm_head;               // [vocab, d_model]; the same tensor as embed_tokens when tied

  std::int64_t byte_size() const;  // distinct storage only (tied weights counted once)
};

struct LoadOptions {
  at::ScalarType dtype = at::kFloat;
  c10::Device device = c10::Device(c10::kCPU);
};

// Copies every tensor once from the memory-mapped checkpoint into its final place (converting dtype on the way
// when the stored dtype differs) and drops the mapped pages behind it, so peak memory stays near the model size.
// Throws FormatError naming the file and tensor for missing or unexpected tensors, non-float dtypes and shapes
// that disagree with the config.
ModelWeights load_weights(const Checkpoint& checkpoint, const LlamaConfig& config, const LoadOptions& options);

// Throws UnsupportedError when this LibTorch cannot run `dtype` on `device` (float16 on CPU before 2.1).
void check_dtype_supported(at::ScalarType dtype, c10::Device device);

// The checkpoint name and expected shape of every tensor a config implies, in checkpoint order.
struct ExpectedTensor {
  std::string name;
  std::vector<std::int64_t> shape;
};
std::vector<ExpectedTensor> expected_tensors(const LlamaConfig& config);

}  // namespace moulin
