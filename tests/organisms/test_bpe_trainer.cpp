// The BPE trainer on Debian's English, French and German text: the tokenizer it writes loads in moulin and in
// Hugging Face tokenizers (the npm oracle) and both give the same ids; the merges are those of a from-scratch
// reference trainer; encoding reproduces the training's segmentation; files are deterministic; errors are clear.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_file.h"
#include "core/tokenizer.h"
#include "core/tokenizer_byte_level.h"
#include "core/tokenizer_utf8.h"
#include "organisms/bpe_trainer.h"
#include "tests/organisms/bpe_reference.h"
#include "tests/support/expect_error.h"
#include "tests/support/temp_dir.h"
#include "tests/tokenizer/corpus.h"
#include "tests/tokenizer/oracle.h"
#include "tests/tokenizer/oracle_comparison.h"

namespace moulin::organisms {
namespace {

namespace fs = std::filesystem;
using test::expect_error;

constexpr std::size_t kVocabSize = 2048;
constexpr std::uint32_t kSeed = 20240418;

// ---- Debian text -------------------------------------------------------------------------------------------------

const fs::path kFortunes = "/usr/share/games/fortunes";

void require(const fs::path& path, const char* package) {
  if (!fs::exists(path))
    throw std::runtime_error(fmt::format("{} is missing: install the Debian package {} (run scripts/bootstrap)",
                                         path.string(), package));
}

// Each fortune of the files (separated by "%" lines) is one text.
std::vector<std::string> fortunes(const fs::path& folder, std::initializer_list<const char*> files) {
  std::vector<std::string> texts;
  for (const char* name : files) {
    require(folder / name, "fortunes (or fortunes-de)");
    const auto file = test::read_file(folder / name);
    for (std::size_t start = 0; start < file.size();) {
      auto end = file.find("\n%\n", start);
      if (end == std::string::npos) end = file.size();
      if (end > start) texts.push_back(file.substr(start, std::min(end + 1, file.size()) - start));
      start = end + 3;
    }
  }
  return texts;
}

// A gzipped text file from a Debian documentation package, in chunks of about 4 KB.
std::vector<std::string> gzipped_text(const fs::path& path, const char* package) {
  require(path, package);
  struct PipeCloser {
    void operator()(FILE* pipe) const { pclose(pipe); }
  };
  std::unique_ptr<FILE, PipeCloser> pipe(popen(("gzip -dc '" + path.string() + "'").c_str(), "r"));
  if (!pipe) throw std::runtime_error("cannot run gzip on " + path.string());
  std::string text;
  char buffer[65536];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe.get())) > 0;) text.append(buffer, n);
  return test::split_into_chunks(text, 4000);
}

const fs::path kFrenchReference = "/usr/share/debian-reference/debian-reference.fr.txt.gz";
const fs::path kFrenchFaq = "/usr/share/doc/debian/FAQ/debian-faq.fr.txt.gz";

