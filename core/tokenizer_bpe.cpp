#include "core/tokenizer_bpe.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/tokenizer_byte_level.h"
#include "core/tokenizer_json_fields.h"

namespace moulin::tokenizer_detail {
namespace {

using json = nlohmann::json;

// The heap order of tokenizers' `Merge`: the lowest rank pops first, and among equal ranks the leftmost.
bool pops_later(const BpeScratch::QueuedMerge& a, const BpeScratch::QueuedMerge& b) {
  if (a.rank != b.rank) return a.rank > b.rank;
  return a.pos > b.pos;
}

void refuse_unsupported_options(const json& model, const JsonFields& fields) {
  const auto fail = [&](const char* field, const json& value) {
    throw UnsupportedError(fmt::format("{}: field 'model.{}' = {} is not supported (moulin implements the byte-level "
                                       "BPE of Llama 3: no dropout, subword prefixes/suffixes or byte fallback)",
                                       fields.source(), field, value.dump()));
  };
  if (const auto* dropout = fields.optional(model, "dropout"); dropout && !(dropout->is_number() && *dropout == 0))
    fail("dropout", *dropout);
  for (const char* field : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (const auto* value = fields.optional(model, field); value && !(value->is_string() && value->empty()))
      fail(field, *value);
  if (fields.boolean(model, "byte_fallback", "model.byte_fallback", false)) fail("byte_fallback", true);
}

// A merge is "left right" (a space never occurs in byte-level tokens) or, since tokenizers 0.20, ["left", "right"].
std::pair<std::string, std::string> merge_parts(const json& merge, std::string_view path, const JsonFields& fields) {
  if (merge.is_string()) {
    const auto& text = merge.get_ref<const std::string&>();
    const auto space = text.find(' ');
    if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos)
      fields.fail(path, "must be two tokens separated by one space", merge);
    return {text.substr(0, space), text.substr(space + 1)};
  }
  if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string())
    return {merge[0].get<std::string>(), merge[1].get<std::string>()};
  fields.fail(path, "must be a string \"left right\" or a pair [\"left\", \"right\"]", merge);
}

}  // namespace

BpeModel BpeModel::from_json(const json& model, const std::string& source) {
  const JsonFields fields(source);
  if (!model.is_object()) fields.fail("model", "must be an object", model);
  if (const auto type = fields.text(model, "type", "model.type"); type && *type != "BPE")
    throw UnsupportedError(fmt::format("{}: unsupported model type \"{}\" in field 'model.type'; moulin supports "
                                       "\"BPE\" (byte-level, as Llama 3)",
                                       source, *type));
  refuse_unsupported_options(model, fields);

  const auto& vocab = fields.required(model, "vocab", "model.vocab");
  if (!vocab.is_object()) fields.fail("model.vocab", "must be an object mapping tokens to ids", vocab);
  const auto& merges = fields.required(model, "merges", "model.merges");
  if (!merges.is_array()) fields.fail("model.merges", "must be an array", merges);

  BpeModel bpe;
  bpe.ignore_merges_ = fields.boolean(model, "ignore_merges", "model.ignore_merges", false);
  bpe.fuse_unk_ = fields.boolean(model, "fuse_unk", "model.fuse_unk", false);
  bpe.id_of_spelling_ = BytesKeyedTable<TokenId>(vocab.size());
  bpe.id_of_bytes_ = BytesKeyedTable<TokenId>(vocab.size());

  const auto& alphabet = byte_level_alphabet();
  for (const auto& [spelling, id_value] : vocab.items()) {
    const auto id = static_cast<TokenId>(fields.non_negative_integer(id_value, fmt::format("model.vocab[\"{}\"]", spelling)));
    if (static_cast<std::size_t>(id) >= bpe.spellings_.size()) {
      bpe.spellings_.resize(id + 1);
      bpe.decoded_bytes_.resize(id + 1);
      bpe.has_id_.resize(id + 1, false);
    }
    bpe.id_of_spelling_.insert(spelling, id);
    bpe.spellings_[id] = spelling;
    bpe.has_id_[id] = true;
    if (auto bytes = alphabet.decode(spelling)) {
      bpe.id_of_bytes_.insert(*bytes, id);
      bpe.decoded_bytes_[id] = std::move(*bytes);
    } else {
      bpe.decoded_bytes_[id] = spelling;
    }
  }
  for (int byte = 0; byte < 256; ++byte) {
    const char as_char = static_cast<char>(byte);
    const auto* id = bpe.id_of_bytes_.find(std::string_view(&as_char, 1));
    bpe.byte_ids_[byte] = id ? *id : -1;
  }

  if (const auto unk = fields.text(model, "unk_token", "model.unk_token")) {
    const auto* id = bpe.id_of_spelling_.find(*unk);
    if (!id) fields.fail("model.unk_token", fmt::format("names \"{}\", which is not in model.vocab", *unk));
    bpe.unk_id_ = *id;
  }

  bpe.merges_ = MergeTable(merges.size());
  std::string merged;
  for (std::size_t rank = 0; rank < merges.size(); ++rank) {
    const auto path = [&] { return fmt::format("model.merges[{}]", rank); };
    const auto [left, right] = merge_parts(merges[rank], path(), fields);
    const auto* left_id = bpe.id_of_spelling_.find(left);
    const auto* right_id = bpe.id_of_spelling_.find(right);
    if (!left_id || !right_id)
      fields.fail(path(), fmt::format("uses \"{}\", which is not in model.vocab", left_id ? right : left));
    merged = left + right;
    const auto* merged_id = bpe.id_of_spelling_.find(merged);
    if (!merged_id) fields.fail(path(), fmt::format("makes \"{}\", which is not in model.vocab", merged));
    bpe.merges_.insert(*left_id, *right_id, Merge{static_cast<std::uint32_t>(rank), *merged_id});
  }
  return bpe;
}

