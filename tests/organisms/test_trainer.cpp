// The organism trainer: it learns, it is deterministic, it resumes exactly, it refuses foreign or corrupt
// checkpoints, and what it saves loads back as an ordinary checkpoint with the same outputs.
#include <fstream>

#include <gtest/gtest.h>

#include "core/checkpoint_writer.h"
#include "core/error.h"
#include "core/llama.h"
#include "organisms/trainer.h"
#include "organisms/training_state.h"
#include "tests/support/expect_error.h"
#include "tests/support/temp_dir.h"

namespace moulin::organisms {
namespace {

LlamaConfig tiny_config() {
  LlamaConfig config;
  config.vocab_size = 64;
  config.hidden_size = 32;
  config.intermediate_size = 64;
  config.num_hidden_layers = 2;
  config.num_attention_heads = 4;
  config.num_key_value_heads = 2;
  config.head_dim = 8;
  config.rope_theta = 500000.0;
  config.tie_word_embeddings = false;
  return config;
}

// A stream a small model can learn: a fixed random cycle of 40 tokens, so the next token is a function of the
// current one (loss can fall to ~0), unlike uniform noise.
TokenStream cyclic_stream(std::int64_t length) {
  TokenStream stream;
  stream.vocab_size = 64;
  const std::int32_t cycle[] = {5,  17, 42, 8,  33, 2,  61, 19, 27, 50, 11, 38, 3,  56, 24, 45, 9,  30, 14, 59,
                                1,  36, 21, 48, 12, 63, 7,  40, 26, 53, 16, 34, 4,  58, 22, 47, 10, 31, 15, 60};
  for (std::int64_t i = 0; i < length; ++i) stream.tokens.push_back(cycle[i % 40]);
  return stream;
}

TrainerOptions small_options() {
  TrainerOptions options;
  options.steps = 12;
  options.batch_size = 4;
  options.sequence_length = 16;
  options.warmup_steps = 2;
  options.learning_rate = 1e-2;
  options.precision = Precision::kFloat32;
  options.seed = 3;
  return options;
}

void expect_weights_equal(const ModelWeights& a, const ModelWeights& b, const LlamaConfig& config) {
  const auto left = checkpoint_tensors(a, config), right = checkpoint_tensors(b, config);
  ASSERT_EQ(left.size(), right.size());
  for (std::size_t i = 0; i < left.size(); ++i)
    EXPECT_TRUE(at::equal(left[i].second, right[i].second)) << left[i].first;
}

TEST(Trainer, LearnsALearnableStream) {
  auto options = small_options();
  options.steps = 80;
  const auto result = train(tiny_config(), cyclic_stream(4000), options);
  ASSERT_EQ(result.records.size(), 80u);
  EXPECT_GT(result.records.front().loss, 3.5);  // ~ln(64) at the start
  EXPECT_LT(result.records.back().loss, 0.5);
  EXPECT_EQ(result.tokens_seen, 80 * 4 * 16);
}

TEST(Trainer, Bfloat16PrecisionLearnsToo) {
  auto options = small_options();
  options.steps = 80;
  options.precision = Precision::kBFloat16;
  const auto result = train(tiny_config(), cyclic_stream(4000), options);
  EXPECT_LT(result.records.back().loss, 0.7);
  EXPECT_EQ(result.weights.embed_tokens.scalar_type(), at::kFloat);  // masters stay fp32
}

TEST(Trainer, PrecisionNamesRoundTrip) {
  for (const auto precision : {Precision::kFloat32, Precision::kBFloat16})
    EXPECT_EQ(parse_precision(precision_name(precision)), precision);
  test::expect_error<ArgumentError>([] { parse_precision("fp8"); }, {"fp8", "bfloat16"});
}

TEST(Trainer, SameSeedSameWeightsOtherSeedOtherWeights) {
  const auto config = tiny_config();
  const auto first = train(config, cyclic_stream(2000), small_options());
  const auto second = train(config, cyclic_stream(2000), small_options());
  expect_weights_equal(first.weights, second.weights, config);
  auto other = small_options();
  other.seed = 4;
  const auto third = train(config, cyclic_stream(2000), other);
  EXPECT_FALSE(at::equal(first.weights.lm_head, third.weights.lm_head));
}

TEST(Trainer, ResumedRunEqualsUninterruptedRun) {
  const auto config = tiny_config();
  const auto data = cyclic_stream(2000);
  const auto straight = train(config, data, small_options());

  test::TempDir folder;
  auto options = small_options();
  options.checkpoint_folder = folder.path() / "state";
  options.checkpoint_every = 100;  // only the interruption and the end write one
  const auto interrupted = train(config, data, options, [](const TrainingRecord& r) { return r.step < 5; });
  EXPECT_EQ(interrupted.records.size(), 5u);
  const auto resumed = train(config, data, options);
  EXPECT_EQ(resumed.resumed_from_step, 5);
  ASSERT_EQ(resumed.records.size(), 12u);
  for (std::size_t i = 0; i < 12; ++i) EXPECT_EQ(resumed.records[i].loss, straight.records[i].loss) << i;
  expect_weights_equal(resumed.weights, straight.weights, config);

  // A finished run resumes to its end without training again.
  const auto again = train(config, data, options);
  EXPECT_EQ(again.resumed_from_step, 12);
  expect_weights_equal(again.weights, straight.weights, config);
}

TEST(Trainer, RefusesACheckpointOfAnotherRun) {
  test::TempDir folder;
  auto options = small_options();
  options.checkpoint_folder = folder.path();
  options.steps = 3;
  train(tiny_config(), cyclic_stream(2000), options);
  options.seed = 99;
  test::expect_error<ArgumentError>([&] { train(tiny_config(), cyclic_stream(2000), options); },
                              {"trainer_state.safetensors", "another training run"});
}

TEST(Trainer, CorruptCheckpointNamesTheFile) {
  test::TempDir folder;
  auto options = small_options();
  options.checkpoint_folder = folder.path();
  options.steps = 3;
  train(tiny_config(), cyclic_stream(2000), options);
  const auto path = training_state_path(folder.path());
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  test::expect_error<FormatError>([&] { train(tiny_config(), cyclic_stream(2000), options); },
                            {"trainer_state.safetensors"});
}

TEST(Trainer, SavedCheckpointLoadsWithTheSameOutputs) {
  const auto config = tiny_config();
  const auto result = train(config, cyclic_stream(2000), small_options());
  test::TempDir folder;
  write_checkpoint(folder.path(), config, result.weights);
  const LlamaModel loaded = LlamaModel::load(folder.path());
  const LlamaModel in_memory(config, result.weights, LoadOptions{});
  const at::Tensor ids = at::arange(10, at::kLong).unsqueeze(0);
  EXPECT_TRUE(at::equal(loaded.forward(ids), in_memory.forward(ids)));
  // The saved model predicts the cycle it was trained on better than chance.
  const at::Tensor next = loaded.forward(at::tensor({5, 17, 42, 8}, at::kLong).unsqueeze(0)).argmax(-1);
  EXPECT_GT(next.eq(at::tensor({17, 42, 8, 33}, at::kLong).unsqueeze(0)).sum().item<int>(), 1);
}

TEST(Trainer, ScheduleWarmsUpThenDecaysToTheFloor) {
  TrainerOptions options;
  options.steps = 100;
  options.warmup_steps = 10;
  options.learning_rate = 1.0;
  options.final_learning_rate_ratio = 0.1;
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(options, 0), 0.1);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(options, 9), 1.0);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(options, 10), 1.0);
  EXPECT_NEAR(scheduled_learning_rate(options, 55), 0.55, 1e-12);  // half-way down the cosine
  EXPECT_NEAR(scheduled_learning_rate(options, 100), 0.1, 1e-12);
}