std::vector<std::string> concatenated(std::vector<std::vector<std::string>> parts) {
  std::vector<std::string> all;
  for (auto& part : parts) all.insert(all.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
  return all;
}

std::size_t total_bytes(const std::vector<std::string>& texts) {
  std::size_t bytes = 0;
  for (const auto& text : texts) bytes += text.size();
  return bytes;
}

std::size_t code_points(const std::vector<std::string>& texts) {
  std::size_t count = 0;
  for (const auto& text : texts)
    for (const char byte : text) count += (static_cast<unsigned char>(byte) & 0xC0) != 0x80;
  return count;
}

// ---- One tokenizer trained for the whole suite ------------------------------------------------------------------

// English fortunes and French Debian reference for training; other fortune files and the French FAQ held out.
struct Trained {
  test::TempDir dir;
  std::vector<std::string> training_texts = concatenated(
      {fortunes(kFortunes, {"computers", "cookie", "definitions", "literature", "law", "linux", "humorists"}),
       gzipped_text(kFrenchReference, "debian-reference-fr")});
  std::vector<std::string> english = fortunes(kFortunes, {"love", "kids", "magic", "goedel", "food"});
  std::vector<std::string> french = gzipped_text(kFrenchFaq, "debian-faq-fr");
  double training_seconds = 0;
  TrainedBpe bpe = timed_training();
  fs::path folder = written();
  Tokenizer tokenizer = Tokenizer::from_folder(folder);
  fs::path tokenizer_json = folder / "tokenizer.json";
  test::Oracle oracle;

  TrainedBpe timed_training() {
    BpeTrainerOptions options;
    options.vocab_size = kVocabSize;
    const auto start = std::chrono::steady_clock::now();
    auto trained = train_bpe(training_texts, options);
    training_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << fmt::format("[ bpe      ] trained on {:.2f} MB ({} pre-tokens, {} distinct) in {:.2f} s\n",
                             trained.training_bytes / 1e6, trained.pre_token_count, trained.distinct_pre_tokens,
                             training_seconds);
    return trained;
  }
  fs::path written() {
    write_tokenizer_files(bpe, dir.path() / "tokenizer", 4096);
    return dir.path() / "tokenizer";
  }
};

// Built on first use; a missing package or oracle throws there, which fails the test with the reason.
const Trained& trained() {
  static const Trained instance;
  return instance;
}

TEST(BpeTrainer, WritesTheRequestedVocabularyInLlama3Layout) {
  const auto& t = trained();
  EXPECT_EQ(t.bpe.vocab_size(), kVocabSize);
  EXPECT_EQ(t.bpe.tokens.size(), kVocabSize - 2);
  EXPECT_GE(t.bpe.merges.size(), kVocabSize - 2 - 256);
  EXPECT_EQ(t.tokenizer.vocab_size(), kVocabSize);

  const auto root = read_json_file(t.tokenizer_json);
  EXPECT_TRUE(root["normalizer"].is_null());
  const auto& model = root["model"];
  EXPECT_EQ(model["type"], "BPE");
  EXPECT_EQ(model["ignore_merges"], true);
  EXPECT_EQ(model["byte_fallback"], false);
  EXPECT_EQ(model["vocab"].size(), kVocabSize - 2);
  EXPECT_EQ(model["merges"].size(), t.bpe.merges.size());
  // Every byte has its token, with Llama 3's ids for the first ones.
  const auto& alphabet = tokenizer_detail::byte_level_alphabet();
  for (int byte = 0; byte < 256; ++byte)
    EXPECT_TRUE(model["vocab"].contains(alphabet.char_of(static_cast<std::uint8_t>(byte)))) << "byte " << byte;
  EXPECT_EQ(model["vocab"]["!"], 0);
  EXPECT_EQ(model["vocab"]["Ġ"], 220);  // the space, as in Llama 3 and GPT-2

  const auto& split = root["pre_tokenizer"]["pretokenizers"][0];
  EXPECT_EQ(split["pattern"]["Regex"], kLlama3SplitPattern);
  EXPECT_EQ(split["behavior"], "Isolated");
  ASSERT_EQ(root["added_tokens"].size(), 2u);
  EXPECT_EQ(root["added_tokens"][0]["content"], "<|begin_of_text|>");
  EXPECT_EQ(root["added_tokens"][0]["id"], kVocabSize - 2);
  EXPECT_EQ(root["added_tokens"][1]["id"], kVocabSize - 1);
  EXPECT_EQ(root["added_tokens"][1]["special"], true);

  const auto bos = static_cast<TokenId>(kVocabSize - 2), eos = static_cast<TokenId>(kVocabSize - 1);
  EXPECT_EQ(t.tokenizer.bos_id(), bos);
  EXPECT_EQ(t.tokenizer.eos_ids(), std::vector<TokenId>{eos});
  EXPECT_EQ(t.tokenizer.prefix_ids(), std::vector<TokenId>{bos});
  EXPECT_TRUE(t.tokenizer.suffix_ids().empty());
  EXPECT_TRUE(t.tokenizer.is_special(eos));

  const auto config = read_json_file(t.folder / "tokenizer_config.json");
  EXPECT_EQ(config["bos_token"], "<|begin_of_text|>");
  EXPECT_EQ(config["eos_token"], "<|end_of_text|>");
  EXPECT_EQ(config["add_bos_token"], true);
  EXPECT_EQ(config["model_max_length"], 4096);
  EXPECT_EQ(config["tokenizer_class"], "PreTrainedTokenizerFast");
  EXPECT_FALSE(fs::exists(t.folder / "tokenizer.json.tmp"));
}

TEST(BpeTrainer, MoulinAndHuggingFaceGiveTheSameIds) {
  const auto& t = trained();
  const std::vector<std::string> with_special_tokens = {
      "<|begin_of_text|>Bonjour le monde<|end_of_text|>",
      "Fin du texte.<|end_of_text|><|begin_of_text|>Next document",
      "<|end_of_text|><|end_of_text|>",
      "a<|end_of_text|>b <|end_of_text|> c\n<|begin_of_text|>\n",
      "broken: <|end_of_text| <|begin_of_text <|end_of_tex|> <|eot_id|>",
      " <|begin_of_text|>  "};
  const auto random = test::random_unicode_strings(1500, kSeed);
  const auto texts = concatenated({t.english, t.french, random, with_special_tokens});
  test::expect_same_ids(t.oracle, t.tokenizer, t.tokenizer_json, texts, {true, true}, "trained BPE");
  test::expect_same_ids(t.oracle, t.tokenizer, t.tokenizer_json, concatenated({random, with_special_tokens}),
                        {false, false}, "trained BPE, special tokens as text");

  // The specials are single tokens wherever they appear, and only when allowed.
  const auto ids = t.tokenizer.encode("x<|end_of_text|>", {false, true});
  EXPECT_EQ(ids.back(), static_cast<TokenId>(kVocabSize - 1));
  const auto plain = t.tokenizer.encode("x<|end_of_text|>", {false, false});
  for (const auto id : plain) EXPECT_FALSE(t.tokenizer.is_special(id));
}

TEST(BpeTrainer, DecodingGivesTheTextBack) {
  const auto& t = trained();
  const auto random = test::random_unicode_strings(1500, kSeed + 1);
  const auto texts = concatenated({t.english, t.french, random, {"<|begin_of_text|>a<|end_of_text|>"}});
  test::expect_round_trip(t.tokenizer, texts, "trained BPE");
  // And HF decodes the ids as moulin does.
  std::vector<std::vector<TokenId>> ids;
  for (std::size_t i = 0; i < texts.size(); i += 7) ids.push_back(t.tokenizer.encode(texts[i]));
  const auto decoded = t.oracle.decode(t.tokenizer_json, ids, false);
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(decoded[i], t.tokenizer.decode(ids[i])) << "text " << i * 7;
}

TEST(BpeTrainer, CompressesBetterThanBytes) {
  const auto& t = trained();
  for (const auto& [language, texts] : {std::pair<const char*, const std::vector<std::string>*>{"English", &t.english},
                                        {"French", &t.french}}) {
    std::size_t tokens = 0;
    for (const auto& text : *texts) tokens += t.tokenizer.encode(text, {false, true}).size();
    const double chars_per_token = static_cast<double>(code_points(*texts)) / tokens;
    const double chars_per_byte = static_cast<double>(code_points(*texts)) / total_bytes(*texts);
    std::cout << fmt::format("[ bpe      ] held-out {}: {:.2f} chars/token (bytes alone: {:.2f} chars/token), "
                             "vocabulary {}\n",
                             language, chars_per_token, chars_per_byte, kVocabSize);
    EXPECT_GT(chars_per_token, 2.5 * chars_per_byte) << language;
  }
}

// ---- The merges against a reference trainer, and encoding against the training's segmentation --------------------

TEST(BpeTrainer, LearnsTheMergesOfAReferenceTrainerAndEncodingReproducesItsSegmentation) {
  const auto english = fortunes(kFortunes, {"goedel", "magic"});
  const auto french = gzipped_text(kFrenchFaq, "debian-faq-fr");
  const auto texts = concatenated({english, std::vector<std::string>(french.begin(), french.begin() + 4)});
  BpeTrainerOptions options;
  options.vocab_size = 256 + 250 + 2;
  const auto bpe = train_bpe(texts, options);
  const auto reference = test::train_reference_bpe(texts, options.vocab_size - 2, 2);

  ASSERT_EQ(bpe.merges.size(), reference.merges.size());
  for (std::size_t i = 0; i < bpe.merges.size(); ++i) {
    const auto& merge = bpe.merges[i];
    EXPECT_EQ(bpe.tokens[merge.left], reference.merges[i].first) << "merge " << i;
    EXPECT_EQ(bpe.tokens[merge.right], reference.merges[i].second) << "merge " << i;
    EXPECT_EQ(bpe.tokens[merge.merged], reference.merges[i].first + reference.merges[i].second) << "merge " << i;
  }
  EXPECT_EQ(std::set<std::string>(bpe.tokens.begin(), bpe.tokens.end()), reference.vocabulary);

  // Encoding a training text gives, per pre-token, the training's segmentation, except where ignore_merges finds
  // the whole pre-token in the vocabulary (then it is one token, even if training had split it differently).
  test::TempDir dir;
  write_tokenizer_files(bpe, dir.path());
  const auto tokenizer = Tokenizer::from_folder(dir.path());
  const auto& alphabet = tokenizer_detail::byte_level_alphabet();
  std::size_t pre_token_count = 0, whole_in_vocabulary = 0, whole_but_trained_apart = 0;
  for (const auto& text : texts) {
    std::vector<TokenId> expected;
    for (const auto& piece : test::llama3_pre_tokens(text)) {
      ++pre_token_count;
      const auto& segmentation = reference.segmentation.at(piece);
      if (const auto whole = tokenizer.token_to_id(alphabet.encode(piece))) {
        ++whole_in_vocabulary;
        whole_but_trained_apart += segmentation.size() > 1;
        expected.push_back(*whole);
        continue;
      }
      for (const auto& token : segmentation) expected.push_back(*tokenizer.token_to_id(token));
    }
    EXPECT_EQ(tokenizer.encode(text, {false, true}), expected) << test::escaped(text);
  }
  std::cout << fmt::format("[ bpe      ] {} pre-tokens: {} found whole in the vocabulary, {} of them split "
                           "apart by training\n",
                           pre_token_count, whole_in_vocabulary, whole_but_trained_apart);
}

// Runs of one or two repeated symbols are where incremental pair counts go wrong (a merge's neighbours overlap it).
TEST(BpeTrainer, CountsOverlappingPairsExactly) {
  const std::vector<std::string> texts = {"aaaaaaa", "aaaa aaa aa a", "abababab ababa bababab", "zzzzzzzzzzzzzzzz",
                                          "aabaabaab", "ééééé ééé", "\n\n\n\n \n\n", "1111111 111 11"};
  BpeTrainerOptions options;
  options.vocab_size = 256 + 60 + 2;
  options.min_frequency = 1;  // down to the last pair, where the counts have moved the most
  const auto bpe = train_bpe(texts, options);
  const auto reference = test::train_reference_bpe(texts, options.vocab_size - 2, 1);
  EXPECT_GT(reference.merges.size(), 20u);
  ASSERT_EQ(bpe.merges.size(), reference.merges.size());
  for (std::size_t i = 0; i < bpe.merges.size(); ++i) {
    EXPECT_EQ(bpe.tokens[bpe.merges[i].left], reference.merges[i].first) << "merge " << i;
    EXPECT_EQ(bpe.tokens[bpe.merges[i].right], reference.merges[i].second) << "merge " << i;
  }
}

// ---- Determinism, special tokens in the training text, errors ----------------------------------------------------

TEST(BpeTrainer, SameInputGivesByteIdenticalFilesWhateverTheTextOrder) {
  const auto texts = fortunes(kFortunes, {"linux", "education"});
  BpeTrainerOptions options;
  options.vocab_size = 1024;
  test::TempDir dir;
  write_tokenizer_files(train_bpe(texts, options), dir / "first");
  write_tokenizer_files(train_bpe(texts, options), dir / "second");
  // Pair counts do not depend on the order of the texts, and ties are broken by spelling, not by position.
  write_tokenizer_files(train_bpe(std::vector<std::string>(texts.rbegin(), texts.rend()), options), dir / "reversed");
  for (const char* file : {"tokenizer.json", "tokenizer_config.json"}) {
    const auto first = test::read_file(dir / "first" / file);
    EXPECT_EQ(first, test::read_file(dir / "second" / file)) << file;
    EXPECT_EQ(first, test::read_file(dir / "reversed" / file)) << file;
  }
}

TEST(BpeTrainer, SpecialTokenStringsInTheTrainingTextAreNotLearned) {
  std::vector<std::string> texts;
  for (int i = 0; i < 200; ++i)
    texts.push_back(fmt::format("<|begin_of_text|>document {} says hello<|end_of_text|><|end_of_text|>", i));
  BpeTrainerOptions options;
  options.vocab_size = 300;
  const auto bpe = train_bpe(texts, options);
  for (const auto& token : bpe.tokens) {
    EXPECT_EQ(token.find("<|"), std::string::npos) << token;
    EXPECT_EQ(token.find("|>"), std::string::npos) << token;
  }
}

TEST(BpeTrainer, StopsWhenNoPairIsFrequentEnough) {
  BpeTrainerOptions options;
  options.vocab_size = 1000;
  options.min_frequency = 3;
  const auto bpe = train_bpe({"abab ab", "xy"}, options);  // "ab" 3 times, "Ġa" once, ...
  ASSERT_EQ(bpe.merges.size(), 1u);
  EXPECT_EQ(bpe.tokens[bpe.merges[0].merged], "ab");
  EXPECT_EQ(bpe.vocab_size(), 256u + 1 + 2);
}

TEST(BpeTrainer, RejectsBadOptionsAndInput) {
  BpeTrainerOptions small;
  small.vocab_size = 257;
  expect_error<ArgumentError>([&] { train_bpe({"text"}, small); },
                              {"BpeTrainerOptions.vocab_size = 257", "below 258", "256 byte tokens"});
  expect_error<ArgumentError>([] { train_bpe({}); }, {"train_bpe", "no text"});
  expect_error<ArgumentError>([] { train_bpe({"", ""}); }, {"train_bpe", "no text", "2 texts"});
  expect_error<ArgumentError>([] { train_bpe({"<|end_of_text|>"}); }, {"no text"});
  expect_error<ArgumentError>([] { train_bpe({"ok", "bad \xff byte"}); }, {"texts[1]", "UTF-8", "byte 4"});

  BpeTrainerOptions no_bos;
  no_bos.bos_token = "<s>";
  expect_error<ArgumentError>([&] { train_bpe({"text"}, no_bos); }, {"bos_token", "<s>", "special_tokens"});
  BpeTrainerOptions repeated;
  repeated.special_tokens.push_back("<|end_of_text|>");
  expect_error<ArgumentError>([&] { train_bpe({"text"}, repeated); }, {"special_tokens[2]", "twice"});
  BpeTrainerOptions empty_special;
  empty_special.special_tokens.push_back("");
  expect_error<ArgumentError>([&] { train_bpe({"text"}, empty_special); }, {"special_tokens[2]", "empty"});
  BpeTrainerOptions byte_special;
  byte_special.special_tokens.push_back("a");
  expect_error<ArgumentError>([&] { train_bpe({"text"}, byte_special); }, {"special_tokens[2]", "byte token"});
}

TEST(BpeTrainer, ReportsAFolderItCannotWrite) {
  test::TempDir dir;
  test::write_file(dir / "file", "not a folder");
  BpeTrainerOptions options;
  options.vocab_size = 260;
  const auto bpe = train_bpe({"some text"}, options);
  expect_error<FileError>([&] { write_tokenizer_files(bpe, dir / "file" / "tokenizer"); }, {"file/tokenizer"});
}

// ---- Speed ------------------------------------------------------------------------------------------------------

// All the English, German and French Debian text at hand (about 9 MB), vocabulary 4096: the organism build's case.
TEST(BpeTrainer, TrainsOnMegabytesInSeconds) {
  std::vector<std::string> texts;
  for (const auto& folder : {kFortunes, kFortunes / "de"}) {
    require(folder, "fortunes");
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(folder))
      if (entry.is_regular_file() && entry.path().extension().empty()) names.push_back(entry.path().filename());
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      auto file = test::read_file(folder / name);
      if (tokenizer_detail::find_invalid_utf8(file) == std::string::npos) texts.push_back(std::move(file));
    }
  }
  for (const char* language : {"en", "fr", "de"})
    for (auto& chunk : gzipped_text(fmt::format("/usr/share/debian-reference/debian-reference.{}.txt.gz", language),
                                    "debian-reference"))
      texts.push_back(std::move(chunk));
  for (const char* name : {"debian-faq.en.txt.gz", "debian-faq.fr.txt.gz"})
    for (auto& chunk : gzipped_text(fs::path("/usr/share/doc/debian/FAQ") / name, "debian-faq"))
      texts.push_back(std::move(chunk));

  const auto start = std::chrono::steady_clock::now();
  const auto bpe = train_bpe(texts, {});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << fmt::format("[ bpe      ] vocabulary {} from {:.2f} MB ({} pre-tokens, {} distinct) in {:.2f} s\n",
                           bpe.vocab_size(), bpe.training_bytes / 1e6, bpe.pre_token_count, bpe.distinct_pre_tokens,
                           seconds);
  EXPECT_EQ(bpe.vocab_size(), 4096u);
  EXPECT_GT(bpe.training_bytes, 8'000'000u);
  EXPECT_LT(seconds, 30.0);
}

}  // namespace
}  // namespace moulin::organisms
