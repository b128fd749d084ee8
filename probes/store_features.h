#pragma once
// Probe features from an activation store (store/activation_store.h, written by `moulin dump`): each document's
// last token, read one hook at a time, so a sweep over every layer of a large dump holds one layer in memory.
// The classes come from document labels ({"triggered": true} vs false in a JSONL corpus) or explicit lists.
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "probes/layer_probes.h"
#include "store/activation_store.h"

namespace moulin::probes {

struct StoreClasses {
  std::vector<std::int64_t> positive_documents;
  std::vector<std::int64_t> negative_documents;
  std::vector<std::int64_t> positive_rows;  // each document's last token's row
  std::vector<std::int64_t> negative_rows;
};

// The given documents and their last rows. Throws ArgumentError for an empty class and FormatError when a
// document's last token is not stored (a dump with --positions that leave it out, or a killed dump).
StoreClasses store_classes(const ActivationStore& store, std::vector<std::int64_t> positive_documents,
                           std::vector<std::int64_t> negative_documents);
// Documents whose label `key` equals `positive_value` against those where it equals `negative_value` (JSON
// equality, as ActivationStore::documents_where).
StoreClasses store_classes(const ActivationStore& store, const std::string& key, const nlohmann::json& positive_value,
                           const nlohmann::json& negative_value);

// The store's hooks that match any of the patterns (shell-style, as `moulin dump --hooks`), in store (forward)
// order. Throws ArgumentError when none does, listing what the store holds.
std::vector<std::string> store_hooks_matching(const ActivationStore& store, const std::vector<std::string>& patterns);

// One hook's features: [positives, features] and [negatives, features] float32 (per-token shape flattened).
LayerFeatures store_layer_features(const ActivationStore& store, const std::string& hook, const StoreClasses& classes);

// layer_probe_sweep over the matching hooks, reading each when its turn comes.
LayerSweepResult probe_store_layers(const ActivationStore& store, const std::vector<std::string>& hook_patterns,
                                    const StoreClasses& classes, const LayerSweepOptions& options = {});

}  // namespace moulin::probes
