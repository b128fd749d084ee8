#pragma once
// Added tokens (tokenizer.json "added_tokens": Llama 3's <|begin_of_text|>, <|eot_id|>, ...) are found in the text
// before any pre-tokenization, as tokenizers' AddedVocabulary does: leftmost-longest, non-overlapping matching,
// first of the tokens with normalized=false over the whole text, then of those with normalized=true over what is
// left. A token's flags then apply: single_word (only between non-word characters), lstrip / rstrip (absorb
// neighbouring whitespace). With special tokens disallowed, a special token's match is dropped and its text stays
// plain text (tokenizers' encode_special_tokens / transformers' split_special_tokens).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/tokenizer.h"

namespace moulin::tokenizer_detail {

struct AddedToken {
  std::string content;
  TokenId id = -1;
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
};

// A run of the input: either one added token or plain text for the pre-tokenizer and BPE.
struct TextSegment {
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
  TokenId added_id = -1;  // -1 for plain text

  bool is_plain() const { return added_id < 0; }
};

class AddedTokenSplitter {
 public:
  explicit AddedTokenSplitter(const std::vector<AddedToken>& tokens);
  ~AddedTokenSplitter();
  AddedTokenSplitter(AddedTokenSplitter&&) noexcept;
  AddedTokenSplitter& operator=(AddedTokenSplitter&&) noexcept;

  // Replaces `segments` with the segments of `text` (valid UTF-8). `scratch` is reused working memory.
  void split(std::string_view text, bool allow_special, std::vector<TextSegment>& segments,
             std::vector<TextSegment>& scratch) const;

 private:
  class Trie;
  void split_pass(const Trie& trie, std::string_view text, std::uint32_t offset, bool allow_special,
                  std::vector<TextSegment>& out) const;

  std::vector<AddedToken> tokens_;
  std::unique_ptr<Trie> raw_trie_;         // normalized=false tokens, matched first
  std::unique_ptr<Trie> normalized_trie_;  // normalized=true tokens, matched in what the first pass left
};

}  // namespace moulin::tokenizer_detail
