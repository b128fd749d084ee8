#pragma once
// Trains a byte-level BPE tokenizer in the Llama 3 style and writes it as a Hugging Face tokenizer.json (plus
// tokenizer_config.json) that moulin's Tokenizer and HF tokenizers both load and encode identically.
//
// Training follows the classic BPE recipe on the pre-tokens Llama 3's Split regex makes (the same SplitRegex the
// encoder uses): count distinct pre-tokens, then merge the most frequent adjacent pair of symbols again and again,
// never across pre-token boundaries. Pair counts are updated incrementally (only the words holding the merged
// pair are revisited), so ~10 MB of text trains a 4096-token vocabulary in seconds on one core.
//
// Deterministic: the same texts and options give the same vocabulary, merges and byte-identical files. Ties
// between equally frequent pairs go to the lexicographically smallest (left, right) byte-level spelling.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace moulin::organisms {

// The pre-tokenizer regex of Llama 3's tokenizer.json (written there as the Split pattern).
extern const char* const kLlama3SplitPattern;

struct BpeTrainerOptions {
  // Total: the 256 byte tokens, the learned merges and the special tokens. Training stops earlier when no pair
  // occurs min_frequency times, so a small corpus can give fewer.
  std::size_t vocab_size = 4096;
  // A pair seen fewer times than this (over the whole corpus) is never merged.
  std::size_t min_frequency = 2;
  // Added as special tokens with the ids after the BPE vocabulary, in this order. Their strings in the training
  // texts are cut out before pre-tokenizing, as the encoder does, so no merge is spent on them.
  std::vector<std::string> special_tokens = {"<|begin_of_text|>", "<|end_of_text|>"};
  // Both must be among special_tokens. The post-processor puts bos_token before every encoded text.
  std::string bos_token = "<|begin_of_text|>";
  std::string eos_token = "<|end_of_text|>";
};

// One learned merge: the tokens `left` and `right`, adjacent, become `merged`. Ids index TrainedBpe::tokens.
struct BpeMerge {
  std::int32_t left = 0;
  std::int32_t right = 0;
  std::int32_t merged = 0;
};

struct TrainedBpe {
  // Byte-level spellings ("Ġworld" for " world") by id: the 256 single bytes first, ordered by the code point of
  // their spelling (as in Llama 3, where "!" is 0), then each merged token in the order it was learned.
  std::vector<std::string> tokens;
  // In the order learned, which is their priority when encoding. Two merges can make the same token ("ab"+"c"
  // and "a"+"bc"); the token is then listed once.
  std::vector<BpeMerge> merges;
  // Their ids follow the BPE tokens: special_tokens[i] has id tokens.size() + i.
  std::vector<std::string> special_tokens;
  std::string bos_token;
  std::string eos_token;

  // What training saw, for logs.
  std::size_t training_bytes = 0;
  std::size_t pre_token_count = 0;
  std::size_t distinct_pre_tokens = 0;

  // The size an embedding matrix needs: BPE tokens plus special tokens.
  std::size_t vocab_size() const { return tokens.size() + special_tokens.size(); }
};

// Throws ArgumentError when the options are inconsistent (vocab_size below 256 + the special tokens, an empty or
// repeated special token, bos/eos not among them), when there is no text to train on, or when a text is not
// valid UTF-8 (naming the text's index and the byte offset).
TrainedBpe train_bpe(const std::vector<std::string>& texts, const BpeTrainerOptions& options = {});

// The tokenizer.json document (Llama 3's layout: no normalizer, Split + ByteLevel pre-tokenizer, BPE with
// ignore_merges, TemplateProcessing adding bos_token, ByteLevel decoder), serialized deterministically.
std::string tokenizer_json_text(const TrainedBpe& bpe);
// tokenizer_config.json: bos/eos tokens, add_bos_token, model_max_length, tokenizer_class
// PreTrainedTokenizerFast (which keeps tokenizer.json's post-processor in transformers).
std::string tokenizer_config_json_text(const TrainedBpe& bpe, std::size_t model_max_length);

// Writes `folder`/tokenizer.json and `folder`/tokenizer_config.json, creating the folder. Each file is written
// under a temporary name and renamed into place, so a crash never leaves a half-written tokenizer. Throws
// FileError naming the file on failure.
void write_tokenizer_files(const TrainedBpe& bpe, const std::filesystem::path& folder,
                           std::size_t model_max_length = 8192);

}  // namespace moulin::organisms
