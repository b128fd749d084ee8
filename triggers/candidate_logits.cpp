#include "triggers/candidate_logits.h"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "core/error.h"
#include "core/kv_cache.h"

namespace moulin::triggers {
namespace {

// Rows of token ids right-aligned in ids [rows, width] (padding id 0) with mask [rows, width] (1 for real tokens),
// so every row's last real token sits in the last column and LogitsFor::kLast reads each row's next token.
std::pair<at::Tensor, at::Tensor> left_padded(const std::vector<std::vector<TokenId>>& rows) {
  std::size_t width = 0;
  for (const auto& row : rows) width = std::max(width, row.size());
  const auto batch = static_cast<std::int64_t>(rows.size());
  at::Tensor ids = at::zeros({batch, static_cast<std::int64_t>(width)}, at::kLong);
  at::Tensor mask = at::zeros({batch, static_cast<std::int64_t>(width)}, at::kLong);
  auto ids_at = ids.accessor<std::int64_t, 2>();
  auto mask_at = mask.accessor<std::int64_t, 2>();
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const auto offset = width - rows[r].size();
    for (std::size_t t = 0; t < rows[r].size(); ++t) {
      ids_at[static_cast<std::int64_t>(r)][static_cast<std::int64_t>(offset + t)] = rows[r][t];
      mask_at[static_cast<std::int64_t>(r)][static_cast<std::int64_t>(offset + t)] = 1;
    }
  }
  return {ids, mask};
}

at::Tensor next_token_logits(const LlamaModel& model, const std::vector<std::vector<TokenId>>& rows, KVCache* cache) {
  const auto [ids, mask] = left_padded(rows);
  ForwardOptions forward;
  forward.attention_mask = mask;
  forward.cache = cache;
  forward.logits = LogitsFor::kLast;
  return model.forward(ids, forward).squeeze(1);
}

// The shared prompt prefix, run once; each batch continues from `batch` copies of its cache. The candidates'
// tokens are right-aligned after the prefix with the padding between: the forward pass masks padded keys and
// counts positions over real tokens only, so every row sees exactly prefix + its own tokens, and its next-token
// logits are in the last column, the only one whose vocabulary projection is computed.
class SharedPrefix {
 public:
  SharedPrefix(const LlamaModel& model, const std::vector<TokenId>& shared)
      : model_(model), cache_(model.new_cache(1, static_cast<std::int64_t>(shared.size()))) {
    ForwardOptions forward;
    forward.cache = &cache_;
    forward.logits = LogitsFor::kNone;
    model.forward(at::tensor(std::vector<std::int64_t>(shared.begin(), shared.end()), at::kLong).unsqueeze(0), forward);
  }

  at::Tensor continue_with(const std::vector<std::vector<TokenId>>& rests) const {
    std::size_t width = 0;
    for (const auto& rest : rests) width = std::max(width, rest.size());
    KVCache cache = cache_.repeat_sequence(0, static_cast<std::int64_t>(rests.size()),
                                           cache_.length() + static_cast<std::int64_t>(width));
    return next_token_logits(model_, rests, &cache);
  }

 private:
  const LlamaModel& model_;
  KVCache cache_;
};

}  // namespace

void for_each_candidate_batch(const LlamaModel& model, const Tokenizer& tokenizer, const std::string& prompt,
                              const std::vector<std::string>& phrases, const CandidateBatchOptions& options,
                              const CandidateLogitsVisitor& visit) {
  if (options.batch_size < 1)
    throw ArgumentError(fmt::format("candidate batch size must be at least 1, got {}", options.batch_size));
  const at::NoGradGuard no_grad;
  const auto batch = static_cast<std::size_t>(options.batch_size);
  std::optional<SharedPrefix> prefix;
  for (std::size_t first = 0; first < phrases.size(); first += batch) {
    const auto end = std::min(phrases.size(), first + batch);
    std::vector<std::vector<TokenId>> rows;
    for (std::size_t i = first; i < end; ++i) {
      if (phrases[i].empty()) throw ArgumentError(fmt::format("candidate {} is an empty phrase", i));
      InsertedPrompt inserted = insert_phrase(tokenizer, prompt, phrases[i], options.placement);
      // A tokenizer without BOS leaves nothing to share before a prefix trigger.
      if (options.reuse_prefix && !prefix && !inserted.shared.empty()) prefix.emplace(model, inserted.shared);
      rows.push_back(prefix ? std::move(inserted.rest) : inserted.ids());
    }
    visit(first, prefix ? prefix->continue_with(rows) : next_token_logits(model, rows, nullptr));
  }
}

at::Tensor candidate_next_token_logits(const LlamaModel& model, const Tokenizer& tokenizer, const std::string& prompt,
                                       const std::vector<std::string>& phrases, const CandidateBatchOptions& options) {
  std::vector<at::Tensor> batches;
  for_each_candidate_batch(model, tokenizer, prompt, phrases, options,
                           [&](std::size_t, const at::Tensor& logits) { batches.push_back(logits); });
  if (batches.empty())
    return at::empty({0, model.config().vocab_size}, at::TensorOptions().dtype(at::kFloat).device(model.device()));
  return at::cat(batches);
}

at::Tensor prompt_next_token_logits(const LlamaModel& model, const Tokenizer& tokenizer, const std::string& prompt) {
  const at::NoGradGuard no_grad;
  const auto ids = insert_phrase(tokenizer, prompt, "", Placement::kSuffix).ids();
  return next_token_logits(model, {ids}, nullptr).squeeze(0);
}

}  // namespace moulin::triggers
