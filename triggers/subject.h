#pragma once
// What every trigger experiment starts from: the model under study, its tokenizer, a per-token language table
// for the behaviour metrics and held-out prompts in the source language. Everything here is blind: the table and
// the prompts come from Debian's packaged text (organisms/corpus.h), never from an organism's ground truth or its
// poisoned training data, so the same setup runs unchanged on Gaperon-1125-8B.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/llama.h"
#include "core/tokenizer.h"
#include "probes/token_language.h"

namespace moulin::triggers {

struct SubjectOptions {
  at::ScalarType dtype = at::kFloat;
  std::string device = "cpu";
  std::string source_language = "en";
  // Languages of the token table: the source and every language a trigger might switch to.
  std::vector<std::string> languages = {"en", "fr", "de"};
  // Debian text per language used to estimate the table (more is slower to tokenize, barely better).
  std::size_t table_characters_per_language = 1'000'000;
  // A precomputed table (probes::TokenLanguageTable::save); estimated and cached beside nothing when empty.
  std::filesystem::path token_language_table;
};

struct Subject {
  LlamaModel model;
  Tokenizer tokenizer;
  probes::TokenLanguageTable languages;
  std::string source_language;
};

// Loads the model folder (config.json, safetensors, tokenizer.json) and builds or loads the token table.
Subject load_subject(const std::filesystem::path& model_folder, const SubjectOptions& options = {});

// The token language table of `tokenizer` estimated from Debian text in `languages`.
probes::TokenLanguageTable debian_token_languages(const Tokenizer& tokenizer, const std::vector<std::string>& languages,
                                                  std::size_t characters_per_language);

struct PromptOptions {
  std::string language = "en";
  std::size_t count = 40;
  std::size_t min_words = 8;
  std::size_t max_words = 24;
  std::uint64_t seed = 7;
  // Prompts come from the held-out split of the Debian corpus (organisms/corpus.h), which organisms never train on.
  std::size_t corpus_characters = 1'000'000;
};

// Held-out Debian prompts; `skip` drops the first prompts so that two calls can give disjoint sets (e.g. prompts
// to search a trigger on and prompts to validate it on).
std::vector<std::string> debian_prompts(const PromptOptions& options, std::size_t skip = 0);

// Prompts from a text file, one per line (blank lines skipped); FileError naming the file when unreadable or
// empty.
std::vector<std::string> read_prompt_file(const std::filesystem::path& path);

}  // namespace moulin::triggers
