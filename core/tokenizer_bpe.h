#pragma once
// The byte-level BPE model of a Hugging Face tokenizer.json ("model": {"type": "BPE", ...}): vocabulary, merges
// and the merge algorithm, reproducing tokenizers' `BPE::tokenize` exactly (same priority queue, same tie-breaks).
//
// Why hand-written: no packaged C++ library reads HF tokenizer.json files (sentencepiece reads its own protobuf
// models, tiktoken-style ports hard-code one vocabulary), and exactness against the Rust reference is easier to
// guarantee with a small implementation whose every rule is visible than with a port of a large dependency.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/tokenizer.h"
#include "core/tokenizer_hash_tables.h"

namespace moulin::tokenizer_detail {

// Working memory of the merge algorithm, reused across words so that a cache miss allocates nothing.
struct BpeScratch {
  struct Symbol {
    TokenId id;
    std::int32_t prev;  // index of the previous live symbol, -1 at the start
    std::int32_t next;  // index of the next live symbol, -1 at the end
    bool merged_away;   // absorbed into its left neighbour
  };
  struct QueuedMerge {
    std::uint32_t rank;
    std::int32_t pos;  // index of the left symbol
    TokenId merged_id;
  };
  std::vector<Symbol> symbols;
  std::vector<QueuedMerge> queue;  // a binary heap: lowest rank first, then leftmost
};

class BpeModel {
 public:
  // `model` is tokenizer.json's "model" object; `source` names the file in error messages.
  static BpeModel from_json(const nlohmann::json& model, const std::string& source);

  // Appends the ids of one pre-token given as raw bytes (not in the byte-level spelling).
  void encode_word(std::string_view bytes, BpeScratch& scratch, std::vector<TokenId>& out) const;

  // Lookups by byte-level spelling ("Ġworld"), the form tokenizer.json and HF's token_to_id use.
  std::optional<TokenId> token_to_id(std::string_view spelling) const;
  // nullptr for ids outside the vocabulary.
  const std::string* spelling_of(TokenId id) const;
  // What the ByteLevel decoder turns the token into: its bytes, or its spelling unchanged when that holds
  // characters outside the byte-level alphabet. nullptr for ids outside the vocabulary.
  const std::string* decoded_bytes_of(TokenId id) const;

  std::size_t vocab_entries() const { return id_of_spelling_.size(); }
  TokenId largest_id() const { return static_cast<TokenId>(spellings_.size()) - 1; }
  std::size_t merge_count() const { return merges_.size(); }

 private:
  BpeModel() = default;
  void merge_all(BpeScratch& scratch) const;

  BytesKeyedTable<TokenId> id_of_spelling_;
  BytesKeyedTable<TokenId> id_of_bytes_;  // only tokens spelled in the byte-level alphabet
  std::vector<std::string> spellings_;    // by id; empty for ids with no token
  std::vector<std::string> decoded_bytes_;
  std::vector<bool> has_id_;
  TokenId byte_ids_[256];  // the single-byte tokens; -1 when the vocabulary lacks one
  MergeTable merges_;
  bool ignore_merges_ = false;  // a pre-token found whole in the vocabulary is one token, merges or not
  std::optional<TokenId> unk_id_;
  bool fuse_unk_ = false;
};

}  // namespace moulin::tokenizer_detail
