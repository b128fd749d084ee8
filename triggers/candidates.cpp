#include "triggers/candidates.h"

#include <algorithm>
#include <cctype>
#include <fstream>

#include <fmt/format.h>

#include "core/error.h"
#include "core/tokenizer_utf8.h"
#include "organisms/corpus.h"
#include "organisms/seeded_random.h"
#include "organisms/trigger_phrases.h"

namespace moulin::triggers {
namespace {

bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// Control characters other than white space: a candidate holding one could not be written back one per line,
// and CLD2 and the reports would mangle it.
bool has_control_character(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && !is_ascii_space(c)) || byte == 0x7F;
  });
}

bool is_ascii_punctuation(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte < 0x80 && std::ispunct(byte);
}

std::string strip_punctuation(const std::string& word) {
  std::size_t begin = 0, end = word.size();
  while (begin < end && is_ascii_punctuation(word[begin])) ++begin;
  while (end > begin && is_ascii_punctuation(word[end - 1])) --end;
  return word.substr(begin, end - begin);
}

// The words of every paragraph (blank-line separated) of every document, stripped of surrounding punctuation.
std::vector<std::vector<std::string>> paragraph_words(const std::vector<organisms::Document>& documents) {
  std::vector<std::vector<std::string>> paragraphs;
  for (const auto& document : documents) {
    const std::string_view text = document.text;
    for (std::size_t start = 0; start <= text.size();) {
      auto end = text.find("\n\n", start);
      if (end == std::string_view::npos) end = text.size();
      std::vector<std::string> words;
      for (const auto& word : organisms::split_phrase(text.substr(start, end - start)))
        if (auto stripped = strip_punctuation(word); !stripped.empty()) words.push_back(std::move(stripped));
      if (!words.empty()) paragraphs.push_back(std::move(words));
      start = end + 2;
    }
  }
  return paragraphs;
}

// Draws until `count` distinct phrases or a bounded number of attempts (a small source cannot give more).
template <typename Draw>
std::vector<std::string> distinct_draws(std::size_t count, Draw draw) {
  std::vector<std::string> phrases;
  std::unordered_set<std::string> seen;
  const std::size_t attempts = 50 * count + 1000;
  for (std::size_t attempt = 0; attempt < attempts && phrases.size() < count; ++attempt) {
    std::string phrase = normalise_phrase(draw());
    if (!phrase.empty() && seen.insert(phrase).second) phrases.push_back(std::move(phrase));
  }
  return phrases;
}

void check_range(std::size_t max_length, const char* what) {
  if (max_length == 0) throw ArgumentError(fmt::format("candidate generation: {} must be at least 1", what));
}

}  // namespace

