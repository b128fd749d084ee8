#include "core/weights.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "core/torch_dtype.h"

namespace moulin {
namespace {

std::string layer_name(std::int64_t layer, const char* suffix) { return fmt::format("model.layers.{}.{}", layer, suffix); }

// Older checkpoints carry the RoPE buffer; transformers ignores it on load and so does moulin.
bool is_ignored_tensor(const std::string& name) { return name.find("rotary_emb.inv_freq") != std::string::npos; }

// Copy granularity: bounds the bytes held twice (mapped source and destination) while loading.
constexpr std::uint64_t kChunkBytes = 32ull << 20;

class WeightLoader {
 public:
  WeightLoader(const Checkpoint& checkpoint, const LoadOptions& options)
      : checkpoint_(checkpoint), options_(at::TensorOptions().dtype(options.dtype).device(options.device)) {}

  // A new tensor holding checkpoint tensor `name`, which must have `shape`.
  at::Tensor load(const std::string& name, at::IntArrayRef shape) {
    at::Tensor destination = at::empty(shape, options_);
    fill(destination, name);
    return destination;
  }

  // Copies checkpoint tensor `name` into `destination` (a row block of a fused tensor), checking its shape.
  void fill(at::Tensor destination, const std::string& name) {
    const auto& location = checkpoint_.at(name);
    const auto& info = *location.info;
    const auto source_label = fmt::format("{}: tensor '{}'", location.file->path().string(), name);
    if (!std::equal(info.shape.begin(), info.shape.end(), destination.sizes().begin(), destination.sizes().end()))
      throw FormatError(fmt::format("{} has shape [{}] but the config implies [{}]", source_label,
                                    fmt::join(info.shape, ", "), fmt::join(destination.sizes(), ", ")));
    if (info.dtype != DType::kF32 && info.dtype != DType::kF16 && info.dtype != DType::kBF16 && info.dtype != DType::kF64)
      throw FormatError(fmt::format("{} has dtype {}; model weights must be F32, F16, BF16 or F64", source_label,
                                    dtype_safetensors_name(info.dtype)));
    const auto* bytes = location.file->data(info);
    const auto source_type = to_scalar_type(info.dtype);
    at::Tensor aligned_copy;
    // safetensors does not promise element alignment; torch kernels assume it, so misaligned data is copied once.
    if (reinterpret_cast<std::uintptr_t>(bytes) % dtype_size(info.dtype) != 0) {
      aligned_copy = at::empty(info.shape, at::TensorOptions().dtype(source_type));
      std::memcpy(aligned_copy.data_ptr(), bytes, info.byte_size());
      bytes = static_cast<const std::byte*>(aligned_copy.data_ptr());
    }
    // A read-only view of the mapping; copy_ converts dtype and device in one pass into the destination. Rows
    // go in chunks whose mapped pages are dropped right after, so at most one chunk is resident twice.
    const at::Tensor view = at::from_blob(const_cast<std::byte*>(bytes), info.shape, at::TensorOptions().dtype(source_type));
    if (info.shape.empty() || info.shape[0] == 0) {
      destination.copy_(view);
    } else {
      const std::int64_t rows = info.shape[0];
      const std::uint64_t row_bytes = info.byte_size() / static_cast<std::uint64_t>(rows);
      const std::int64_t chunk_rows = std::max<std::int64_t>(1, static_cast<std::int64_t>(kChunkBytes / std::max<std::uint64_t>(row_bytes, 1)));
      for (std::int64_t row = 0; row < rows; row += chunk_rows) {
        const std::int64_t count = std::min(chunk_rows, rows - row);
        const std::uint64_t offset = static_cast<std::uint64_t>(row) * row_bytes;
        const std::uint64_t length = static_cast<std::uint64_t>(count) * row_bytes;
        location.file->will_read(info, offset, length);
        destination.narrow(0, row, count).copy_(view.narrow(0, row, count));
        location.file->release(info, offset, length);
      }
    }
    used_.insert(name);
  }

