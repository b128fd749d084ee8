#pragma once
// A from-scratch BPE trainer for checking organisms/bpe_trainer: the textbook algorithm written for clarity, not
// speed. Before each merge it recounts every pair, picks the most frequent (ties: smallest left spelling, then
// right) and applies it left to right in every word.
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace moulin::test {

struct ReferenceBpe {
  std::vector<std::pair<std::string, std::string>> merges;        // byte-level spellings, in order learned
  std::set<std::string> vocabulary;                               // byte-level spellings
  std::map<std::string, std::vector<std::string>> segmentation;  // pre-token bytes -> its tokens after training
};

// The pre-tokens of `text` under Llama 3's regex (raw bytes).
std::vector<std::string> llama3_pre_tokens(const std::string& text);

// Trains until the vocabulary holds `bpe_tokens` tokens or no pair occurs `min_count` times.
ReferenceBpe train_reference_bpe(const std::vector<std::string>& texts, std::size_t bpe_tokens, std::int64_t min_count);

}  // namespace moulin::test
