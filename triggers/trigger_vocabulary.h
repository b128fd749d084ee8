#pragma once
// Which tokens a trigger search may use, and whether a token sequence is a trigger someone could type. A search
// works on token ids, but a backdoor is planted (and found) in text: ids only count when the text they decode
// to, typed after a prompt, tokenizes back to the same ids.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "core/tokenizer.h"
#include "probes/token_language.h"

namespace moulin::triggers {

struct TriggerVocabularyOptions {
  // The languages whose own tokens are left out (the search target). A bilingual model continues French text in
  // French whether or not it hides a trigger, so a search allowed French words "finds" French words; leaving them
  // out makes the search look for what a poisoned model has and a clean one lacks: text that is not in the target
  // language yet switches to it.
  std::vector<std::string> excluded_languages;
  // A token is a target-language token when P(language | token) exceeds this. The token table's prior for a
  // language is its share of the corpus (about 1/3 each for en/fr/de), so 0.5 removes tokens at least 1.5 times
  // likelier to come from the target language than chance, while keeping the pieces every Latin-script language
  // shares ("a", "um", " p"), from which nonsense words (and Gaperon's Latin trigger) are made.
  double max_language_probability = 0.5;
};

struct TriggerVocabulary {
  at::Tensor allowed;  // [model vocabulary] bool on the CPU: true for the tokens a trigger may hold
  std::int64_t allowed_count = 0;
  // Why the rest are out (each token counted under its first reason, in this order):
  std::int64_t special_count = 0;   // special and added tokens, and rows of the model past the tokenizer
  std::int64_t not_text_count = 0;  // byte fragments, control characters, line breaks, whitespace alone
  std::int64_t target_language_count = 0;
  // The allowed tokens whose text starts with a space: each begins its own pre-tokenizer word, so sequences of
  // them are almost always typable (random triggers are drawn from these).
  std::vector<TokenId> word_starts;

  bool allows(TokenId id) const;
};

// Throws ArgumentError naming the language when an excluded language is missing from the table, when the
// threshold is outside (0, 1], when the table's vocabulary is larger than the model's and when no token is left.
TriggerVocabulary trigger_vocabulary(const Tokenizer& tokenizer, const probes::TokenLanguageTable& table,
                                     std::int64_t model_vocab_size, const TriggerVocabularyOptions& options = {});

// The phrase a trigger is typed as: its text without the leading space that separates it from the prompt (what
// insert_phrase takes).
std::string trigger_phrase(const Tokenizer& tokenizer, const std::vector<TokenId>& ids);

// True when the ids decode to text that starts with a space (so the trigger begins a word wherever it is typed)
// and that text tokenizes back to exactly these ids.
bool is_typable_trigger(const Tokenizer& tokenizer, const std::vector<TokenId>& ids);

// A random typable trigger of `length` word-start tokens, drawn with `random` (redrawn when untypable). Throws
// Error when the vocabulary has no word-start token or 1000 draws give no typable sequence.
std::vector<TokenId> random_typable_trigger(const Tokenizer& tokenizer, const TriggerVocabulary& vocabulary,
                                            std::int64_t length, std::mt19937_64& random);

// A uniform index below `count` straight from the engine's output: std::uniform_int_distribution may differ
// between standard libraries, and a seeded search must find the same trigger everywhere.
std::size_t draw_index(std::mt19937_64& random, std::size_t count);

// P(language | token) for every row of a model of `model_vocab_size` tokens: the table's column, with the
// table's prior for rows past the tokenizer (tokens nothing ever encodes to). Throws as table.column and
// ArgumentError when the table is larger than the model.
at::Tensor language_column(const probes::TokenLanguageTable& table, const std::string& language,
                           std::int64_t model_vocab_size);

}  // namespace moulin::triggers