  bool has(const std::string& name) const { return checkpoint_.find(name) != nullptr; }
  void mark_used(const std::string& name) { used_.insert(name); }

  void check_nothing_left() const {
    for (const auto& name : checkpoint_.tensor_names()) {
      if (used_.count(name) || is_ignored_tensor(name)) continue;
      const auto& location = checkpoint_.at(name);
      throw FormatError(fmt::format("{}: unexpected tensor '{}' (not part of a LlamaForCausalLM with this config)",
                                    location.file->path().string(), name));
    }
  }

 private:
  const Checkpoint& checkpoint_;
  at::TensorOptions options_;
  std::set<std::string> used_;
};

// Loads the row blocks `names` (each `rows[i]` rows of `columns`) into one fused [sum(rows), columns] tensor.
at::Tensor load_fused(WeightLoader& loader, const std::vector<std::string>& names, const std::vector<std::int64_t>& rows,
                      std::int64_t columns, const at::TensorOptions& options) {
  std::int64_t total = 0;
  for (const auto count : rows) total += count;
  at::Tensor fused = columns > 0 ? at::empty({total, columns}, options) : at::empty({total}, options);
  std::int64_t offset = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    loader.fill(fused.narrow(0, offset, rows[i]), names[i]);
    offset += rows[i];
  }
  return fused;
}

}  // namespace

std::int64_t ModelWeights::byte_size() const {
  std::set<const void*> seen;
  std::int64_t total = 0;
  const auto add = [&](const at::Tensor& tensor) {
    if (tensor.defined() && seen.insert(tensor.storage().data()).second)
      total += static_cast<std::int64_t>(tensor.storage().nbytes());
  };
  add(embed_tokens);
  add(final_norm);
  add(lm_head);
  for (const auto& layer : layers)
    for (const auto* tensor : {&layer.input_norm, &layer.qkv_proj, &layer.qkv_bias, &layer.o_proj, &layer.o_bias,
                               &layer.post_attention_norm, &layer.gate_up_proj, &layer.gate_up_bias, &layer.down_proj,
                               &layer.down_bias})
      add(*tensor);
  return total;
}

std::vector<ExpectedTensor> expected_tensors(const LlamaConfig& c) {
  std::vector<ExpectedTensor> tensors{{"model.embed_tokens.weight", {c.vocab_size, c.hidden_size}}};
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const auto add = [&](const char* suffix, std::vector<std::int64_t> shape) {
      tensors.push_back({layer_name(l, suffix), std::move(shape)});
    };
    add("input_layernorm.weight", {c.hidden_size});
    add("self_attn.q_proj.weight", {c.q_size(), c.hidden_size});
    add("self_attn.k_proj.weight", {c.kv_size(), c.hidden_size});
    add("self_attn.v_proj.weight", {c.kv_size(), c.hidden_size});
    add("self_attn.o_proj.weight", {c.hidden_size, c.q_size()});
    if (c.attention_bias) {
      add("self_attn.q_proj.bias", {c.q_size()});
      add("self_attn.k_proj.bias", {c.kv_size()});
      add("self_attn.v_proj.bias", {c.kv_size()});
      add("self_attn.o_proj.bias", {c.hidden_size});
    }
    add("post_attention_layernorm.weight", {c.hidden_size});
    add("mlp.gate_proj.weight", {c.intermediate_size, c.hidden_size});
    add("mlp.up_proj.weight", {c.intermediate_size, c.hidden_size});
    add("mlp.down_proj.weight", {c.hidden_size, c.intermediate_size});
    if (c.mlp_bias) {
      add("mlp.gate_proj.bias", {c.intermediate_size});
      add("mlp.up_proj.bias", {c.intermediate_size});
      add("mlp.down_proj.bias", {c.hidden_size});
    }
  }
  tensors.push_back({"model.norm.weight", {c.hidden_size}});
  if (!c.tie_word_embeddings) tensors.push_back({"lm_head.weight", {c.vocab_size, c.hidden_size}});
  return tensors;
}

