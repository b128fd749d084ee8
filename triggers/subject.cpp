#include "triggers/subject.h"

#include <fstream>

#include <fmt/format.h>

#include "core/error.h"
#include "core/runtime.h"
#include "organisms/corpus.h"

namespace moulin::triggers {

probes::TokenLanguageTable debian_token_languages(const Tokenizer& tokenizer, const std::vector<std::string>& languages,
                                                  std::size_t characters_per_language) {
  organisms::CorpusOptions corpus;
  corpus.languages = languages;
  corpus.max_chars_per_language = characters_per_language;
  std::vector<probes::LabelledText> texts;
  for (auto& document : organisms::build_corpus(corpus)) texts.push_back({document.language, std::move(document.text)});
  return probes::estimate_token_languages(texts, tokenizer);
}

Subject load_subject(const std::filesystem::path& model_folder, const SubjectOptions& options) {
  LlamaModel model = LlamaModel::load(model_folder, LoadOptions{options.dtype, parse_device(options.device)});
  Tokenizer tokenizer = Tokenizer::from_folder(model_folder);
  probes::TokenLanguageTable table =
      options.token_language_table.empty()
          ? debian_token_languages(tokenizer, options.languages, options.table_characters_per_language)
          : probes::TokenLanguageTable::load(options.token_language_table,
                                             static_cast<std::int64_t>(tokenizer.vocab_size()));
  table.index_of(options.source_language);  // throws, naming the table's languages, when absent
  return Subject{std::move(model), std::move(tokenizer), std::move(table), options.source_language};
}

std::vector<std::string> debian_prompts(const PromptOptions& options, std::size_t skip) {
  organisms::CorpusOptions corpus;
  corpus.languages = {options.language};
  corpus.max_chars_per_language = options.corpus_characters;
  auto prompts = organisms::held_out_prompts(organisms::build_corpus(corpus), options.language, skip + options.count,
                                             options.min_words, options.max_words, options.seed);
  if (prompts.size() < skip + options.count)
    throw ArgumentError(fmt::format("only {} held-out '{}' prompts in {} characters of Debian text, {} asked for; raise "
                                    "the corpus size",
                                    prompts.size(), options.language, options.corpus_characters, skip + options.count));
  return {prompts.begin() + static_cast<std::ptrdiff_t>(skip), prompts.end()};
}

std::vector<std::string> read_prompt_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw FileError(fmt::format("{}: cannot read the prompt file", path.string()));
  std::vector<std::string> prompts;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") != std::string::npos) prompts.push_back(line);
  }
  if (prompts.empty()) throw FileError(fmt::format("{}: the prompt file holds no prompts", path.string()));
  return prompts;
}

}  // namespace moulin::triggers
