// Encoding runs HF tokenizers' pipeline: added tokens split first, then per plain segment the Split regex, the
// byte-level mapping (implicit: the vocabulary is keyed by raw bytes) and BPE per pre-token, then the template.
#include "core/tokenizer.h"

#include <limits>

#include <fmt/format.h>

#include "core/error.h"
#include "core/tokenizer_impl.h"
#include "core/tokenizer_utf8.h"

namespace moulin {
namespace tokenizer_detail {

WorkspacePool::Lease WorkspacePool::borrow() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!idle_.empty()) {
      auto workspace = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(workspace));
    }
  }
  return Lease(*this, std::make_unique<Workspace>(regex_));
}

void WorkspacePool::give_back(std::unique_ptr<Workspace> workspace) {
  std::lock_guard<std::mutex> lock(mutex_);
  idle_.push_back(std::move(workspace));
}

namespace {

// Pre-tokenizes one plain segment and appends the ids of its pre-tokens.
void encode_plain_text(std::string_view text, const BpeModel& bpe, Workspace& workspace, std::vector<TokenId>& ids) {
  workspace.matcher.split(text, workspace.pieces);
  for (const auto& [begin, end] : workspace.pieces) {
    const std::string_view word = text.substr(begin, end - begin);
    if (word.size() > WordCache::kMaxWordBytes) {
      bpe.encode_word(word, workspace.bpe, ids);
      continue;
    }
    const std::uint64_t hash = hash_bytes(word);
    if (workspace.cache.append_cached(word, hash, ids)) continue;
    const std::size_t first = ids.size();
    bpe.encode_word(word, workspace.bpe, ids);
    workspace.cache.store(word, hash, ids.data() + first, ids.size() - first);
  }
}

}  // namespace
}  // namespace tokenizer_detail

using tokenizer_detail::find_invalid_utf8;

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

Tokenizer Tokenizer::from_file(const std::filesystem::path& tokenizer_json) {
  return Tokenizer(tokenizer_detail::load_tokenizer(tokenizer_json, tokenizer_json.parent_path() / "tokenizer_config.json"));
}

Tokenizer Tokenizer::from_folder(const std::filesystem::path& folder) {
  if (!std::filesystem::is_directory(folder))
    throw FileError(fmt::format("{}: folder not found (expected a folder holding tokenizer.json)", folder.string()));
  return from_file(folder / "tokenizer.json");
}

std::vector<TokenId> Tokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  // Segments and pre-tokens are kept as 32-bit offsets.
  if (text.size() > std::numeric_limits<std::uint32_t>::max())
    throw ArgumentError(fmt::format("encode: text of {} bytes is over the 4 GiB limit; encode it in parts", text.size()));
  if (const auto bad = find_invalid_utf8(text); bad != std::string_view::npos)
    throw ArgumentError(fmt::format("encode: text is not valid UTF-8 (ill-formed sequence at byte {} of {})", bad,
                                    text.size()));
  const auto lease = impl_->workspaces->borrow();
  auto& workspace = *lease;

  std::vector<TokenId> ids;
  ids.reserve(text.size() / 3 + impl_->prefix_ids.size() + impl_->suffix_ids.size() + 1);
  if (options.add_special_tokens) ids.insert(ids.end(), impl_->prefix_ids.begin(), impl_->prefix_ids.end());
  impl_->splitter->split(text, options.allow_special, workspace.segments, workspace.segments_scratch);
  for (const auto& segment : workspace.segments) {
    if (segment.is_plain())
      tokenizer_detail::encode_plain_text(text.substr(segment.begin, segment.end - segment.begin), *impl_->bpe,
                                          workspace, ids);
    else
      ids.push_back(segment.added_id);
  }
  if (options.add_special_tokens) ids.insert(ids.end(), impl_->suffix_ids.begin(), impl_->suffix_ids.end());
  return ids;
}

std::string Tokenizer::decode(const std::vector<TokenId>& ids, bool skip_special_tokens) const {
  // HF runs the ByteLevel decoder (then its lossy UTF-8 conversion) on each run of model tokens between two added
  // tokens, and writes added tokens' content as is; a skipped special token does not end a run.
  std::string text, run_bytes;
  text.reserve(ids.size() * 4);
  for (const TokenId id : ids) {
    if (const auto* added = impl_->added_token(id)) {
      if (skip_special_tokens && added->special) continue;
      tokenizer_detail::append_utf8_lossy(text, run_bytes);
      run_bytes.clear();
      text += added->content;
    } else if (const auto* bytes = impl_->bpe->decoded_bytes_of(id)) {
      run_bytes += *bytes;
    }
  }
  tokenizer_detail::append_utf8_lossy(text, run_bytes);
  return text;
}

std::optional<TokenId> Tokenizer::token_to_id(std::string_view token) const {
  return impl_->find_id(token);
}

std::optional<std::string> Tokenizer::id_to_token(TokenId id) const {
  if (const auto* added = impl_->added_token(id)) return added->content;
  if (const auto* spelling = impl_->bpe->spelling_of(id)) return *spelling;
  return std::nullopt;
}

bool Tokenizer::is_special(TokenId id) const {
  const auto* added = impl_->added_token(id);
  return added && added->special;
}

std::size_t Tokenizer::vocab_size() const { return impl_->vocab_size; }
std::optional<TokenId> Tokenizer::bos_id() const { return impl_->bos_id; }
std::vector<TokenId> Tokenizer::eos_ids() const { return impl_->eos_ids; }
const std::vector<TokenId>& Tokenizer::prefix_ids() const { return impl_->prefix_ids; }
const std::vector<TokenId>& Tokenizer::suffix_ids() const { return impl_->suffix_ids; }
const std::optional<std::string>& Tokenizer::bos_token() const { return impl_->bos_token; }
const std::optional<std::string>& Tokenizer::eos_token() const { return impl_->eos_token; }
const std::optional<std::string>& Tokenizer::chat_template() const { return impl_->chat_template; }
const std::filesystem::path& Tokenizer::path() const { return impl_->path; }

}  // namespace moulin