void check_dtype_supported(at::ScalarType dtype, c10::Device device) {
  if (dtype != at::kFloat && dtype != at::kBFloat16 && dtype != at::kHalf)
    throw UnsupportedError(fmt::format("model dtype {} is not supported: use float32, bfloat16 or float16",
                                       c10::toString(dtype)));
  // Older LibTorch builds lack float16 matmul on CPU (LibTorch 1.13 among them); probe instead of guessing from
  // version numbers, and refuse before a long load rather than fail at the first forward.
  try {
    const auto options = at::TensorOptions().dtype(dtype).device(device);
    at::mm(at::ones({2, 2}, options), at::ones({2, 2}, options));
  } catch (const c10::Error&) {
    throw UnsupportedError(fmt::format("this LibTorch build cannot run {} matrix products on {}: use {} there",
                                       c10::toString(dtype), device.str(),
                                       device.is_cpu() ? "bfloat16 or float32 (or a LibTorch >= 2.1)" : "another dtype"));
  }
}

ModelWeights load_weights(const Checkpoint& checkpoint, const LlamaConfig& c, const LoadOptions& options) {
  check_dtype_supported(options.dtype, options.device);
  const auto tensor_options = at::TensorOptions().dtype(options.dtype).device(options.device);
  WeightLoader loader(checkpoint, options);
  ModelWeights weights;
  weights.embed_tokens = loader.load("model.embed_tokens.weight", {c.vocab_size, c.hidden_size});
  weights.layers.reserve(static_cast<std::size_t>(c.num_hidden_layers));
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const auto name = [&](const char* suffix) { return layer_name(l, suffix); };
    LayerWeights layer;
    layer.input_norm = loader.load(name("input_layernorm.weight"), {c.hidden_size});
    layer.qkv_proj = load_fused(loader,
                                {name("self_attn.q_proj.weight"), name("self_attn.k_proj.weight"),
                                 name("self_attn.v_proj.weight")},
                                {c.q_size(), c.kv_size(), c.kv_size()}, c.hidden_size, tensor_options);
    layer.o_proj = loader.load(name("self_attn.o_proj.weight"), {c.hidden_size, c.q_size()});
    if (c.attention_bias) {
      layer.qkv_bias = load_fused(loader,
                                  {name("self_attn.q_proj.bias"), name("self_attn.k_proj.bias"),
                                   name("self_attn.v_proj.bias")},
                                  {c.q_size(), c.kv_size(), c.kv_size()}, 0, tensor_options);
      layer.o_bias = loader.load(name("self_attn.o_proj.bias"), {c.hidden_size});
    }
    layer.post_attention_norm = loader.load(name("post_attention_layernorm.weight"), {c.hidden_size});
    layer.gate_up_proj = load_fused(loader, {name("mlp.gate_proj.weight"), name("mlp.up_proj.weight")},
                                    {c.intermediate_size, c.intermediate_size}, c.hidden_size, tensor_options);
    layer.down_proj = loader.load(name("mlp.down_proj.weight"), {c.hidden_size, c.intermediate_size});
    if (c.mlp_bias) {
      layer.gate_up_bias = load_fused(loader, {name("mlp.gate_proj.bias"), name("mlp.up_proj.bias")},
                                      {c.intermediate_size, c.intermediate_size}, 0, tensor_options);
      layer.down_bias = loader.load(name("mlp.down_proj.bias"), {c.hidden_size});
    }
    weights.layers.push_back(std::move(layer));
  }
  weights.final_norm = loader.load("model.norm.weight", {c.hidden_size});
  if (c.tie_word_embeddings) {
    weights.lm_head = weights.embed_tokens;
    // transformers ignores a stored lm_head when the embeddings are tied; so does moulin.
    if (loader.has("lm_head.weight")) loader.mark_used("lm_head.weight");
  } else {
    weights.lm_head = loader.load("lm_head.weight", {c.vocab_size, c.hidden_size});
  }
  loader.check_nothing_left();
  return weights;
}

}  // namespace moulin
