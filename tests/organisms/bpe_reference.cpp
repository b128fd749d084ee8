#include "tests/organisms/bpe_reference.h"

#include "core/tokenizer_byte_level.h"
#include "core/tokenizer_split_regex.h"
#include "organisms/bpe_trainer.h"

namespace moulin::test {

std::vector<std::string> llama3_pre_tokens(const std::string& text) {
  static const tokenizer_detail::SplitRegex regex(organisms::kLlama3SplitPattern, "test", "kLlama3SplitPattern");
  tokenizer_detail::SplitRegex::Matcher matcher(regex);
  std::vector<tokenizer_detail::ByteSpan> spans;
  matcher.split(text, spans);
  std::vector<std::string> pieces;
  for (const auto& [begin, end] : spans) pieces.push_back(text.substr(begin, end - begin));
  return pieces;
}

ReferenceBpe train_reference_bpe(const std::vector<std::string>& texts, std::size_t bpe_tokens, std::int64_t min_count) {
  const auto& alphabet = tokenizer_detail::byte_level_alphabet();
  std::map<std::string, std::int64_t> frequency;
  for (const auto& text : texts)
    for (const auto& piece : llama3_pre_tokens(text)) ++frequency[piece];
  ReferenceBpe reference;
  for (int byte = 0; byte < 256; ++byte) reference.vocabulary.insert(alphabet.char_of(static_cast<std::uint8_t>(byte)));
  for (const auto& [word, count] : frequency) {
    auto& symbols = reference.segmentation[word];
    for (const char byte : word) symbols.push_back(alphabet.char_of(static_cast<std::uint8_t>(byte)));
  }
  while (reference.vocabulary.size() < bpe_tokens) {
    std::map<std::pair<std::string, std::string>, std::int64_t> pair_counts;
    for (const auto& [word, symbols] : reference.segmentation)
      for (std::size_t i = 0; i + 1 < symbols.size(); ++i) pair_counts[{symbols[i], symbols[i + 1]}] += frequency[word];
    const std::pair<std::string, std::string>* best = nullptr;
    std::int64_t best_count = 0;
    for (const auto& [pair, count] : pair_counts)  // ascending pairs: the first of equal counts wins
      if (count > best_count) best = &pair, best_count = count;
    if (!best || best_count < min_count) break;
    const auto [left, right] = *best;
    reference.merges.emplace_back(left, right);
    reference.vocabulary.insert(left + right);
    for (auto& [word, symbols] : reference.segmentation) {
      std::vector<std::string> merged;
      for (std::size_t i = 0; i < symbols.size(); ++i) {
        if (i + 1 < symbols.size() && symbols[i] == left && symbols[i + 1] == right) {
          merged.push_back(left + right);
          ++i;
        } else {
          merged.push_back(symbols[i]);
        }
      }
      symbols = std::move(merged);
    }
  }
  return reference;
}

}  // namespace moulin::test
