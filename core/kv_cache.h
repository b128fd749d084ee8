#pragma once
// Keys and values of past positions for incremental decoding, allocated once at full capacity so decoding never
// reallocates. Each layer appends the rotated keys and values of the new positions; the forward pass then
// advances the length once. The cache also remembers which past positions were padding.
#include <utility>
#include <vector>

#include <ATen/ATen.h>

#include "core/config.h"

namespace moulin {

class KVCache {
 public:
  KVCache(const LlamaConfig& config, std::int64_t batch, std::int64_t capacity, at::ScalarType dtype, c10::Device device);

  std::int64_t batch() const { return batch_; }
  std::int64_t capacity() const { return capacity_; }
  std::int64_t length() const { return length_; }
  std::int64_t byte_size() const;

  // Stores keys/values [batch, kv_heads, pos, head_dim] at [length, length + pos) of `layer` and returns views of
  // all keys and values [batch, kv_heads, length + pos, head_dim]. Throws ArgumentError past capacity.
  std::pair<at::Tensor, at::Tensor> append(int layer, const at::Tensor& keys, const at::Tensor& values);
  // Records which of the `pos` new positions are real tokens (bool [batch, pos]) and returns the key mask over
  // [0, length + pos).
  at::Tensor append_key_mask(const at::Tensor& new_mask);
  // Commits `tokens` new positions once every layer has appended them.
  void advance(std::int64_t tokens);
  // Forgets everything (keeps the memory).
  void reset() { length_ = 0; }
  // A new cache of `batch` sequences and `capacity` positions holding `batch` copies of sequence `row` of this
  // one (keys, values and padding): a prompt prefix computed once then continues as many sequences, e.g. every
  // candidate trigger of a scan. Throws ArgumentError for a row outside the batch or a capacity below length().
  KVCache repeat_sequence(std::int64_t row, std::int64_t batch, std::int64_t capacity) const;

 private:
  std::int64_t batch_;
  std::int64_t capacity_;
  std::int64_t length_ = 0;
  std::vector<at::Tensor> keys_;    // per layer [batch, kv_heads, capacity, head_dim]
  std::vector<at::Tensor> values_;  // per layer [batch, kv_heads, capacity, head_dim]
  at::Tensor key_mask_;             // [batch, capacity] bool: true for real tokens
};

}  // namespace moulin
