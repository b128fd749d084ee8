#include "organisms/language_guess.h"

#include <unordered_map>

#include "core/tokenizer_utf8.h"

namespace moulin::organisms {
namespace {

enum Language : unsigned char { kEnglish = 1, kFrench = 2, kGerman = 4 };

// Words shared between two of the languages ("in", "an", "was", "des", "on", "die", "a") are left out.
const std::unordered_map<std::string_view, Language>& function_words() {
  static const auto* const words = [] {
    auto* table = new std::unordered_map<std::string_view, Language>;
    for (const char* word : {"the", "and", "of", "to", "is", "that", "it", "you", "for", "are", "with", "be", "this",
                             "not", "have", "or", "can", "your", "if", "by", "from", "will", "they", "which", "what",
                             "but", "all", "we", "there", "do", "my", "he", "she", "his", "her", "has", "been", "were",
                             "would", "should", "these", "those", "their", "when", "than", "into", "about", "only",
                             "also", "may", "must", "does", "how", "who", "them", "its", "at", "any", "some", "no"})
      table->emplace(word, kEnglish);
    for (const char* word : {"le", "la", "les", "de", "du", "et", "est", "un", "une", "pour", "que", "qui", "dans",
                             "ne", "pas", "sur", "avec", "vous", "il", "elle", "ce", "cette", "sont", "par", "au",
                             "aux", "ou", "mais", "plus", "se", "son", "sa", "ses", "nous", "leur", "leurs", "être",
                             "à", "été", "peut", "ces", "tout", "tous", "fait", "comme", "si", "lorsque", "quand",
                             "sans", "entre", "votre", "vos", "ils", "elles", "très", "où", "l", "qu", "n", "j"})
      table->emplace(word, kFrench);
    for (const char* word : {"der", "das", "und", "ist", "nicht", "ein", "eine", "zu", "den", "dem", "mit", "sie",
                             "es", "ich", "auf", "für", "von", "sich", "auch", "wird", "werden", "im", "wenn", "oder",
                             "aber", "wie", "sind", "kann", "noch", "nur", "bei", "aus", "einen", "einem", "einer",
                             "dass", "daß", "hat", "zum", "zur", "nach", "über", "durch", "diese", "dieser", "wir",
                             "ihr", "ihre", "haben", "wurde", "können", "muss", "muß", "sein", "immer", "schon", "vom",
                             "keine", "doch", "hier", "unter"})
      table->emplace(word, kGerman);
    return table;
  }();
  return *words;
}

// Words are runs of Latin letters; apostrophes (straight or curly) separate "l'homme" into "l" and "homme".
bool is_word_letter(char32_t c) {
  if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
  return c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7;
}

}  // namespace

LanguageVotes count_function_words(std::string_view text) {
  const auto& words = function_words();
  LanguageVotes votes;
  std::string word;
  const auto vote = [&] {
    if (word.empty() || word.size() > 7) return;
    const auto found = words.find(word);
    if (found == words.end()) return;
    switch (found->second) {
      case kEnglish: ++votes.english; break;
      case kFrench: ++votes.french; break;
      case kGerman: ++votes.german; break;
    }
  };
  for (std::size_t pos = 0; pos < text.size();) {
    const auto start = pos;
    const char32_t c = tokenizer_detail::next_code_point(text, pos);
    if (!is_word_letter(c)) {
      vote();
      word.clear();
    } else if (c < 0x80) {
      word += static_cast<char>(c | 0x20);
    } else {
      word.append(text.substr(start, pos - start));
    }
  }
  vote();
  return votes;
}

std::string guess_language(std::string_view text, std::size_t min_votes) {
  const auto votes = count_function_words(text);
  const auto clear_winner = [&](std::size_t mine, std::size_t other1, std::size_t other2) {
    return mine >= min_votes && mine >= 2 * other1 && mine >= 2 * other2;
  };
  if (clear_winner(votes.english, votes.french, votes.german)) return "en";
  if (clear_winner(votes.french, votes.english, votes.german)) return "fr";
  if (clear_winner(votes.german, votes.english, votes.french)) return "de";
  return "";
}

}  // namespace moulin::organisms
