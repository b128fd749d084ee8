#pragma once
// Activations recorded by name during forward passes, TransformerLens' ActivationCache. Caching is just an
// observing hook per selected point (add_caching_hooks), so it composes with interventions in one HookSet.
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

#include "core/llama.h"
#include "hooks/hook_set.h"

namespace moulin {

struct CacheOptions {
  NameFilter names = NameFilter::all_but_attention_matrices();
  // Keep only positions [first, last) (absolute, so it also applies across KV-cached generation steps).
  std::optional<std::pair<std::int64_t, std::int64_t>> positions;
  std::optional<at::ScalarType> dtype;  // default: the activation's own dtype
  std::optional<c10::Device> device;    // default: where the model runs
};

class ActivationCache {
 public:
  // The activation at `name`, whole (chunks from successive forward passes joined along positions; attention
  // matrices of earlier, shorter steps are padded with zero keys). Throws ArgumentError listing what is cached.
  at::Tensor at(const std::string& name) const;
  at::Tensor operator[](const std::string& name) const { return at(name); }
  bool contains(const std::string& name) const { return chunks_.count(name) > 0; }
  std::vector<std::string> names() const;
  std::size_t size() const { return chunks_.size(); }
  std::int64_t byte_size() const;
  void clear() { chunks_.clear(); }

  // Appends one forward pass's activation (positions along `position_dim`).
  void append(const std::string& name, HookPoint point, at::Tensor activation);

 private:
  struct Chunks {
    HookPoint point;
    std::vector<at::Tensor> parts;
  };
  std::map<std::string, Chunks> chunks_;
};

// Adds observing hooks that record the selected points into `cache`; returns their handle in `hooks`.
HookSet::Handle add_caching_hooks(HookSet& hooks, ActivationCache& cache, const CacheOptions& options = {});

// One forward with a cache of the selected points: (logits, cache). `extra` hooks (interventions) run too, before
// the caching hooks, so the cache holds what the forward pass actually used.
std::pair<at::Tensor, ActivationCache> run_with_cache(const LlamaModel& model, const at::Tensor& input_ids,
                                                      const CacheOptions& options = {}, ForwardOptions forward = {});

}  // namespace moulin
