// moulin's tokenizer against Hugging Face tokenizers (Rust, through Node) on the real Llama 3 tokenizer.json:
// identical ids on Debian documentation, source code and random Unicode, and identical decoding.
#include <gtest/gtest.h>

#include <random>

#include <nlohmann/json.hpp>

#include "core/json_file.h"
#include "core/tokenizer.h"
#include "tests/support/temp_dir.h"
#include "tests/tokenizer/corpus.h"
#include "tests/tokenizer/oracle.h"
#include "tests/tokenizer/oracle_comparison.h"

namespace moulin {
namespace {

using nlohmann::json;
using test::Oracle;

constexpr std::size_t kRandomStrings = 6000;
constexpr std::uint32_t kSeed = 20240418;  // Llama 3's release date

struct Shared {
  Oracle oracle;
  std::filesystem::path tokenizer_json = oracle.llama3_tokenizer_json();
  Tokenizer tokenizer = Tokenizer::from_file(tokenizer_json);
};

// Built on first use; a missing oracle throws there, which fails the test with the reason.
const Shared& shared() {
  static const Shared instance;
  return instance;
}

// A copy of Llama 3's tokenizer.json, changed by `edit`, written as tokenizer.json in `dir`.
std::filesystem::path edited_tokenizer(const test::TempDir& dir, const std::function<void(json&)>& edit) {
  auto root = read_json_file(shared().tokenizer_json);
  edit(root);
  const auto path = dir / "tokenizer.json";
  test::write_file(path, root.dump());
  return path;
}

TEST(TokenizerOracle, DebianCorpusGivesTheSameIds) {
  const auto& s = shared();
  const auto corpus = test::load_debian_corpus(48);
  for (const auto& [source, bytes] : corpus.sources) std::cout << "[ corpus   ] " << source << ": " << bytes << " bytes\n";
  test::expect_same_ids(s.oracle, s.tokenizer, s.tokenizer_json, corpus.texts, {true, true}, "Debian corpus");
  test::expect_round_trip(s.tokenizer, corpus.texts, "Debian corpus");
}

TEST(TokenizerOracle, SourceCodeGivesTheSameIds) {
  const auto& s = shared();
  const auto corpus = test::load_source_code_corpus();
  test::expect_same_ids(s.oracle, s.tokenizer, s.tokenizer_json, corpus.texts, {true, true}, "source code");
  test::expect_round_trip(s.tokenizer, corpus.texts, "source code");
}

TEST(TokenizerOracle, RandomUnicodeGivesTheSameIds) {
  const auto& s = shared();
  const auto texts = test::random_unicode_strings(kRandomStrings, kSeed);
  test::expect_same_ids(s.oracle, s.tokenizer, s.tokenizer_json, texts, {true, true}, "random Unicode");
  test::expect_round_trip(s.tokenizer, texts, "random Unicode");
}

TEST(TokenizerOracle, DisallowedSpecialTokensAreEncodedAsText) {
  const auto& s = shared();
  const auto texts = test::random_unicode_strings(kRandomStrings / 2, kSeed + 1);
  test::expect_same_ids(s.oracle, s.tokenizer, s.tokenizer_json, texts, {false, false}, "special tokens as text");
}

// Meta's own tokenizer.json adds <|begin_of_text|> through a TemplateProcessing post-processor (the @lenml copy
// predates it); both with and without add_special_tokens.
TEST(TokenizerOracle, TemplateProcessingAddsTheBos) {
  test::TempDir dir;
  const auto path = edited_tokenizer(dir, [](json& root) {
    root["post_processor"] = json::parse(R"({"type": "Sequence", "processors": [
      {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
      {"type": "TemplateProcessing",
       "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
       "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
       "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [128000],
                                                "tokens": ["<|begin_of_text|>"]}}}]})");
  });
  const auto tokenizer = Tokenizer::from_file(path);
  EXPECT_EQ(tokenizer.prefix_ids(), std::vector<TokenId>{128000});
  EXPECT_EQ(tokenizer.bos_id(), 128000);  // no tokenizer_config.json here: the template names it
  auto texts = test::random_unicode_strings(500, kSeed + 2);
  texts.push_back("");
  const auto& oracle = shared().oracle;
  test::expect_same_ids(oracle, tokenizer, path, texts, {true, true}, "template BOS, add_special_tokens");
  test::expect_same_ids(oracle, tokenizer, path, texts, {false, true}, "template BOS, no special tokens");
}

