#include "core/kv_cache.h"

#include <fmt/format.h>

#include "core/error.h"

namespace moulin {

KVCache::KVCache(const LlamaConfig& config, std::int64_t batch, std::int64_t capacity, at::ScalarType dtype,
                 c10::Device device)
    : batch_(batch), capacity_(capacity) {
  if (batch <= 0 || capacity <= 0)
    throw ArgumentError(fmt::format("KV cache needs a positive batch and capacity, got {} and {}", batch, capacity));
  const auto options = at::TensorOptions().dtype(dtype).device(device);
  for (std::int64_t l = 0; l < config.num_hidden_layers; ++l) {
    keys_.push_back(at::empty({batch, config.num_key_value_heads, capacity, config.head_dim}, options));
    values_.push_back(at::empty({batch, config.num_key_value_heads, capacity, config.head_dim}, options));
  }
  key_mask_ = at::zeros({batch, capacity}, options.dtype(at::kBool));
}

std::int64_t KVCache::byte_size() const {
  std::int64_t total = key_mask_.nbytes();
  for (std::size_t l = 0; l < keys_.size(); ++l) total += keys_[l].nbytes() + values_[l].nbytes();
  return total;
}

std::pair<at::Tensor, at::Tensor> KVCache::append(int layer, const at::Tensor& keys, const at::Tensor& values) {
  const auto tokens = keys.size(2);
  auto& layer_keys = keys_.at(static_cast<std::size_t>(layer));
  auto& layer_values = values_.at(static_cast<std::size_t>(layer));
  layer_keys.narrow(2, length_, tokens).copy_(keys);
  layer_values.narrow(2, length_, tokens).copy_(values);
  return {layer_keys.narrow(2, 0, length_ + tokens), layer_values.narrow(2, 0, length_ + tokens)};
}

at::Tensor KVCache::append_key_mask(const at::Tensor& new_mask) {
  const auto tokens = new_mask.size(1);
  if (new_mask.size(0) != batch_)
    throw ArgumentError(fmt::format("KV cache holds a batch of {}, the input has {}", batch_, new_mask.size(0)));
  if (length_ + tokens > capacity_)
    throw ArgumentError(fmt::format("KV cache full: {} cached + {} new positions exceed its capacity of {}", length_,
                                    tokens, capacity_));
  key_mask_.narrow(1, length_, tokens).copy_(new_mask);
  return key_mask_.narrow(1, 0, length_ + tokens);
}

void KVCache::advance(std::int64_t tokens) { length_ += tokens; }

KVCache KVCache::repeat_sequence(std::int64_t row, std::int64_t batch, std::int64_t capacity) const {
  if (row < 0 || row >= batch_)
    throw ArgumentError(fmt::format("KV cache holds a batch of {}, it has no sequence {} to repeat", batch_, row));
  if (batch <= 0 || capacity < length_)
    throw ArgumentError(fmt::format("a repeated KV cache needs a positive batch and a capacity of at least the {} "
                                    "cached positions, got {} and {}", length_, batch, capacity));
  // `batch` copies of sequence `row` over the cached positions (dimension `position_dim`); the rest stays
  // unwritten, except the key mask, whose unused positions must read as padding.
  const auto repeat = [&](const at::Tensor& source, int position_dim, bool zero_rest) {
    auto sizes = source.sizes().vec();
    sizes[0] = batch;
    sizes[static_cast<std::size_t>(position_dim)] = capacity;
    at::Tensor copy = zero_rest ? at::zeros(sizes, source.options()) : at::empty(sizes, source.options());
    copy.narrow(position_dim, 0, length_).copy_(source.narrow(0, row, 1).narrow(position_dim, 0, length_));
    return copy;
  };
  KVCache out = *this;  // same length; every tensor is replaced, so nothing is shared with this cache
  out.batch_ = batch;
  out.capacity_ = capacity;
  for (std::size_t l = 0; l < keys_.size(); ++l) {
    out.keys_[l] = repeat(keys_[l], 2, false);
    out.values_[l] = repeat(values_[l], 2, false);
  }
  out.key_mask_ = repeat(key_mask_, 1, true);
  return out;
}

}  // namespace moulin
