// Reading tokenizer.json and tokenizer_config.json into a Tokenizer::Impl, refusing what moulin does not
// implement rather than encoding differently from HF.
#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_file.h"
#include "core/tokenizer_impl.h"
#include "core/tokenizer_json_fields.h"

namespace moulin::tokenizer_detail {
namespace {

using json = nlohmann::json;

// GPT-2's pattern, which a ByteLevel pre-tokenizer with use_regex=true applies.
constexpr const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

[[noreturn]] void refuse(const JsonFields& fields, std::string_view field, const std::string& what,
                         std::string_view supported) {
  throw UnsupportedError(
      fmt::format("{}: field '{}' is {}, which moulin does not support ({})", fields.source(), field, what, supported));
}

std::string type_of(const json& component, const JsonFields& fields, std::string_view path) {
  return fields.required_text(component, "type", fmt::format("{}.type", path));
}

// Ids are assigned as tokenizers' AddedVocabulary::add_tokens does, not read from "id" (HF only warns when they
// differ): a content already in the model vocabulary keeps its model id, a new one gets the next id past both the
// model vocabulary and the added tokens so far; a repeated content is ignored. For files HF saved, the result is
// the "id" written in the file.
std::vector<AddedToken> read_added_tokens(const json& root, const BpeModel& bpe, const JsonFields& fields) {
  std::vector<AddedToken> tokens;
  const auto* list = fields.optional(root, "added_tokens");
  if (!list) return tokens;
  if (!list->is_array()) fields.fail("added_tokens", "must be an array", *list);
  const auto model_size = static_cast<TokenId>(bpe.vocab_entries());
  std::optional<TokenId> largest_added;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const auto& entry = (*list)[i];
    const auto path = fmt::format("added_tokens[{}]", i);
    if (!entry.is_object()) fields.fail(path, "must be an object", entry);
    fields.non_negative_integer(fields.required(entry, "id", path + ".id"), path + ".id");
    AddedToken token;
    token.content = fields.required_text(entry, "content", path + ".content");
    token.special = fields.boolean(entry, "special", path + ".special", false);
    token.single_word = fields.boolean(entry, "single_word", path + ".single_word", false);
    token.lstrip = fields.boolean(entry, "lstrip", path + ".lstrip", false);
    token.rstrip = fields.boolean(entry, "rstrip", path + ".rstrip", false);
    token.normalized = fields.boolean(entry, "normalized", path + ".normalized", !token.special);
    const bool repeated = std::any_of(tokens.begin(), tokens.end(),
                                      [&](const AddedToken& other) { return other.content == token.content; });
    if (token.content.empty() || repeated) continue;
    if (const auto model_id = bpe.token_to_id(token.content))
      token.id = *model_id;
    else
      token.id = largest_added && *largest_added >= model_size ? *largest_added + 1 : model_size;
    largest_added = std::max(largest_added.value_or(token.id), token.id);
    tokens.push_back(std::move(token));
  }
  return tokens;
}

// The pre-tokenizer must end in byte-level mapping; the pattern that splits the text comes from a Split step or
// from ByteLevel's own use_regex.
std::string read_split_pattern(const json& root, const JsonFields& fields) {
  const auto& pre_tokenizer = fields.required(root, "pre_tokenizer", "pre_tokenizer");
  std::vector<std::pair<const json*, std::string>> steps;  // (component, path)
  if (type_of(pre_tokenizer, fields, "pre_tokenizer") == "Sequence") {
    const auto& list = fields.required(pre_tokenizer, "pretokenizers", "pre_tokenizer.pretokenizers");
    if (!list.is_array()) fields.fail("pre_tokenizer.pretokenizers", "must be an array", list);
    for (std::size_t i = 0; i < list.size(); ++i)
      steps.emplace_back(&list[i], fmt::format("pre_tokenizer.pretokenizers[{}]", i));
  } else {
    steps.emplace_back(&pre_tokenizer, "pre_tokenizer");
  }
  constexpr std::string_view kSupported = "a Split regex with behavior Isolated followed by ByteLevel, as Llama 3";

  std::optional<std::string> pattern;
  bool byte_level_seen = false;
  for (const auto& [step, path] : steps) {
    const auto type = type_of(*step, fields, path);
    if (byte_level_seen) refuse(fields, path, fmt::format("\"{}\" after ByteLevel", type), kSupported);
    if (type == "Split") {
      if (pattern) refuse(fields, path, "a second Split", kSupported);
      const auto& pattern_object = fields.required(*step, "pattern", path + ".pattern");
      const auto regex = fields.text(pattern_object, "Regex", path + ".pattern.Regex");
      if (!regex) refuse(fields, path + ".pattern", pattern_object.dump(), "only {\"Regex\": ...} patterns");
      const auto behavior = fields.required_text(*step, "behavior", path + ".behavior");
      if (behavior != "Isolated") refuse(fields, path + ".behavior", '"' + behavior + '"', kSupported);
      if (fields.boolean(*step, "invert", path + ".invert", false)) refuse(fields, path + ".invert", "true", kSupported);
      pattern = *regex;
    } else if (type == "ByteLevel") {
      if (fields.boolean(*step, "add_prefix_space", path + ".add_prefix_space", true))
        refuse(fields, path + ".add_prefix_space", "true", "Llama 3 sets it to false");
      if (fields.boolean(*step, "use_regex", path + ".use_regex", true)) {
        if (pattern) refuse(fields, path + ".use_regex", "true after a Split", kSupported);
        pattern = kGpt2Pattern;
      }
      byte_level_seen = true;
    } else {
      refuse(fields, path + ".type", '"' + type + '"', kSupported);
    }
  }
  if (!byte_level_seen) refuse(fields, "pre_tokenizer", "without a ByteLevel step", kSupported);
  if (!pattern) refuse(fields, "pre_tokenizer", "without a Split regex", kSupported);
  return *pattern;
}

void require_supported_normalizer_and_decoder(const json& root, const JsonFields& fields) {
  if (const auto* normalizer = fields.optional(root, "normalizer"))
    refuse(fields, "normalizer", fmt::format("\"{}\"", type_of(*normalizer, fields, "normalizer")),
           "Llama 3 has none: null");
  const auto& decoder = fields.required(root, "decoder", "decoder");
  if (const auto type = type_of(decoder, fields, "decoder"); type != "ByteLevel")
    refuse(fields, "decoder.type", '"' + type + '"', "the ByteLevel decoder of Llama 3");
}

// One TemplateProcessing: its "single" template is [special tokens..., $A, special tokens...].
void apply_template(const json& processor, const std::string& path, const JsonFields& fields, Tokenizer::Impl& impl) {
  const auto& single = fields.required(processor, "single", path + ".single");
  if (!single.is_array()) fields.fail(path + ".single", "must be an array", single);
  const auto& special_tokens = fields.required(processor, "special_tokens", path + ".special_tokens");
  std::vector<TokenId> before, after;
  bool sequence_seen = false;
  for (std::size_t i = 0; i < single.size(); ++i) {
    const auto item_path = fmt::format("{}.single[{}]", path, i);
    const auto& item = single[i];
    if (const auto* sequence = fields.optional(item, "Sequence")) {
      const auto id = fields.required_text(*sequence, "id", item_path + ".Sequence.id");
      if (id != "A" || sequence_seen) refuse(fields, item_path, item.dump(), "one $A sequence in the single template");
      sequence_seen = true;
    } else if (const auto* special = fields.optional(item, "SpecialToken")) {
      const auto name = fields.required_text(*special, "id", item_path + ".SpecialToken.id");
      const auto entry_path = fmt::format("{}.special_tokens[\"{}\"]", path, name);
      const auto& entry = fields.required(special_tokens, name.c_str(), entry_path);
      const auto& ids = fields.required(entry, "ids", entry_path + ".ids");
      if (!ids.is_array()) fields.fail(entry_path + ".ids", "must be an array of token ids", ids);
      auto& target = sequence_seen ? after : before;
      for (const auto& id : ids) target.push_back(static_cast<TokenId>(fields.non_negative_integer(id, entry_path + ".ids")));
    } else {
      fields.fail(item_path, "must be {\"Sequence\": ...} or {\"SpecialToken\": ...}", item);
    }
  }
  if (!sequence_seen) fields.fail(path + ".single", "has no {\"Sequence\": {\"id\": \"A\"}} item");
  // A later processor in a Sequence wraps what the earlier ones produced.
  impl.prefix_ids.insert(impl.prefix_ids.begin(), before.begin(), before.end());
  impl.suffix_ids.insert(impl.suffix_ids.end(), after.begin(), after.end());
}

void read_post_processor(const json& root, const JsonFields& fields, Tokenizer::Impl& impl) {
  const auto* processor = fields.optional(root, "post_processor");
  if (!processor) return;
  std::vector<std::pair<const json*, std::string>> steps;
  if (type_of(*processor, fields, "post_processor") == "Sequence") {
    const auto& list = fields.required(*processor, "processors", "post_processor.processors");
    if (!list.is_array()) fields.fail("post_processor.processors", "must be an array", list);
    for (std::size_t i = 0; i < list.size(); ++i)
      steps.emplace_back(&list[i], fmt::format("post_processor.processors[{}]", i));
  } else {
    steps.emplace_back(processor, "post_processor");
  }
  for (const auto& [step, path] : steps) {
    const auto type = type_of(*step, fields, path);
    if (type == "TemplateProcessing")
      apply_template(*step, path, fields, impl);
    else if (type != "ByteLevel")  // ByteLevel only adjusts offsets, which moulin does not return
      refuse(fields, path + ".type", '"' + type + '"', "TemplateProcessing and ByteLevel post-processors");
  }
}

// tokenizer_config.json writes special tokens as a string or as {"content": "...", ...}.
std::optional<std::string> config_token(const json& config, const char* key, const JsonFields& fields) {
  const auto* value = fields.optional(config, key);
  if (!value) return std::nullopt;
  if (value->is_string()) return value->get<std::string>();
  if (value->is_object()) return fields.required_text(*value, "content", fmt::format("{}.content", key));
  fields.fail(key, "must be a string or an object with \"content\"", *value);
}

// A string, or (newer transformers) a list of {"name", "template"} whose "default" entry is the chat template.
std::optional<std::string> config_chat_template(const json& config, const JsonFields& fields) {
  const auto* value = fields.optional(config, "chat_template");
  if (!value) return std::nullopt;
  if (value->is_string()) return value->get<std::string>();
  if (value->is_array()) {
    for (std::size_t i = 0; i < value->size(); ++i) {
      const auto path = fmt::format("chat_template[{}]", i);
      if (fields.text((*value)[i], "name", path + ".name") == std::optional<std::string>("default"))
        return fields.required_text((*value)[i], "template", path + ".template");
    }
    fields.fail("chat_template", "has no template named \"default\"", *value);
  }
  fields.fail("chat_template", "must be a string or a list of {\"name\", \"template\"}", *value);
}

void read_config(const std::filesystem::path& config_path, Tokenizer::Impl& impl) {
  if (!std::filesystem::exists(config_path)) {
    // Without tokenizer_config.json, a template that puts exactly one token first names the BOS.
    if (impl.prefix_ids.size() == 1) impl.bos_id = impl.prefix_ids.front();
    return;
  }
  const auto config = read_json_file(config_path);
  const JsonFields fields(config_path.string());
  if (!config.is_object()) fields.fail("(root)", "must be a JSON object", config);
  impl.bos_token = config_token(config, "bos_token", fields);
  impl.eos_token = config_token(config, "eos_token", fields);
  impl.chat_template = config_chat_template(config, fields);
  const auto id_of = [&](const std::string& token, const char* field) {
    if (const auto id = impl.find_id(token)) return *id;
    fields.fail(field, fmt::format("names \"{}\", which the tokenizer does not have", token));
  };
  if (impl.bos_token) impl.bos_id = id_of(*impl.bos_token, "bos_token");
  if (impl.eos_token) impl.eos_ids = {id_of(*impl.eos_token, "eos_token")};
  if (!impl.bos_token && impl.prefix_ids.size() == 1) impl.bos_id = impl.prefix_ids.front();

  // transformers (4.44) lets add_bos_token / add_eos_token rebuild the template only for the Llama tokenizer
  // classes; PreTrainedTokenizerFast, which Llama 3 names, keeps tokenizer.json's post-processor.
  const auto tokenizer_class = fields.text(config, "tokenizer_class", "tokenizer_class");
  if (tokenizer_class == std::optional<std::string>("LlamaTokenizerFast") ||
      tokenizer_class == std::optional<std::string>("LlamaTokenizer")) {
    const bool add_bos = fields.boolean(config, "add_bos_token", "add_bos_token", true);
    const bool add_eos = fields.boolean(config, "add_eos_token", "add_eos_token", false);
    if (add_bos && !impl.bos_id) fields.fail("add_bos_token", "is true but there is no bos_token");
    if (add_eos && impl.eos_ids.empty()) fields.fail("add_eos_token", "is true but there is no eos_token");
    impl.prefix_ids = add_bos ? std::vector<TokenId>{*impl.bos_id} : std::vector<TokenId>{};
    impl.suffix_ids = add_eos ? impl.eos_ids : std::vector<TokenId>{};
  }
}

}  // namespace

