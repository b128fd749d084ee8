#include "probes/store_features.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "store/hook_selection.h"

namespace moulin::probes {
namespace {

std::vector<std::int64_t> last_rows(const ActivationStore& store, const std::vector<std::int64_t>& documents) {
  std::vector<std::int64_t> rows;
  rows.reserve(documents.size());
  for (const auto document : documents) {
    const auto last = store.rows_of_documents({document}, /*last_only=*/true);
    if (last.empty())
      throw FormatError(fmt::format("{}: document {} has no stored rows", store.path().string(), document));
    rows.push_back(last.front());
  }
  const at::Tensor positions = store.token_positions(rows);
  const auto positions_at = positions.accessor<std::int32_t, 1>();
  for (std::size_t i = 0; i < documents.size(); ++i) {
    const StoredDocument document = store.document(documents[i]);
    if (positions_at[static_cast<std::int64_t>(i)] != document.length - 1)
      throw FormatError(fmt::format("{}: document {} ends at token {} but its last stored row holds token {}: probes "
                                    "need each document's last token (dump with --positions all or last)",
                                    store.path().string(), documents[i], document.length - 1,
                                    positions_at[static_cast<std::int64_t>(i)]));
  }
  return rows;
}

at::Tensor read_rows(const ActivationStore& store, const std::string& hook, const std::vector<std::int64_t>& rows) {
  const at::Tensor values = store.read(hook, rows);
  return values.reshape({static_cast<std::int64_t>(rows.size()), -1}).to(at::kFloat);
}

}  // namespace

StoreClasses store_classes(const ActivationStore& store, std::vector<std::int64_t> positive_documents,
                           std::vector<std::int64_t> negative_documents) {
  if (positive_documents.empty() || negative_documents.empty())
    throw ArgumentError(fmt::format("store_classes: {}: both classes need documents, got {} positives and {} "
                                    "negatives", store.path().string(), positive_documents.size(),
                                    negative_documents.size()));
  StoreClasses classes;
  classes.positive_rows = last_rows(store, positive_documents);
  classes.negative_rows = last_rows(store, negative_documents);
  classes.positive_documents = std::move(positive_documents);
  classes.negative_documents = std::move(negative_documents);
  return classes;
}

StoreClasses store_classes(const ActivationStore& store, const std::string& key, const nlohmann::json& positive_value,
                           const nlohmann::json& negative_value) {
  auto positives = store.documents_where(key, positive_value);
  auto negatives = store.documents_where(key, negative_value);
  if (positives.empty() || negatives.empty())
    throw ArgumentError(fmt::format("store_classes: {}: label '{}' is {} in {} documents and {} in {}; both classes "
                                    "need documents", store.path().string(), key, positive_value.dump(),
                                    positives.size(), negative_value.dump(), negatives.size()));
  return store_classes(store, std::move(positives), std::move(negatives));
}

std::vector<std::string> store_hooks_matching(const ActivationStore& store, const std::vector<std::string>& patterns) {
  std::vector<std::string> matching;
  for (const auto& hook : store.hooks())
    for (const auto& pattern : patterns)
      if (glob_match(pattern, hook)) {
        matching.push_back(hook);
        break;
      }
  if (matching.empty())
    throw ArgumentError(fmt::format("{}: no stored hook matches {}; the store holds {}", store.path().string(),
                                    fmt::join(patterns, ", "), fmt::join(store.hooks(), ", ")));
  return matching;
}

LayerFeatures store_layer_features(const ActivationStore& store, const std::string& hook, const StoreClasses& classes) {
  return {hook, read_rows(store, hook, classes.positive_rows), read_rows(store, hook, classes.negative_rows)};
}

LayerSweepResult probe_store_layers(const ActivationStore& store, const std::vector<std::string>& hook_patterns,
                                    const StoreClasses& classes, const LayerSweepOptions& options) {
  const auto hooks = store_hooks_matching(store, hook_patterns);
  return layer_probe_sweep(
      hooks.size(), [&](std::size_t index) { return store_layer_features(store, hooks[index], classes); }, options);
}

}  // namespace moulin::probes
