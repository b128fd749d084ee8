#pragma once
// Internal: what a loaded Tokenizer holds (tokenizer_load.cpp fills it, tokenizer.cpp runs it) and the per-thread
// working memory encode uses.
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/tokenizer.h"
#include "core/tokenizer_added_tokens.h"
#include "core/tokenizer_bpe.h"
#include "core/tokenizer_split_regex.h"
#include "core/tokenizer_word_cache.h"

namespace moulin {

namespace tokenizer_detail {

// Everything one encode call writes, kept between calls so that steady-state encoding allocates only the result.
struct Workspace {
  explicit Workspace(const SplitRegex& regex) : matcher(regex) {}
  SplitRegex::Matcher matcher;
  BpeScratch bpe;
  WordCache cache;
  std::vector<TextSegment> segments;
  std::vector<TextSegment> segments_scratch;
  std::vector<ByteSpan> pieces;
};

// Workspaces for concurrent encode calls: a call borrows one (or makes one) and gives it back when done.
class WorkspacePool {
 public:
  class Lease {
   public:
    Lease(WorkspacePool& pool, std::unique_ptr<Workspace> workspace) : pool_(pool), workspace_(std::move(workspace)) {}
    ~Lease() { pool_.give_back(std::move(workspace_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Workspace& operator*() const { return *workspace_; }

   private:
    WorkspacePool& pool_;
    std::unique_ptr<Workspace> workspace_;
  };

  explicit WorkspacePool(const SplitRegex& regex) : regex_(regex) {}
  Lease borrow();

 private:
  void give_back(std::unique_ptr<Workspace> workspace);
  const SplitRegex& regex_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Workspace>> idle_;
};

}  // namespace tokenizer_detail

struct Tokenizer::Impl {
  std::filesystem::path path;
  std::optional<tokenizer_detail::BpeModel> bpe;
  std::vector<tokenizer_detail::AddedToken> added_tokens;
  std::vector<std::int32_t> added_index_by_id;  // id -> index in added_tokens, -1 for model tokens
  tokenizer_detail::BytesKeyedTable<TokenId> added_id_by_content;
  std::optional<tokenizer_detail::AddedTokenSplitter> splitter;
  std::unique_ptr<tokenizer_detail::SplitRegex> split_regex;  // a stable address: workspaces point to it
  std::unique_ptr<tokenizer_detail::WorkspacePool> workspaces;
  std::vector<TokenId> prefix_ids;
  std::vector<TokenId> suffix_ids;
  std::size_t vocab_size = 0;

  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  std::optional<std::string> chat_template;
  std::optional<TokenId> bos_id;
  std::vector<TokenId> eos_ids;

  const tokenizer_detail::AddedToken* added_token(TokenId id) const {
    if (id < 0 || static_cast<std::size_t>(id) >= added_index_by_id.size() || added_index_by_id[id] < 0) return nullptr;
    return &added_tokens[added_index_by_id[id]];
  }

  // As HF's token_to_id: an added token's content first, then the model vocabulary's spelling.
  std::optional<TokenId> find_id(std::string_view token) const {
    if (const auto* id = added_id_by_content.find(token)) return *id;
    return bpe->token_to_id(token);
  }
};

namespace tokenizer_detail {
// Parses tokenizer.json (and tokenizer_config.json when `config_json` exists) into a ready Impl.
std::unique_ptr<Tokenizer::Impl> load_tokenizer(const std::filesystem::path& tokenizer_json,
                                                const std::filesystem::path& config_json);
}  // namespace tokenizer_detail

}  // namespace moulin