std::unique_ptr<Tokenizer::Impl> load_tokenizer(const std::filesystem::path& tokenizer_json,
                                                const std::filesystem::path& config_json) {
  const auto root = read_json_file(tokenizer_json);
  const JsonFields fields(tokenizer_json.string());
  if (!root.is_object()) fields.fail("(root)", "must be a JSON object", root);

  auto impl = std::make_unique<Tokenizer::Impl>();
  impl->path = tokenizer_json;
  require_supported_normalizer_and_decoder(root, fields);
  const auto pattern = read_split_pattern(root, fields);
  impl->bpe = BpeModel::from_json(fields.required(root, "model", "model"), fields.source());
  impl->added_tokens = read_added_tokens(root, *impl->bpe, fields);
  read_post_processor(root, fields, *impl);

  TokenId largest = impl->bpe->largest_id();
  for (const auto& token : impl->added_tokens) largest = std::max(largest, token.id);
  impl->vocab_size = static_cast<std::size_t>(largest) + 1;
  impl->added_index_by_id.assign(impl->vocab_size, -1);
  for (std::size_t i = 0; i < impl->added_tokens.size(); ++i) {
    impl->added_index_by_id[impl->added_tokens[i].id] = static_cast<std::int32_t>(i);
    impl->added_id_by_content.insert(impl->added_tokens[i].content, impl->added_tokens[i].id);
  }
  for (const auto ids : {&impl->prefix_ids, &impl->suffix_ids})
    for (const TokenId id : *ids)
      if (static_cast<std::size_t>(id) >= impl->vocab_size)
        fields.fail("post_processor", fmt::format("adds id {}, beyond the vocabulary ({} ids)", id, impl->vocab_size));

  impl->splitter.emplace(impl->added_tokens);
  impl->split_regex = std::make_unique<SplitRegex>(pattern, fields.source(), "pre_tokenizer (Split pattern)");
  impl->workspaces = std::make_unique<WorkspacePool>(*impl->split_regex);
  read_config(config_json, *impl);
  return impl;
}

}  // namespace moulin::tokenizer_detail