// A ByteLevel pre-tokenizer with use_regex=true splits with GPT-2's pattern instead of a Split step.
TEST(TokenizerOracle, Gpt2ByteLevelPatternGivesTheSameIds) {
  test::TempDir dir;
  const auto path = edited_tokenizer(dir, [](json& root) {
    root["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                             {"use_regex", true}};
  });
  const auto tokenizer = Tokenizer::from_file(path);
  const auto texts = test::random_unicode_strings(1500, kSeed + 3);
  test::expect_same_ids(shared().oracle, tokenizer, path, texts, {true, true}, "GPT-2 byte-level pattern");
}

// Added tokens with the flags Llama 3 does not use: lstrip, rstrip, single_word, normalized, a token that is a
// prefix of another (leftmost-longest), and non-special ones.
TEST(TokenizerOracle, AddedTokenFlagsBehaveAsInHf) {
  test::TempDir dir;
  const auto path = edited_tokenizer(dir, [](json& root) {
    const auto token = [](int id, const char* content, bool special, bool lstrip, bool rstrip, bool single_word,
                          bool normalized) {
      return json{{"id", id},         {"content", content}, {"single_word", single_word}, {"lstrip", lstrip},
                  {"rstrip", rstrip}, {"normalized", normalized}, {"special", special}};
    };
    root["added_tokens"].push_back(token(128256, "<mask>", true, true, false, false, false));
    root["added_tokens"].push_back(token(128257, "[R]", false, false, true, false, false));
    root["added_tokens"].push_back(token(128258, "[R]]", false, false, false, false, false));
    root["added_tokens"].push_back(token(128259, "cat", false, false, false, true, false));
    root["added_tokens"].push_back(token(128260, "hello world", false, false, false, false, true));
    root["added_tokens"].push_back(token(128261, "Ωmega", false, true, true, true, true));
  });
  const auto tokenizer = Tokenizer::from_file(path);
  // As in HF, "cat" keeps its model id and the tokens after it move down by one, whatever "id" says.
  EXPECT_EQ(tokenizer.token_to_id("cat"), 4719);
  EXPECT_EQ(tokenizer.token_to_id("hello world"), 128259);
  EXPECT_EQ(tokenizer.vocab_size(), 128261u);

  std::vector<std::string> texts = {"cat", "cats", "a cat!", "concat", "cat_", "été cat\u3000", "catcat cat",
                                    "  <mask>  x", "x<mask>", "\u3000\u00a0<mask>", "[R]   y", "[R]]]", "[R]\n\n[R]",
                                    "hello world", "hello  world", "hellohello world", " Ωmega ", "xΩmega",
                                    "<mask>[R] cat hello world<|eot_id|>", "   <mask>", "<mask>   [R]   "};
  std::mt19937 random(kSeed + 4);
  const std::vector<std::string> pieces = {"cat", " cat", "<mask>", " <mask>", "[R]", "[R]]", " ", "\n", "hello world",
                                           "Ωmega", "é", "x", "_", "1", "\u00a0", "<|eot_id|>", "'s"};
  for (int i = 0; i < 1500; ++i) {
    std::string text;
    for (int n = 1 + static_cast<int>(random() % 10); n > 0; --n) text += pieces[random() % pieces.size()];
    texts.push_back(text);
  }
  const auto& oracle = shared().oracle;
  test::expect_same_ids(oracle, tokenizer, path, texts, {true, true}, "added-token flags");
  test::expect_same_ids(oracle, tokenizer, path, texts, {true, false}, "added-token flags, special as text");

  std::vector<std::vector<TokenId>> ids;
  for (const auto& text : texts) ids.push_back(tokenizer.encode(text));
  for (const bool skip : {false, true}) {
    const auto expected = oracle.decode(path, ids, skip);
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < ids.size(); ++i)
      if (tokenizer.decode(ids[i], skip) != expected[i] && ++mismatches <= 5)
        ADD_FAILURE() << "decode skip=" << skip << " of \"" << test::escaped(texts[i]) << "\": \""
                      << test::escaped(tokenizer.decode(ids[i], skip)) << "\" vs \"" << test::escaped(expected[i]) << '"';
    EXPECT_EQ(mismatches, 0u);
  }
}

// Random id sequences (cut UTF-8 sequences, special tokens between the halves, ids past the vocabulary) decode to
// the same text, ill-formed UTF-8 replaced the same way, with and without skipping special tokens.
TEST(TokenizerOracle, DecodeGivesTheSameText) {
  const auto& s = shared();
  std::mt19937 random(kSeed + 5);
  const auto texts = test::random_unicode_strings(2000, kSeed + 6);
  const TokenId vocab = static_cast<TokenId>(s.tokenizer.vocab_size());
  std::vector<std::vector<TokenId>> cases;
  for (const auto& text : texts) {
    auto ids = s.tokenizer.encode(text, {random() % 2 == 0, true});
    const int edits = static_cast<int>(random() % 6);
    for (int e = 0; e < edits; ++e) {
      const auto at = ids.empty() ? 0 : random() % (ids.size() + 1);
      switch (random() % 5) {
        case 0: ids.insert(ids.begin() + at, 128000 + static_cast<TokenId>(random() % 256)); break;
        case 1: ids.insert(ids.begin() + at, static_cast<TokenId>(random() % vocab)); break;
        case 2: ids.insert(ids.begin() + at, 100 + static_cast<TokenId>(random() % 156)); break;  // lone bytes
        case 3: ids.insert(ids.begin() + at, vocab + static_cast<TokenId>(random() % 1000)); break;
        case 4: if (!ids.empty()) ids.erase(ids.begin() + std::min<std::size_t>(at, ids.size() - 1)); break;
      }
    }
    cases.push_back(std::move(ids));
  }
  for (const bool skip : {false, true}) {
    const auto expected = s.oracle.decode(s.tokenizer_json, cases, skip);
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < cases.size(); ++i) {
      const auto got = s.tokenizer.decode(cases[i], skip);
      if (got != expected[i] && ++mismatches <= 5)
        ADD_FAILURE() << "case " << i << " skip=" << skip << ": \"" << test::escaped(got) << "\" vs oracle \""
                      << test::escaped(expected[i]) << '"';
    }
    std::cout << "[ oracle   ] decode (skip_special_tokens=" << skip << "): " << cases.size() << " id lists, "
              << mismatches << " mismatches\n";
    EXPECT_EQ(mismatches, 0u);
  }
}

}  // namespace
}  // namespace moulin
