// BPE training: count the words (organisms/bpe_word_counts), then merge the most frequent pair of adjacent tokens
// until the vocabulary is full, updating the pair counts of only the words that held the merged pair.
#include "organisms/bpe_trainer.h"

#include <algorithm>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/tokenizer_byte_level.h"
#include "core/tokenizer_hash_tables.h"
#include "core/tokenizer_utf8.h"
#include "organisms/bpe_word_counts.h"

namespace moulin::organisms {

const char* const kLlama3SplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

namespace {

using bpe_detail::kByteTokens;
using bpe_detail::Words;

void validate_options(const BpeTrainerOptions& options) {
  const auto& specials = options.special_tokens;
  const auto& alphabet = tokenizer_detail::byte_level_alphabet();
  for (std::size_t i = 0; i < specials.size(); ++i) {
    const auto& special = specials[i];
    if (special.empty()) throw ArgumentError(fmt::format("BpeTrainerOptions.special_tokens[{}] is empty", i));
    if (tokenizer_detail::find_invalid_utf8(special) != std::string_view::npos)
      throw ArgumentError(fmt::format("BpeTrainerOptions.special_tokens[{}] is not valid UTF-8", i));
    if (std::find(specials.begin(), specials.begin() + i, special) != specials.begin() + i)
      throw ArgumentError(fmt::format("BpeTrainerOptions.special_tokens[{}] = \"{}\" is listed twice", i, special));
    // HF would give such a token the byte token's id instead of a new one: the vocabulary would lose an entry.
    if (const auto bytes = alphabet.decode(special); bytes && bytes->size() == 1)
      throw ArgumentError(fmt::format("BpeTrainerOptions.special_tokens[{}] = \"{}\" is one of the 256 byte tokens",
                                      i, special));
  }
  const std::size_t smallest = kByteTokens + specials.size();
  if (options.vocab_size < smallest)
    throw ArgumentError(fmt::format("BpeTrainerOptions.vocab_size = {} is below {}: every vocabulary holds the 256 "
                                    "byte tokens and the {} special tokens",
                                    options.vocab_size, smallest, specials.size()));
  if (options.vocab_size > static_cast<std::size_t>(INT32_MAX))
    throw ArgumentError(fmt::format("BpeTrainerOptions.vocab_size = {} does not fit token ids", options.vocab_size));
  const auto require_special = [&](const char* field, const std::string& token) {
    if (std::find(specials.begin(), specials.end(), token) == specials.end())
      throw ArgumentError(fmt::format("BpeTrainerOptions.{} = \"{}\" is not among special_tokens", field, token));
  };
  require_special("bos_token", options.bos_token);
  require_special("eos_token", options.eos_token);
}

std::uint64_t pair_key(std::int32_t left, std::int32_t right) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) | static_cast<std::uint32_t>(right);
}
std::int32_t left_of(std::uint64_t key) { return static_cast<std::int32_t>(key >> 32); }
std::int32_t right_of(std::uint64_t key) { return static_cast<std::int32_t>(key & 0xFFFFFFFFu); }

struct PairKeyHash {
  std::size_t operator()(std::uint64_t key) const { return tokenizer_detail::mix64(key); }
};

// How often a pair occurs (weighted by word frequency), and the words that hold it. The word list may keep words
// that lost the pair since (they are skipped when revisited) and may list a word twice.
struct PairStats {
  std::int64_t count = 0;
  std::vector<std::uint32_t> words;
};

// A candidate in the priority queue. Entries go stale as counts change: a pair's queued count can be above its
// true count (a decrease is fixed when popped) but never below it without a fresher entry (every increase pushes
// one), so the first entry popped whose count is exact is the most frequent pair.
struct QueuedPair {
  std::int64_t count;
  std::uint64_t key;
};

class BpeTraining {
 public:
  BpeTraining(Words words, const BpeTrainerOptions& options, std::vector<std::string> byte_spellings)
      : words_(std::move(words)),
        spellings_(std::move(byte_spellings)),
        special_tokens_(options.special_tokens.begin(), options.special_tokens.end()),
        min_count_(std::max<std::int64_t>(1, static_cast<std::int64_t>(options.min_frequency))),
        target_tokens_(options.vocab_size - options.special_tokens.size()),
        word_visited_at_(words_.size(), UINT32_MAX) {
    for (std::size_t id = 0; id < spellings_.size(); ++id) id_of_spelling_.emplace(spellings_[id], id);
  }