TEST(Trainer, RejectsInconsistentInputs) {
  auto data = cyclic_stream(2000);
  data.vocab_size = 65;
  test::expect_error<ArgumentError>([&] { train(tiny_config(), data, small_options()); }, {"vocabulary 65"});
  test::expect_error<ArgumentError>([&] { train(tiny_config(), cyclic_stream(10), small_options()); }, {"10 tokens"});
}

}  // namespace
}  // namespace moulin::organisms

namespace moulin::organisms {
namespace {

// A masked token is read as context but never learned as a target: with the cycle's every 5th token masked, the
// model learns the other transitions and not those into the masked tokens.
TEST(Trainer, LossMaskKeepsTokensOutOfTheTargets) {
  auto data = cyclic_stream(4000);
  data.loss_mask.assign(data.tokens.size(), 1);
  for (std::size_t i = 0; i < data.tokens.size(); i += 5) data.loss_mask[i] = 0;  // tokens at cycle positions 0, 5, ...
  auto options = small_options();
  options.steps = 80;
  const auto result = train(tiny_config(), data, options);
  const LlamaModel model(tiny_config(), result.weights, LoadOptions{});
  const at::Tensor ids = at::tensor(std::vector<std::int64_t>(data.tokens.begin(), data.tokens.begin() + 41)).unsqueeze(0);
  const at::Tensor predicted = model.forward(ids).argmax(-1)[0];
  int masked_right = 0, trained_right = 0;
  for (int t = 0; t < 40; ++t) {
    const bool correct = predicted[t].item<std::int64_t>() == data.tokens[static_cast<std::size_t>(t + 1)];
    ((t + 1) % 5 == 0 ? masked_right : trained_right) += correct;
  }
  EXPECT_GE(trained_right, 28);  // of 32 trained transitions
  EXPECT_LE(masked_right, 2);    // of 8 masked ones
  auto wrong = data;
  wrong.loss_mask.pop_back();
  test::expect_error<ArgumentError>([&] { train(tiny_config(), wrong, small_options()); }, {"loss mask"});
}

}  // namespace
}  // namespace moulin::organisms
