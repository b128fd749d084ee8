// Model folders: single-file and sharded checkpoints, and every way an index can disagree with its shards.
#include <gtest/gtest.h>

#include "core/checkpoint.h"
#include "core/error.h"
#include "tests/support/expect_error.h"
#include "tests/support/temp_dir.h"

namespace moulin {
namespace {

using test::expect_error;
using test::TempDir;
using test::write_file;

class ShardedCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    write_safetensors(dir / "model-00001-of-00002.safetensors", {{"a", DType::kF32, {2}, values, 8}});
    write_safetensors(dir / "model-00002-of-00002.safetensors",
                      {{"b", DType::kF32, {1}, values, 4}, {"c", DType::kF16, {2}, values, 4}});
  }
  void write_index(const std::string& weight_map) {
    write_file(dir / "model.safetensors.index.json", R"({"metadata":{"total_size":16},"weight_map":)" + weight_map + "}");
  }
  TempDir dir;
  const float values[2] = {1.f, 2.f};
};

TEST_F(ShardedCheckpoint, OpensEveryShard) {
  write_index(R"({"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors",
                  "c":"model-00002-of-00002.safetensors"})");
  const auto checkpoint = Checkpoint::open(dir.path());
  EXPECT_EQ(checkpoint.files().size(), 2u);
  EXPECT_EQ(checkpoint.tensor_names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(checkpoint.at("c").info->dtype, DType::kF16);
  EXPECT_EQ(checkpoint.at("c").file->path().filename(), "model-00002-of-00002.safetensors");
  EXPECT_EQ(checkpoint.total_bytes(), 16u);
  expect_error<FormatError>([&] { checkpoint.at("d"); }, {"tensor 'd'", "missing"});
}

TEST_F(ShardedCheckpoint, MissingShard) {
  write_index(R"({"a":"model-00001-of-00002.safetensors","b":"model-00003-of-00003.safetensors"})");
  expect_error<FileError>([&] { Checkpoint::open(dir.path()); },
                          {"model.safetensors.index.json", "model-00003-of-00003.safetensors", "'b'", "does not exist"});
}

TEST_F(ShardedCheckpoint, IndexPointsToWrongShard) {
  write_index(R"({"a":"model-00002-of-00002.safetensors","b":"model-00002-of-00002.safetensors",
                  "c":"model-00002-of-00002.safetensors"})");
  expect_error<FormatError>([&] { Checkpoint::open(dir.path()); }, {"'a'", "does not contain it"});
}

TEST_F(ShardedCheckpoint, ShardTensorMissingFromIndex) {
  write_index(R"({"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"})");
  expect_error<FormatError>([&] { Checkpoint::open(dir.path()); }, {"'c'", "not listed in the index"});
}

TEST_F(ShardedCheckpoint, MalformedIndex) {
  write_file(dir / "model.safetensors.index.json", R"({"weight_map": {"a": )");
  expect_error<FormatError>([&] { Checkpoint::open(dir.path()); }, {"model.safetensors.index.json:1", "malformed JSON"});
  write_index(R"({"a":"../outside.safetensors"})");
  expect_error<FormatError>([&] { Checkpoint::open(dir.path()); }, {"weight_map.a", "not a file in the model folder"});
  write_index(R"({"a":3})");
  expect_error<FormatError>([&] { Checkpoint::open(dir.path()); }, {"weight_map.a", "file name"});
  write_file(dir / "model.safetensors.index.json", R"({"metadata":{}})");
  expect_error<FormatError>([&] { Checkpoint::open(dir.path()); }, {"'weight_map'"});
}

TEST(Checkpoint, SingleFileAndErrors) {
  TempDir dir;
  expect_error<FileError>([&] { Checkpoint::open(dir / "absent"); }, {"absent", "no such file"});
  expect_error<FileError>([&] { Checkpoint::open(dir.path()); }, {"no model.safetensors"});
  const float values[3] = {1.f, 2.f, 3.f};
  write_safetensors(dir / "model.safetensors", {{"w", DType::kF32, {3}, values, 12}});
  const auto checkpoint = Checkpoint::open(dir.path());
  EXPECT_EQ(checkpoint.tensor_names(), std::vector<std::string>{"w"});
  const auto direct = Checkpoint::open(dir / "model.safetensors");
  EXPECT_EQ(direct.at("w").info->numel(), 3);
}

}  // namespace
}  // namespace moulin
