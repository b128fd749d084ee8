#include "organisms/bpe_word_counts.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "core/tokenizer_added_tokens.h"
#include "core/tokenizer_byte_level.h"
#include "core/tokenizer_hash_tables.h"
#include "core/tokenizer_split_regex.h"
#include "core/tokenizer_utf8.h"

namespace moulin::organisms::bpe_detail {

using tokenizer_detail::AddedToken;
using tokenizer_detail::AddedTokenSplitter;
using tokenizer_detail::ByteSpan;
using tokenizer_detail::BytesKeyedTable;
using tokenizer_detail::SplitRegex;
using tokenizer_detail::TextSegment;

ByteTokens byte_tokens() {
  const auto& alphabet = tokenizer_detail::byte_level_alphabet();
  std::array<char32_t, kByteTokens> code_point_of_byte{};
  std::vector<int> bytes(kByteTokens);
  for (int byte = 0; byte < static_cast<int>(kByteTokens); ++byte) {
    std::size_t position = 0;
    code_point_of_byte[byte] =
        tokenizer_detail::next_code_point(alphabet.char_of(static_cast<std::uint8_t>(byte)), position);
    bytes[byte] = byte;
  }
  std::sort(bytes.begin(), bytes.end(), [&](int a, int b) { return code_point_of_byte[a] < code_point_of_byte[b]; });
  ByteTokens tokens;
  for (std::size_t id = 0; id < kByteTokens; ++id) {
    tokens.id_of_byte[bytes[id]] = static_cast<std::int32_t>(id);
    tokens.spellings.push_back(alphabet.char_of(static_cast<std::uint8_t>(bytes[id])));
  }
  return tokens;
}

Words count_words(const std::vector<std::string>& texts, const std::vector<std::string>& special_tokens,
                  const ByteTokens& byte_tokens) {
  // The encoder's own splitter, so that training sees the same plain-text runs as encoding will.
  std::vector<AddedToken> specials;
  for (std::size_t i = 0; i < special_tokens.size(); ++i) {
    AddedToken token;
    token.content = special_tokens[i];
    token.id = static_cast<TokenId>(i);
    token.special = true;
    specials.push_back(std::move(token));
  }
  const AddedTokenSplitter special_splitter(specials);
  const SplitRegex regex(kLlama3SplitPattern, "train_bpe", "kLlama3SplitPattern");
  SplitRegex::Matcher matcher(regex);

  Words words;
  BytesKeyedTable<std::uint32_t> word_index(1 << 16);
  std::vector<TextSegment> segments, scratch;
  std::vector<ByteSpan> pieces;
  for (std::size_t t = 0; t < texts.size(); ++t) {
    const std::string_view text = texts[t];
    if (const auto invalid = tokenizer_detail::find_invalid_utf8(text); invalid != std::string_view::npos)
      throw ArgumentError(fmt::format("train_bpe: texts[{}] is not valid UTF-8 (byte {})", t, invalid));
    if (text.size() > UINT32_MAX)  // the splitters' offsets are 32-bit
      throw ArgumentError(fmt::format("train_bpe: texts[{}] has {} bytes; split it below 4 GiB", t, text.size()));
    words.bytes += text.size();
    special_splitter.split(text, true, segments, scratch);
    for (const auto& segment : segments) {
      if (!segment.is_plain()) continue;
      const auto plain = text.substr(segment.begin, segment.end - segment.begin);
      matcher.split(plain, pieces);
      for (const auto& [begin, end] : pieces) {
        const auto piece = plain.substr(begin, end - begin);
        ++words.pre_token_count;
        const auto hash = tokenizer_detail::hash_bytes(piece);
        if (const auto* index = word_index.find(piece, hash)) {
          ++words.frequency[*index];
          continue;
        }
        word_index.insert(piece, hash, static_cast<std::uint32_t>(words.size()));
        words.start.push_back(static_cast<std::uint32_t>(words.symbols.size()));
        words.length.push_back(static_cast<std::uint32_t>(piece.size()));
        words.frequency.push_back(1);
        for (const char byte : piece) words.symbols.push_back(byte_tokens.id_of_byte[static_cast<std::uint8_t>(byte)]);
      }
    }
  }
  if (words.pre_token_count == 0)
    throw ArgumentError(fmt::format("train_bpe: no text to train on ({} texts, none with text outside special tokens)",
                                    texts.size()));
  return words;
}

}  // namespace moulin::organisms::bpe_detail