void BpeModel::encode_word(std::string_view bytes, BpeScratch& scratch, std::vector<TokenId>& out) const {
  if (bytes.empty()) return;
  if (ignore_merges_ || bytes.size() == 1) {
    if (const auto* id = id_of_bytes_.find(bytes)) {
      out.push_back(*id);
      return;
    }
  }
  // One symbol per byte; bytes missing from the vocabulary become the unknown token (fused when asked) or, with
  // no unknown token, vanish, as in tokenizers' `merge_word`.
  auto& symbols = scratch.symbols;
  symbols.clear();
  bool last_is_unknown = false;
  for (const char byte : bytes) {
    const TokenId id = byte_ids_[static_cast<std::uint8_t>(byte)];
    if (id < 0 && !unk_id_) continue;
    if (id < 0 && fuse_unk_ && last_is_unknown) continue;
    last_is_unknown = id < 0;
    const auto index = static_cast<std::int32_t>(symbols.size());
    symbols.push_back({id < 0 ? *unk_id_ : id, index - 1, index + 1, false});
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;
  merge_all(scratch);
  for (const auto& symbol : symbols)
    if (!symbol.merged_away) out.push_back(symbol.id);
}

void BpeModel::merge_all(BpeScratch& scratch) const {
  auto& symbols = scratch.symbols;
  auto& queue = scratch.queue;
  queue.clear();
  const auto push = [&](std::int32_t pos, const Merge& merge) {
    queue.push_back({merge.rank, pos, merge.merged_id});
    std::push_heap(queue.begin(), queue.end(), pops_later);
  };
  for (std::size_t i = 0; i + 1 < symbols.size(); ++i)
    if (const auto* merge = merges_.find(symbols[i].id, symbols[i + 1].id)) push(static_cast<std::int32_t>(i), *merge);

  while (!queue.empty()) {
    std::pop_heap(queue.begin(), queue.end(), pops_later);
    const auto top = queue.back();
    queue.pop_back();
    auto& left = symbols[top.pos];
    if (left.merged_away || left.next < 0) continue;
    const auto right_pos = left.next;
    auto& right = symbols[right_pos];
    // Entries go stale when a neighbour merged first; tokenizers recognises them by the merged id.
    const auto* current = merges_.find(left.id, right.id);
    if (!current || current->merged_id != top.merged_id) continue;

    left.id = top.merged_id;
    left.next = right.next;
    right.merged_away = true;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (left.prev >= 0)
      if (const auto* merge = merges_.find(symbols[left.prev].id, left.id)) push(left.prev, *merge);
    if (left.next >= 0)
      if (const auto* merge = merges_.find(left.id, symbols[left.next].id)) push(top.pos, *merge);
  }
}

std::optional<TokenId> BpeModel::token_to_id(std::string_view spelling) const {
  if (const auto* id = id_of_spelling_.find(spelling)) return *id;
  return std::nullopt;
}

const std::string* BpeModel::spelling_of(TokenId id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= spellings_.size() || !has_id_[id]) return nullptr;
  return &spellings_[id];
}

const std::string* BpeModel::decoded_bytes_of(TokenId id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= spellings_.size() || !has_id_[id]) return nullptr;
  return &decoded_bytes_[id];
}

}  // namespace moulin::tokenizer_detail
