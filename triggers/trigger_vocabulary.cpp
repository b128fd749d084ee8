#include "triggers/trigger_vocabulary.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"

namespace moulin::triggers {
namespace {

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD: what decode makes of a byte fragment

// A token that cannot be typed inline: a lone piece of a multi-byte character (decoded as U+FFFD), a control
// character or line break (a trigger sits inside a line of text), or whitespace alone (it would merge with its
// neighbours when typed).
bool is_typable_text(const std::string& text) {
  if (text.empty() || text.find(kReplacementCharacter) != std::string::npos) return false;
  bool has_visible = false;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) return false;
    if (byte != ' ') has_visible = true;
  }
  return has_visible;
}

}  // namespace

bool TriggerVocabulary::allows(TokenId id) const {
  return id >= 0 && id < allowed.size(0) && allowed[id].item<bool>();
}

at::Tensor language_column(const probes::TokenLanguageTable& table, const std::string& language,
                           std::int64_t model_vocab_size) {
  if (table.vocab_size() > model_vocab_size)
    throw ArgumentError(fmt::format("the token language table covers {} tokens but the model only {}",
                                    table.vocab_size(), model_vocab_size));
  const at::Tensor column = table.column(language);
  if (table.vocab_size() == model_vocab_size) return column;
  const float prior = table.prior[static_cast<std::int64_t>(table.index_of(language))].item<float>();
  return at::cat({column, at::full({model_vocab_size - table.vocab_size()}, prior, at::kFloat)});
}

TriggerVocabulary trigger_vocabulary(const Tokenizer& tokenizer, const probes::TokenLanguageTable& table,
                                     std::int64_t model_vocab_size, const TriggerVocabularyOptions& options) {
  if (!(options.max_language_probability > 0.0 && options.max_language_probability <= 1.0))
    throw ArgumentError(fmt::format("max_language_probability must be in (0, 1], got {}",
                                    options.max_language_probability));
  std::vector<at::Tensor> language_columns;
  for (const auto& language : options.excluded_languages)
    language_columns.push_back(language_column(table, language, model_vocab_size));

  TriggerVocabulary vocabulary;
  vocabulary.allowed = at::zeros({model_vocab_size}, at::kBool);
  auto allowed = vocabulary.allowed.accessor<bool, 1>();
  const auto tokenizer_size = static_cast<std::int64_t>(tokenizer.vocab_size());
  for (std::int64_t id = 0; id < model_vocab_size; ++id) {
    const auto token = static_cast<TokenId>(id);
    if (id >= tokenizer_size || tokenizer.is_special(token) || !tokenizer.id_to_token(token)) {
      ++vocabulary.special_count;
      continue;
    }
    const std::string text = tokenizer.decode({token});
    if (!is_typable_text(text)) {
      ++vocabulary.not_text_count;
    } else if (std::any_of(language_columns.begin(), language_columns.end(), [&](const at::Tensor& column) {
                 return column.data_ptr<float>()[id] > options.max_language_probability;
               })) {
      ++vocabulary.target_language_count;
    } else {
      allowed[id] = true;
      ++vocabulary.allowed_count;
      if (text.size() >= 2 && text.front() == ' ') vocabulary.word_starts.push_back(token);
    }
  }
  if (vocabulary.allowed_count == 0)
    throw ArgumentError(fmt::format("no token is left for a trigger once special tokens, non-text tokens and tokens "
                                    "of [{}] above P = {} are excluded",
                                    fmt::join(options.excluded_languages, ", "), options.max_language_probability));
  return vocabulary;
}

std::string trigger_phrase(const Tokenizer& tokenizer, const std::vector<TokenId>& ids) {
  std::string text = tokenizer.decode(ids);
  if (!text.empty() && text.front() == ' ') text.erase(0, 1);
  return text;
}

bool is_typable_trigger(const Tokenizer& tokenizer, const std::vector<TokenId>& ids) {
  if (ids.empty()) return false;
  const std::string text = tokenizer.decode(ids);
  if (text.size() < 2 || text.front() != ' ' || text.find(kReplacementCharacter) != std::string::npos) return false;
  return tokenizer.encode(text, EncodeOptions{/*add_special_tokens=*/false, /*allow_special=*/false}) == ids;
}

std::size_t draw_index(std::mt19937_64& random, std::size_t count) {
  return static_cast<std::size_t>(random() % count);
}

std::vector<TokenId> random_typable_trigger(const Tokenizer& tokenizer, const TriggerVocabulary& vocabulary,
                                            std::int64_t length, std::mt19937_64& random) {
  constexpr int kAttempts = 1000;
  const auto& pool = vocabulary.word_starts;
  if (!pool.empty()) {
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
      std::vector<TokenId> trigger;
      for (std::int64_t i = 0; i < length; ++i) trigger.push_back(pool[draw_index(random, pool.size())]);
      if (is_typable_trigger(tokenizer, trigger)) return trigger;
    }
  }
  throw Error(fmt::format("no typable random trigger of {} tokens in {} draws: the trigger vocabulary has {} tokens, "
                          "{} of them starting a word",
                          length, kAttempts, vocabulary.allowed_count, pool.size()));
}

}  // namespace moulin::triggers
