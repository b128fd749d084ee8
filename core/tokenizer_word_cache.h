#pragma once
// pre-token bytes -> ids, so that frequent words (" the", " de", "\n") skip BPE. Natural text repeats its words
// so much that most pre-tokens hit; the cache is what makes encoding faster than running the merges each time.
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/tokenizer.h"
#include "core/tokenizer_hash_tables.h"

namespace moulin::tokenizer_detail {

class WordCache {
 public:
  // Long pre-tokens (a run of spaces, a base64 blob) are rare and would crowd out the useful entries.
  static constexpr std::size_t kMaxWordBytes = 64;
  // Bounds memory; when full the cache starts over, which costs one BPE run per word seen again.
  static constexpr std::size_t kMaxEntries = 1 << 17;

  // Appends the cached ids of `word` to `out`; false when it is not cached.
  bool append_cached(std::string_view word, std::uint64_t hash, std::vector<TokenId>& out) const {
    const Span* span = table_.find(word, hash);
    if (!span) return false;
    out.insert(out.end(), ids_.begin() + span->offset, ids_.begin() + span->offset + span->count);
    return true;
  }

  void store(std::string_view word, std::uint64_t hash, const TokenId* ids, std::size_t count) {
    if (table_.size() >= kMaxEntries) {
      table_.clear();
      ids_.clear();
    }
    table_.insert(word, hash, Span{static_cast<std::uint32_t>(ids_.size()), static_cast<std::uint32_t>(count)});
    ids_.insert(ids_.end(), ids, ids + count);
  }

  std::size_t size() const { return table_.size(); }

 private:
  struct Span {
    std::uint32_t offset = 0;
    std::uint32_t count = 0;
  };
  BytesKeyedTable<Span> table_{4096};
  std::vector<TokenId> ids_;
};

}  // namespace moulin::tokenizer_detail