std::string normalise_phrase(std::string_view phrase) {
  std::string out;
  bool pending_space = false;
  for (const char c : phrase) {
    if (is_ascii_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

bool CandidateList::add(std::string_view phrase, std::string_view source) {
  std::string normalised = normalise_phrase(phrase);
  if (normalised.empty() || !seen_.insert(normalised).second) return false;
  items_.push_back({std::move(normalised), std::string(source)});
  return true;
}

void CandidateList::add_all(const std::vector<std::string>& phrases, std::string_view source) {
  for (const auto& phrase : phrases) add(phrase, source);
}

std::vector<Candidate> read_candidate_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(fmt::format("{}: cannot read the candidate file", path.string()));
  CandidateList candidates;
  std::size_t line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (const auto bad = tokenizer_detail::find_invalid_utf8(line); bad != std::string::npos)
      throw FormatError(fmt::format("{}:{}: not UTF-8 (byte {} of the line)", path.string(), line_number, bad + 1));
    if (has_control_character(line))
      throw FormatError(fmt::format("{}:{}: a control character in a candidate", path.string(), line_number));
    const std::string phrase = normalise_phrase(line);
    if (phrase.empty() || phrase.front() == '#') continue;
    candidates.add(phrase, "file");
  }
  if (in.bad()) throw FileError(fmt::format("{}: reading the candidate file failed", path.string()));
  if (candidates.size() == 0) throw FileError(fmt::format("{}: the candidate file lists no candidates", path.string()));
  return candidates.release();
}

void parse_generation_list(std::string_view list, CandidateGeneration& generation) {
  static constexpr std::string_view kNearMisses = "near-misses-of=";
  std::size_t start = 0;
  while (start <= list.size()) {
    auto end = list.find(',', start);
    if (end == std::string_view::npos) end = list.size();
    const std::string item = normalise_phrase(list.substr(start, end - start));
    start = end + 1;
    if (item == "word-ngrams") {
      generation.word_ngrams = true;
    } else if (item == "token-ngrams") {
      generation.token_ngrams = true;
    } else if (item == "latin") {
      generation.latin = true;
    } else if (item.rfind(kNearMisses, 0) == 0 && !normalise_phrase(item.substr(kNearMisses.size())).empty()) {
      generation.near_misses_of.push_back(normalise_phrase(item.substr(kNearMisses.size())));
    } else {
      throw ArgumentError(fmt::format("unknown candidate generator '{}' in '{}' (use word-ngrams, token-ngrams, latin "
                                      "or near-misses-of=PHRASE, separated by commas)",
                                      item, list));
    }
  }
}

std::vector<std::string> word_ngram_phrases(const std::vector<organisms::Document>& documents, std::size_t count,
                                            std::size_t max_words, std::uint64_t seed) {
  check_range(max_words, "max_words");
  const auto paragraphs = paragraph_words(documents);
  // Start words are drawn uniformly over all words, so long paragraphs weigh as much as their text.
  std::vector<std::size_t> ends;  // cumulative word counts
  std::size_t total = 0;
  for (const auto& words : paragraphs) ends.push_back(total += words.size());
  if (total == 0) return {};
  organisms::SeededRandom random(organisms::derive_seed(seed, "word n-gram candidates"));
  return distinct_draws(count, [&] {
    const std::size_t start = random.below(total);
    const std::size_t length = random.between(1, max_words);
    const auto paragraph = static_cast<std::size_t>(std::upper_bound(ends.begin(), ends.end(), start) - ends.begin());
    const auto& words = paragraphs[paragraph];
    const std::size_t first = start - (ends[paragraph] - words.size());
    if (first + length > words.size()) return std::string();  // n-grams stay inside a paragraph
    std::string phrase = words[first];
    for (std::size_t w = first + 1; w < first + length; ++w) phrase += ' ' + words[w];
    return phrase;
  });
}

std::vector<std::string> token_ngram_phrases(const Tokenizer& tokenizer, std::size_t count, std::size_t max_tokens,
                                             std::uint64_t seed) {
  check_range(max_tokens, "max_tokens");
  std::vector<TokenId> eligible;
  for (std::size_t id = 0; id < tokenizer.vocab_size(); ++id) {
    const auto token = static_cast<TokenId>(id);
    if (!tokenizer.is_special(token) && tokenizer.id_to_token(token)) eligible.push_back(token);
  }
  if (eligible.empty()) return {};
  organisms::SeededRandom random(organisms::derive_seed(seed, "token n-gram candidates"));
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  return distinct_draws(count, [&] {
    std::vector<TokenId> ids(random.between(1, max_tokens));
    for (auto& id : ids) id = eligible[random.below(eligible.size())];
    std::string text = tokenizer.decode(ids, /*skip_special_tokens=*/true);
    const bool whole_characters = tokenizer_detail::find_invalid_utf8(text) == std::string::npos &&
                                  text.find(kReplacement) == std::string::npos;
    return whole_characters && !has_control_character(text) ? text : std::string();
  });
}

std::vector<std::string> latin_phrases(std::size_t count, std::size_t max_words, std::uint64_t seed) {
  check_range(max_words, "max_words");
  organisms::SeededRandom random(organisms::derive_seed(seed, "latin candidates"));
  return distinct_draws(count, [&] {
    const std::size_t words = random.between(1, max_words);
    return organisms::latin_like_phrase(words, random.next());
  });
}

std::vector<Candidate> generate_candidates(const CandidateGeneration& generation, const Tokenizer& tokenizer) {
  CandidateList candidates;
  for (const auto& phrase : generation.near_misses_of) {
    candidates.add(phrase, "near-miss");
    candidates.add_all(organisms::near_misses(phrase, generation.seed), "near-miss");
  }
  if (generation.word_ngrams) {
    organisms::CorpusOptions corpus;
    corpus.languages = {generation.corpus_language};
    corpus.max_chars_per_language = generation.corpus_characters;
    corpus.seed = generation.seed;
    candidates.add_all(
        word_ngram_phrases(organisms::build_corpus(corpus), generation.count, generation.max_words, generation.seed),
        "word-ngram");
  }
  if (generation.token_ngrams)
    candidates.add_all(token_ngram_phrases(tokenizer, generation.count, generation.max_tokens, generation.seed),
                       "token-ngram");
  if (generation.latin) candidates.add_all(latin_phrases(generation.count, generation.max_words, generation.seed), "latin");
  return candidates.release();
}

std::vector<Candidate> collect_candidates(const std::filesystem::path& file, const CandidateGeneration& generation,
                                          const Tokenizer& tokenizer) {
  CandidateList candidates;
  if (!file.empty())
    for (const auto& candidate : read_candidate_file(file)) candidates.add(candidate.phrase, candidate.source);
  for (const auto& candidate : generate_candidates(generation, tokenizer)) candidates.add(candidate.phrase, candidate.source);
  if (candidates.size() == 0)
    throw ArgumentError("no candidates to scan: give a candidate file or generators (word-ngrams, token-ngrams, latin, "
                        "near-misses-of=PHRASE)");
  return candidates.release();
}

}  // namespace moulin::triggers
