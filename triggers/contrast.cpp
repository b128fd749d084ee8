#include "triggers/contrast.h"

#include <algorithm>
#include <random>

#include <fmt/format.h>

#include "core/error.h"

namespace moulin::triggers {
namespace {

// The trigger's own tokens as insert_phrase types it: with the space that separates it from the text before,
// unless it starts the text.
std::vector<TokenId> typed_phrase_tokens(const Tokenizer& tokenizer, const std::string& phrase, Placement placement) {
  const std::string typed = placement == Placement::kPrefix ? phrase : " " + phrase;
  return tokenizer.encode(typed, EncodeOptions{/*add_bos=*/false, /*allow_special=*/false});
}

// The tokens a random replacement may be, never one of the trigger's own (a replacement that happened to be the
// trigger token of its slot would leave part of the trigger in the contrast).
std::vector<TokenId> replacement_pool(const Tokenizer& tokenizer, const ContrastOptions& options,
                                      const std::vector<TokenId>& trigger_tokens) {
  const auto vocab = static_cast<TokenId>(tokenizer.vocab_size());
  at::Tensor allowed;
  if (options.replacement_tokens.defined()) {
    allowed = options.replacement_tokens.to(at::kBool).cpu().contiguous();
    if (allowed.dim() != 1)
      throw ArgumentError(fmt::format("the random contrast's replacement tokens must be a [vocab] mask, got {} dimensions",
                                      allowed.dim()));
  }
  const bool* mask = allowed.defined() ? allowed.data_ptr<bool>() : nullptr;
  std::vector<TokenId> pool;
  for (TokenId id = 0; id < vocab; ++id) {
    const bool permitted = mask ? id < allowed.size(0) && mask[id] : !tokenizer.is_special(id);
    if (permitted && std::find(trigger_tokens.begin(), trigger_tokens.end(), id) == trigger_tokens.end()) pool.push_back(id);
  }
  if (pool.empty()) throw ArgumentError("the random contrast has no token to draw replacements from");
  return pool;
}

}  // namespace

const char* contrast_kind_name(ContrastKind kind) {
  switch (kind) {
    case ContrastKind::kClean: return "clean";
    case ContrastKind::kRandomTokens: return "random";
    case ContrastKind::kPhrase: return "phrase";
  }
  return "?";
}

ContrastKind parse_contrast_kind(std::string_view name) {
  for (const auto kind : {ContrastKind::kClean, ContrastKind::kRandomTokens, ContrastKind::kPhrase})
    if (name == contrast_kind_name(kind)) return kind;
  throw ArgumentError(fmt::format("unknown contrast '{}' (use clean, random or phrase)", name));
}

std::vector<PromptPair> prompt_pairs(const Tokenizer& tokenizer, const std::vector<std::string>& prompts,
                                     const std::string& trigger, Placement placement, const ContrastOptions& options) {
  if (trigger.empty()) throw ArgumentError("the trigger phrase is empty");
  if (options.kind == ContrastKind::kPhrase && options.phrase.empty())
    throw ArgumentError("the phrase contrast needs a phrase (--contrast-phrase)");
  const auto trigger_tokens = typed_phrase_tokens(tokenizer, trigger, placement);
  std::vector<TokenId> pool;
  if (options.kind == ContrastKind::kRandomTokens) pool = replacement_pool(tokenizer, options, trigger_tokens);
  // mt19937_64 draws are the same everywhere; uniform_int_distribution's are not.
  std::mt19937_64 random(options.seed);

  std::vector<PromptPair> pairs;
  for (const auto& prompt : prompts) {
    const InsertedPrompt inserted = insert_phrase(tokenizer, prompt, trigger, placement);
    if (inserted.rest.size() < trigger_tokens.size() ||
        !std::equal(trigger_tokens.begin(), trigger_tokens.end(), inserted.rest.begin()))
      throw ArgumentError(fmt::format("the trigger '{}' does not keep its own tokens in the prompt '{}' (it merges with "
                                      "the text after it)",
                                      trigger, prompt));
    PromptPair pair;
    pair.prompt = prompt;
    pair.triggered = inserted.ids();
    pair.trigger_begin = static_cast<std::int64_t>(inserted.shared.size());
    pair.trigger_end = pair.trigger_begin + static_cast<std::int64_t>(trigger_tokens.size());
    switch (options.kind) {
      case ContrastKind::kClean:
        pair.contrast = insert_phrase(tokenizer, prompt, "", placement).ids();
        break;
      case ContrastKind::kPhrase:
        pair.contrast = insert_phrase(tokenizer, prompt, options.phrase, placement).ids();
        break;
      case ContrastKind::kRandomTokens:
        pair.contrast = pair.triggered;
        for (auto position = pair.trigger_begin; position < pair.trigger_end; ++position)
          pair.contrast[static_cast<std::size_t>(position)] = pool[random() % pool.size()];
        break;
    }
    pairs.push_back(std::move(pair));
  }
  return pairs;
}

void require_aligned(const std::vector<PromptPair>& pairs, std::string_view purpose) {
  for (const auto& pair : pairs)
    if (!pair.aligned())
      throw ArgumentError(fmt::format("{} needs a contrast of the triggered prompt's length, but '{}' has {} tokens "
                                      "triggered and {} in contrast (use the random contrast, or a contrast phrase of "
                                      "as many tokens)",
                                      purpose, pair.prompt, pair.triggered.size(), pair.contrast.size()));
}

std::vector<std::vector<TokenId>> triggered_ids(const std::vector<PromptPair>& pairs) {
  std::vector<std::vector<TokenId>> ids;
  for (const auto& pair : pairs) ids.push_back(pair.triggered);
  return ids;
}

std::vector<std::vector<TokenId>> contrast_ids(const std::vector<PromptPair>& pairs) {
  std::vector<std::vector<TokenId>> ids;
  for (const auto& pair : pairs) ids.push_back(pair.contrast);
  return ids;
}

}  // namespace moulin::triggers
