#include "core/tokenizer_added_tokens.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "core/tokenizer_split_regex.h"
#include "core/tokenizer_utf8.h"

namespace moulin::tokenizer_detail {

// A byte trie of token contents: the longest token starting at a position is one walk down from the root.
class AddedTokenSplitter::Trie {
 public:
  void add(std::string_view content, int token_index) {
    std::int32_t node = 0;
    for (const char c : content) {
      const auto byte = static_cast<unsigned char>(c);
      auto& children = nodes_[node].children;
      const auto found = std::find_if(children.begin(), children.end(), [&](const auto& child) { return child.first == byte; });
      if (found != children.end()) {
        node = found->second;
        continue;
      }
      const auto child = static_cast<std::int32_t>(nodes_.size());
      children.emplace_back(byte, child);
      nodes_.emplace_back();  // invalidates `children`, which the next iteration looks up again
      node = child;
    }
    nodes_[node].token_index = token_index;
    const auto first = static_cast<unsigned char>(content.front());
    if (!can_start_[first]) {
      can_start_[first] = true;
      ++distinct_first_bytes_;
      only_first_byte_ = first;
    }
  }

  bool empty() const { return distinct_first_bytes_ == 0; }

  // The first position at or after `pos` whose byte starts some token, or text.size().
  std::size_t next_candidate(std::string_view text, std::size_t pos) const {
    if (distinct_first_bytes_ == 1) {  // Llama 3: every added token starts with '<'
      const void* found = std::memchr(text.data() + pos, only_first_byte_, text.size() - pos);
      return found ? static_cast<const char*>(found) - text.data() : text.size();
    }
    while (pos < text.size() && !can_start_[static_cast<unsigned char>(text[pos])]) ++pos;
    return pos;
  }

  // The longest token starting at `pos`: (token index, length), or (-1, 0).
  std::pair<int, std::size_t> longest_at(std::string_view text, std::size_t pos) const {
    std::pair<int, std::size_t> best{-1, 0};
    std::int32_t node = 0;
    for (std::size_t i = pos; i < text.size(); ++i) {
      const auto byte = static_cast<unsigned char>(text[i]);
      const auto& children = nodes_[node].children;
      const auto found = std::find_if(children.begin(), children.end(), [&](const auto& child) { return child.first == byte; });
      if (found == children.end()) break;
      node = found->second;
      if (nodes_[node].token_index >= 0) best = {nodes_[node].token_index, i + 1 - pos};
    }
    return best;
  }

 private:
  struct Node {
    std::vector<std::pair<unsigned char, std::int32_t>> children;
    int token_index = -1;
  };
  std::vector<Node> nodes_{1};
  std::array<bool, 256> can_start_{};
  int distinct_first_bytes_ = 0;
  unsigned char only_first_byte_ = 0;
};

namespace {

// Byte offset where the whitespace at the end of `text` begins (Rust regex \s*$).
std::size_t start_of_trailing_whitespace(std::string_view text) {
  std::size_t end = text.size();
  while (end > 0) {
    std::size_t before = end;
    if (!is_unicode_whitespace(previous_code_point(text, before))) break;
    end = before;
  }
  return end;
}

// Length of the whitespace at the start of `text` (Rust regex ^\s*).
std::size_t leading_whitespace_length(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t after = pos;
    if (!is_unicode_whitespace(next_code_point(text, after))) break;
    pos = after;
  }
  return pos;
}

bool ends_with_word(std::string_view text) {
  if (text.empty()) return false;
  std::size_t end = text.size();
  return is_word_character(previous_code_point(text, end));
}

bool starts_with_word(std::string_view text) {
  if (text.empty()) return false;
  std::size_t pos = 0;
  return is_word_character(next_code_point(text, pos));
}

}  // namespace

AddedTokenSplitter::AddedTokenSplitter(const std::vector<AddedToken>& tokens)
    : tokens_(tokens), raw_trie_(std::make_unique<Trie>()), normalized_trie_(std::make_unique<Trie>()) {
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    if (tokens_[i].content.empty()) continue;  // tokenizers ignores empty added tokens
    (tokens_[i].normalized ? *normalized_trie_ : *raw_trie_).add(tokens_[i].content, static_cast<int>(i));
  }
}

AddedTokenSplitter::~AddedTokenSplitter() = default;
AddedTokenSplitter::AddedTokenSplitter(AddedTokenSplitter&&) noexcept = default;
AddedTokenSplitter& AddedTokenSplitter::operator=(AddedTokenSplitter&&) noexcept = default;

void AddedTokenSplitter::split(std::string_view text, bool allow_special, std::vector<TextSegment>& segments,
                               std::vector<TextSegment>& scratch) const {
  segments.clear();
  if (normalized_trie_->empty()) {
    split_pass(*raw_trie_, text, 0, allow_special, segments);
    return;
  }
  scratch.clear();
  split_pass(*raw_trie_, text, 0, allow_special, scratch);
  for (const auto& segment : scratch) {
    if (segment.is_plain())
      split_pass(*normalized_trie_, text.substr(segment.begin, segment.end - segment.begin), segment.begin,
                 allow_special, segments);
    else
      segments.push_back(segment);
  }
}

// tokenizers' AddedVocabulary::find_matches over `text`, whose first byte is at `offset` in the whole input.
void AddedTokenSplitter::split_pass(const Trie& trie, std::string_view text, std::uint32_t offset, bool allow_special,
                                    std::vector<TextSegment>& out) const {
  const auto push = [&](std::size_t begin, std::size_t end, TokenId id) {
    out.push_back({static_cast<std::uint32_t>(offset + begin), static_cast<std::uint32_t>(offset + end), id});
  };
  std::size_t plain_start = 0;  // first byte not yet assigned to a segment
  std::size_t pos = trie.empty() ? text.size() : trie.next_candidate(text, 0);
  while (pos < text.size()) {
    const auto [token_index, length] = trie.longest_at(text, pos);
    if (token_index < 0) {
      pos = trie.next_candidate(text, pos + 1);
      continue;
    }
    // The automaton moves past a match even when the match is then dropped, so matches never overlap.
    std::size_t start = pos, stop = pos + length;
    pos = trie.next_candidate(text, stop);
    const AddedToken& token = tokens_[token_index];
    if (token.special && !allow_special) continue;
    if (token.single_word) {
      const bool alone_on_left = start == 0 || !ends_with_word(text.substr(0, start));
      const bool alone_on_right = stop == text.size() || !starts_with_word(text.substr(stop));
      if (!alone_on_left || !alone_on_right) continue;
    }
    if (token.lstrip) start = std::max(start_of_trailing_whitespace(text.substr(0, start)), plain_start);
    if (token.rstrip) stop += leading_whitespace_length(text.substr(stop));
    if (plain_start < start) push(plain_start, start, -1);
    push(start, stop, token.id);
    plain_start = stop;
    // An rstrip may have swallowed the start of what the automaton would have matched next.
    if (pos < stop) pos = trie.next_candidate(text, stop);
  }
  if (plain_start < text.size() || text.empty()) push(plain_start, text.size(), -1);
}

}  // namespace moulin::tokenizer_detail