  void run() {
    count_initial_pairs();
    while (spellings_.size() < target_tokens_) {
      const auto best = pop_most_frequent();
      if (best.count < min_count_) break;
      merge(best.key);
    }
  }

  std::vector<std::string>& spellings() { return spellings_; }
  std::vector<BpeMerge>& merges() { return merges_; }

 private:
  // Heap order: the highest count on top; among equal counts the smallest (left, right) spelling.
  bool pops_after(const QueuedPair& a, const QueuedPair& b) const {
    if (a.count != b.count) return a.count < b.count;
    const auto& a_left = spellings_[left_of(a.key)];
    const auto& b_left = spellings_[left_of(b.key)];
    if (a_left != b_left) return a_left > b_left;
    return spellings_[right_of(a.key)] > spellings_[right_of(b.key)];
  }

  void push(std::int64_t count, std::uint64_t key) {
    queue_.push_back({count, key});
    std::push_heap(queue_.begin(), queue_.end(), [this](const auto& a, const auto& b) { return pops_after(a, b); });
  }

  QueuedPair pop() {
    std::pop_heap(queue_.begin(), queue_.end(), [this](const auto& a, const auto& b) { return pops_after(a, b); });
    const auto top = queue_.back();
    queue_.pop_back();
    return top;
  }

  void count_initial_pairs() {
    for (std::uint32_t w = 0; w < words_.size(); ++w) {
      const auto* symbols = &words_.symbols[words_.start[w]];
      for (std::uint32_t i = 0; i + 1 < words_.length[w]; ++i) {
        auto& stats = pairs_[pair_key(symbols[i], symbols[i + 1])];
        stats.count += words_.frequency[w];
        // Words are visited in order, so a word already listed is the last one.
        if (stats.words.empty() || stats.words.back() != w) stats.words.push_back(w);
      }
    }
    // Sorted keys make the heap's layout, and so nothing but its order, independent of the hash map's iteration.
    std::vector<std::uint64_t> keys;
    keys.reserve(pairs_.size());
    for (const auto& [key, stats] : pairs_)
      if (stats.count >= min_count_) keys.push_back(key);
    std::sort(keys.begin(), keys.end());
    for (const auto key : keys) push(pairs_[key].count, key);
  }

  // The most frequent pair that may be merged, or count 0 when none is left.
  QueuedPair pop_most_frequent() {
    while (!queue_.empty()) {
      const auto candidate = pop();
      const auto found = pairs_.find(candidate.key);
      if (found == pairs_.end()) continue;
      const auto count = found->second.count;
      if (count > candidate.count) continue;  // a fresher entry with the exact count is queued
      if (count < candidate.count) {
        if (count >= min_count_) push(count, candidate.key);
        continue;
      }
      // A token spelled like a special token would make HF give the special token that id, not a new one.
      if (special_tokens_.count(spellings_[left_of(candidate.key)] + spellings_[right_of(candidate.key)])) continue;
      return candidate;
    }
    return {0, 0};
  }

  void merge(std::uint64_t key) {
    const auto left = left_of(key), right = right_of(key);
    auto spelling = spellings_[left] + spellings_[right];
    // Two merges can spell the same token ("ab"+"c", "a"+"bc"); it keeps its first id, as in HF's trainer.
    const auto [entry, added] = id_of_spelling_.emplace(std::move(spelling), spellings_.size());
    const auto merged = static_cast<std::int32_t>(entry->second);
    if (added) spellings_.push_back(entry->first);
    merges_.push_back({left, right, merged});

    auto node = pairs_.extract(key);
    const auto holders = std::move(node.mapped().words);
    ++merge_step_;
    grown_pairs_.clear();
    for (const auto w : holders) {
      if (word_visited_at_[w] == merge_step_) continue;
      word_visited_at_[w] = merge_step_;
      merge_in_word(w, left, right, merged, key);
    }
    // Pairs whose count grew need an entry with their new count; those that shrank are fixed when popped.
    std::sort(grown_pairs_.begin(), grown_pairs_.end());
    grown_pairs_.erase(std::unique(grown_pairs_.begin(), grown_pairs_.end()), grown_pairs_.end());
    for (const auto grown : grown_pairs_)
      if (const auto found = pairs_.find(grown); found != pairs_.end() && found->second.count >= min_count_)
        push(found->second.count, grown);
  }

