// tokenizer.json and tokenizer_config.json for a trained BPE, laid out as Meta's Llama 3 files so that moulin,
// HF tokenizers and transformers read them as they read Llama 3's.
#include <fstream>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "organisms/bpe_trainer.h"

namespace moulin::organisms {
namespace {

// ordered_json keeps fields in the order written: vocab by id and the components in Llama 3's order, for files a
// person can read and diff.
using json = nlohmann::ordered_json;

// Special tokens match the raw text (normalized false) wherever they occur (no single_word, no stripping).
json added_token_entry(std::size_t id, const std::string& content) {
  return {{"id", id},           {"content", content}, {"single_word", false}, {"lstrip", false},
          {"rstrip", false},    {"normalized", false}, {"special", true}};
}

std::size_t id_of_special(const TrainedBpe& bpe, const std::string& token) {
  for (std::size_t i = 0; i < bpe.special_tokens.size(); ++i)
    if (bpe.special_tokens[i] == token) return bpe.tokens.size() + i;
  throw ArgumentError(fmt::format("TrainedBpe: \"{}\" (bos or eos token) is not among its special tokens", token));
}

json pre_tokenizer() {
  return {{"type", "Sequence"},
          {"pretokenizers",
           json::array({{{"type", "Split"},
                         {"pattern", {{"Regex", kLlama3SplitPattern}}},
                         {"behavior", "Isolated"},
                         {"invert", false}},
                        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}})}};
}

// Llama 3's: a ByteLevel step (offsets only) then a template that puts the BOS token first.
json post_processor(const TrainedBpe& bpe) {
  const auto bos = [&](int type_id) { return json{{"SpecialToken", {{"id", bpe.bos_token}, {"type_id", type_id}}}}; };
  const auto sequence = [](const char* id, int type_id) {
    return json{{"Sequence", {{"id", id}, {"type_id", type_id}}}};
  };
  return {{"type", "Sequence"},
          {"processors",
           json::array({{{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}},
                        {{"type", "TemplateProcessing"},
                         {"single", json::array({bos(0), sequence("A", 0)})},
                         {"pair", json::array({bos(0), sequence("A", 0), bos(1), sequence("B", 1)})},
                         {"special_tokens",
                          {{bpe.bos_token,
                            {{"id", bpe.bos_token},
                             {"ids", json::array({id_of_special(bpe, bpe.bos_token)})},
                             {"tokens", json::array({bpe.bos_token})}}}}}}})}};
}

json bpe_model(const TrainedBpe& bpe) {
  json vocab = json::object();
  // ordered_map's own insert looks for the key linearly (quadratic for a whole vocabulary); the spellings are
  // distinct, so they go straight into the vector it is made of.
  auto& entries = static_cast<json::object_t::Container&>(vocab.get_ref<json::object_t&>());
  entries.reserve(bpe.tokens.size());
  for (std::size_t id = 0; id < bpe.tokens.size(); ++id) entries.emplace_back(bpe.tokens[id], id);

  json merges = json::array();
  for (const auto& merge : bpe.merges) merges.push_back(bpe.tokens[merge.left] + " " + bpe.tokens[merge.right]);

  return {{"type", "BPE"},
          {"dropout", nullptr},
          {"unk_token", nullptr},
          {"continuing_subword_prefix", nullptr},
          {"end_of_word_suffix", nullptr},
          {"fuse_unk", false},
          {"byte_fallback", false},
          {"ignore_merges", true},
          {"vocab", std::move(vocab)},
          {"merges", std::move(merges)}};
}

void write_file_atomically(const std::filesystem::path& path, const std::string& text) {
  const auto temporary = std::filesystem::path(path.string() + ".tmp");
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw FileError(fmt::format("{}: cannot open for writing", temporary.string()));
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (!out) {
      out.close();
      std::error_code ignored;
      std::filesystem::remove(temporary, ignored);
      throw FileError(fmt::format("{}: write failed (disk full?)", temporary.string()));
    }
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw FileError(fmt::format("{}: cannot move the written file into place: {}", path.string(), error.message()));
  }
}

}  // namespace

std::string tokenizer_json_text(const TrainedBpe& bpe) {
  id_of_special(bpe, bpe.eos_token);  // tokenizer_config.json names it: refuse a file moulin could not load
  json added_tokens = json::array();
  for (std::size_t i = 0; i < bpe.special_tokens.size(); ++i)
    added_tokens.push_back(added_token_entry(bpe.tokens.size() + i, bpe.special_tokens[i]));
  const json root = {{"version", "1.0"},
                     {"truncation", nullptr},
                     {"padding", nullptr},
                     {"added_tokens", std::move(added_tokens)},
                     {"normalizer", nullptr},
                     {"pre_tokenizer", pre_tokenizer()},
                     {"post_processor", post_processor(bpe)},
                     {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
                     {"model", bpe_model(bpe)}};
  return root.dump(2) + "\n";
}

std::string tokenizer_config_json_text(const TrainedBpe& bpe, std::size_t model_max_length) {
  json decoder = json::object();
  for (std::size_t i = 0; i < bpe.special_tokens.size(); ++i) {
    const auto id = bpe.tokens.size() + i;
    auto entry = added_token_entry(id, bpe.special_tokens[i]);
    entry.erase("id");  // the key says it
    decoder[std::to_string(id)] = std::move(entry);
  }
  const json config = {{"added_tokens_decoder", std::move(decoder)},
                       {"add_bos_token", true},
                       {"add_eos_token", false},
                       {"bos_token", bpe.bos_token},
                       // true (Llama 3's value) makes transformers' decode drop spaces before punctuation, so
                       // decode(encode(text)) would no longer give the text back.
                       {"clean_up_tokenization_spaces", false},
                       {"eos_token", bpe.eos_token},
                       {"model_input_names", json::array({"input_ids", "attention_mask"})},
                       {"model_max_length", model_max_length},
                       {"tokenizer_class", "PreTrainedTokenizerFast"}};
  return config.dump(2) + "\n";
}

void write_tokenizer_files(const TrainedBpe& bpe, const std::filesystem::path& folder, std::size_t model_max_length) {
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  if (error) throw FileError(fmt::format("{}: cannot create the tokenizer folder: {}", folder.string(), error.message()));
  // Both texts are built before either file is touched, so a bad TrainedBpe leaves the folder as it was.
  const auto tokenizer = tokenizer_json_text(bpe);
  const auto config = tokenizer_config_json_text(bpe, model_max_length);
  write_file_atomically(folder / "tokenizer.json", tokenizer);
  write_file_atomically(folder / "tokenizer_config.json", config);
}

}  // namespace moulin::organisms
