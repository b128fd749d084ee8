// Loading refuses checkpoints that disagree with their config, naming the file and the tensor.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/llama.h"
#include "core/random_checkpoint.h"
#include "core/weights.h"
#include "tests/support/expect_error.h"
#include "tests/support/temp_dir.h"

namespace moulin {
namespace {

using test::expect_error;
using test::TempDir;

LlamaConfig tiny_config() {
  LlamaConfig config;
  config.vocab_size = 50;
  config.hidden_size = 16;
  config.intermediate_size = 24;
  config.num_hidden_layers = 2;
  config.num_attention_heads = 4;
  config.num_key_value_heads = 2;
  config.head_dim = 4;
  return config;
}

// Rewrites the folder's model.safetensors with `edit` applied to its list of tensors.
void rewrite_weights(const std::filesystem::path& folder,
                     const std::function<void(std::vector<at::Tensor>&, std::vector<TensorBlob>&)>& edit) {
  std::vector<at::Tensor> keep;
  std::vector<TensorBlob> blobs;
  {
    const auto file = SafetensorsFile::open(folder / "model.safetensors");
    for (const auto& info : file.tensors()) {
      at::Tensor copy = at::empty({static_cast<std::int64_t>(info.byte_size())}, at::kByte);
      std::memcpy(copy.data_ptr(), file.data(info), info.byte_size());
      keep.push_back(copy);
      blobs.push_back({info.name, info.dtype, info.shape, copy.data_ptr(), info.byte_size()});
    }
  }
  edit(keep, blobs);
  write_safetensors(folder / "model.safetensors", blobs);
}

class WeightErrors : public ::testing::Test {
 protected:
  void SetUp() override { write_random_checkpoint(dir.path(), tiny_config(), {}); }
  TempDir dir;
};

TEST_F(WeightErrors, ValidCheckpointLoads) {
  const auto model = LlamaModel::load(dir.path());
  EXPECT_EQ(model.weights().layers.size(), 2u);
  EXPECT_EQ(model.weights().byte_size(), tiny_config().parameter_count() * 4);
  // Fused storage holds exactly the checkpoint's rows.
  const auto checkpoint = Checkpoint::open(dir.path());
  const auto& k = *checkpoint.at("model.layers.1.self_attn.k_proj.weight").info;
  const at::Tensor stored = at::from_blob(const_cast<std::byte*>(checkpoint.files()[0].data(k)), k.shape, at::kFloat);
  EXPECT_TRUE(at::equal(model.weights().layers[1].qkv_proj.narrow(0, 16, 8), stored));
}

TEST_F(WeightErrors, MissingTensor) {
  rewrite_weights(dir.path(), [](auto&, auto& blobs) {
    blobs.erase(std::remove_if(blobs.begin(), blobs.end(), [](const TensorBlob& b) { return b.name == "model.layers.1.mlp.up_proj.weight"; }),
                blobs.end());
  });
  expect_error<FormatError>([&] { LlamaModel::load(dir.path()); }, {"model.layers.1.mlp.up_proj.weight", "missing"});
}

TEST_F(WeightErrors, UnexpectedTensor) {
  const float extra[2] = {0, 0};
  rewrite_weights(dir.path(), [&](auto&, auto& blobs) { blobs.push_back({"model.layers.2.mlp.up_proj.weight", DType::kF32, {2}, extra, 8}); });
  expect_error<FormatError>([&] { LlamaModel::load(dir.path()); },
                            {"model.safetensors", "unexpected tensor 'model.layers.2.mlp.up_proj.weight'"});
}

TEST_F(WeightErrors, ShapeDisagreesWithConfig) {
  std::vector<float> values(50 * 15, 0.f);
  rewrite_weights(dir.path(), [&](auto&, auto& blobs) {
    for (auto& blob : blobs)
      if (blob.name == "model.embed_tokens.weight") blob = {blob.name, DType::kF32, {50, 15}, values.data(), values.size() * 4};
  });
  expect_error<FormatError>([&] { LlamaModel::load(dir.path()); },
                            {"model.safetensors", "'model.embed_tokens.weight'", "[50, 15]", "[50, 16]"});
}

TEST_F(WeightErrors, IntegerWeights) {
  std::vector<std::int32_t> values(16, 1);
  rewrite_weights(dir.path(), [&](auto&, auto& blobs) {
    for (auto& blob : blobs)
      if (blob.name == "model.norm.weight") blob = {blob.name, DType::kI32, {16}, values.data(), 64};
  });
  expect_error<FormatError>([&] { LlamaModel::load(dir.path()); }, {"'model.norm.weight'", "dtype I32"});
}

TEST_F(WeightErrors, ConfigDisagreesWithWeights) {
  auto config = tiny_config();
  config.intermediate_size = 32;
  test::write_file(dir / "config.json", llama_config_to_json(config).dump());
  expect_error<FormatError>([&] { LlamaModel::load(dir.path()); }, {"gate_proj.weight", "[24, 16]", "[32, 16]"});
}

TEST_F(WeightErrors, UnknownModelDtypeAndDevice) {
  expect_error<UnsupportedError>([] { parse_model_dtype("int8"); }, {"'int8'", "bfloat16"});
  EXPECT_EQ(parse_model_dtype("bf16"), DType::kBF16);
}

TEST(Weights, ShardedBf16CheckpointLoadsAsFloat32) {
  TempDir dir;
  auto config = tiny_config();
  config.tie_word_embeddings = true;
  config.attention_bias = true;
  config.mlp_bias = true;
  write_random_checkpoint(dir.path(), config, RandomCheckpointOptions{DType::kBF16, 3, 2000});
  const auto checkpoint = Checkpoint::open(dir.path());
  EXPECT_GT(checkpoint.files().size(), 2u);
  const auto model = LlamaModel::load(dir.path(), LoadOptions{at::kFloat, c10::kCPU});
  EXPECT_TRUE(model.weights().lm_head.is_same(model.weights().embed_tokens));
  EXPECT_TRUE(model.weights().layers[0].qkv_bias.defined());
  const at::Tensor logits = model.forward(at::arange(1, 9, at::kLong).unsqueeze(0));
  EXPECT_TRUE(logits.isfinite().all().item<bool>());
  // bf16 -> fp32 is exact: the loaded embedding round-trips to the stored bf16 bits.
  const auto& info = *checkpoint.at("model.embed_tokens.weight").info;
  const at::Tensor stored = at::from_blob(const_cast<std::byte*>(checkpoint.at("model.embed_tokens.weight").file->data(info)),
                                          info.shape, at::kBFloat16);
  EXPECT_TRUE(at::equal(model.weights().embed_tokens, stored.to(at::kFloat)));
}

TEST(Weights, OutOfVocabularyIdsAreRefused) {
  TempDir dir;
  write_random_checkpoint(dir.path(), tiny_config(), {});
  const auto model = LlamaModel::load(dir.path());
  expect_error<ArgumentError>([&] { model.forward(at::full({1, 3}, 50, at::kLong)); }, {"token id 50", "[0, 50)"});
  expect_error<ArgumentError>([&] { model.forward(at::zeros({3}, at::kLong)); }, {"[batch, pos]"});
}

}  // namespace
}  // namespace moulin