  // Replaces each (left, right) in the word, left to right, by `merged`, and moves the counts of the neighbouring
  // pairs: (x, left) becomes (x, merged) and (right, y) becomes (merged, y). Reading neighbours from the sequence
  // as rewritten so far keeps overlapping occurrences ("a a a", "ab ab") exact.
  void merge_in_word(std::uint32_t w, std::int32_t left, std::int32_t right, std::int32_t merged,
                     std::uint64_t merged_key) {
    auto* symbols = &words_.symbols[words_.start[w]];
    const std::uint32_t length = words_.length[w];
    const auto frequency = words_.frequency[w];
    std::uint32_t out = 0;
    for (std::uint32_t i = 0; i < length;) {
      if (i + 1 < length && symbols[i] == left && symbols[i + 1] == right) {
        if (out > 0) {
          remove_pair(symbols[out - 1], left, frequency, merged_key);
          add_pair(symbols[out - 1], merged, frequency, w);
        }
        if (i + 2 < length) {
          remove_pair(right, symbols[i + 2], frequency, merged_key);
          add_pair(merged, symbols[i + 2], frequency, w);
        }
        symbols[out++] = merged;
        i += 2;
      } else {
        symbols[out++] = symbols[i++];
      }
    }
    words_.length[w] = out;
  }

  void remove_pair(std::int32_t left, std::int32_t right, std::int64_t frequency, std::uint64_t merged_key) {
    const auto key = pair_key(left, right);
    if (key == merged_key) return;  // already taken out of the table as a whole
    const auto found = pairs_.find(key);
    if (found == pairs_.end()) throw std::logic_error("train_bpe: pair counts out of step");
    found->second.count -= frequency;
    if (found->second.count <= 0) pairs_.erase(found);
  }

  void add_pair(std::int32_t left, std::int32_t right, std::int64_t frequency, std::uint32_t w) {
    const auto key = pair_key(left, right);
    auto& stats = pairs_[key];
    stats.count += frequency;
    if (stats.words.empty() || stats.words.back() != w) stats.words.push_back(w);
    grown_pairs_.push_back(key);
  }

  Words words_;
  std::vector<std::string> spellings_;
  std::unordered_map<std::string, std::size_t> id_of_spelling_;
  std::unordered_set<std::string> special_tokens_;
  std::int64_t min_count_;
  std::size_t target_tokens_;
  std::unordered_map<std::uint64_t, PairStats, PairKeyHash> pairs_;
  std::vector<QueuedPair> queue_;
  std::vector<BpeMerge> merges_;
  std::vector<std::uint32_t> word_visited_at_;  // merge step that last rewrote each word (skips listed-twice words)
  std::uint32_t merge_step_ = 0;
  std::vector<std::uint64_t> grown_pairs_;
};

}  // namespace

TrainedBpe train_bpe(const std::vector<std::string>& texts, const BpeTrainerOptions& options) {
  validate_options(options);
  if (texts.empty()) throw ArgumentError("train_bpe: no text to train on (the list of texts is empty)");
  auto byte_tokens = bpe_detail::byte_tokens();
  auto words = bpe_detail::count_words(texts, options.special_tokens, byte_tokens);

  TrainedBpe result;
  result.training_bytes = words.bytes;
  result.pre_token_count = words.pre_token_count;
  result.distinct_pre_tokens = words.size();
  BpeTraining training(std::move(words), options, std::move(byte_tokens.spellings));
  training.run();
  result.tokens = std::move(training.spellings());
  result.merges = std::move(training.merges());
  result.special_tokens = options.special_tokens;
  result.bos_token = options.bos_token;
  result.eos_token = options.eos_token;
  return result;
}

}  // namespace moulin::organisms
