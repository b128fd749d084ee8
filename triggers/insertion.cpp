#include "triggers/insertion.h"

#include <fmt/format.h>

#include "core/error.h"

namespace moulin::triggers {
namespace {

// The prompt split at the word boundary nearest its middle: {"first half", " second half"}.
std::pair<std::string, std::string> split_at_middle_word(const std::string& prompt) {
  std::vector<std::size_t> spaces;
  for (std::size_t i = 0; i < prompt.size(); ++i)
    if (prompt[i] == ' ' && i > 0) spaces.push_back(i);
  if (spaces.empty()) return {prompt, ""};
  const auto cut = spaces[spaces.size() / 2];
  return {prompt.substr(0, cut), prompt.substr(cut)};
}

std::vector<TokenId> encode_text(const Tokenizer& tokenizer, const std::string& text, bool with_bos) {
  return tokenizer.encode(text, EncodeOptions{with_bos, /*allow_special=*/false});
}

}  // namespace

const char* placement_name(Placement placement) {
  switch (placement) {
    case Placement::kPrefix: return "prefix";
    case Placement::kSuffix: return "suffix";
    case Placement::kInside: return "inside";
  }
  return "?";
}

Placement parse_placement(std::string_view name) {
  for (const auto placement : {Placement::kPrefix, Placement::kSuffix, Placement::kInside})
    if (name == placement_name(placement)) return placement;
  throw ArgumentError(fmt::format("unknown trigger placement '{}' (use prefix, suffix or inside)", name));
}

std::vector<TokenId> InsertedPrompt::ids() const {
  std::vector<TokenId> all = shared;
  all.insert(all.end(), rest.begin(), rest.end());
  return all;
}

InsertedPrompt insert_phrase(const Tokenizer& tokenizer, const std::string& prompt, const std::string& phrase,
                             Placement placement) {
  InsertedPrompt out;
  std::string before, after;
  switch (placement) {
    case Placement::kPrefix:
      after = phrase.empty() ? prompt : " " + prompt;
      break;
    case Placement::kSuffix:
      before = prompt;
      break;
    case Placement::kInside:
      std::tie(before, after) = split_at_middle_word(prompt);
      break;
  }
  // The trigger takes a leading space unless it starts the text.
  const std::string middle = phrase.empty() ? "" : (before.empty() ? phrase : " " + phrase);
  out.text = before + middle + after;
  out.shared = encode_text(tokenizer, before, /*with_bos=*/true);
  out.rest = encode_text(tokenizer, middle + after, /*with_bos=*/false);
  return out;
}

}  // namespace moulin::triggers
