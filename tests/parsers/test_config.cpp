// config.json parsing: transformers' defaults, Llama 3 specifics, and clear refusals.
#include <gtest/gtest.h>

#include "core/config.h"
#include "core/error.h"
#include "tests/support/expect_error.h"
#include "tests/support/temp_dir.h"

namespace moulin {
namespace {

using nlohmann::json;
using test::expect_error;

LlamaConfig parse(const std::string& text) { return parse_llama_config(json::parse(text), "m/config.json"); }

TEST(Config, DefaultsFollowTransformers) {
  const auto c = parse(R"({"architectures":["LlamaForCausalLM"],"hidden_size":64,"num_attention_heads":4})");
  EXPECT_EQ(c.vocab_size, 32000);
  EXPECT_EQ(c.intermediate_size, 11008);
  EXPECT_EQ(c.num_hidden_layers, 32);
  EXPECT_EQ(c.num_key_value_heads, 4);  // defaults to the attention heads
  EXPECT_EQ(c.head_dim, 16);            // hidden / heads
  EXPECT_EQ(c.max_position_embeddings, 2048);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
  EXPECT_EQ(c.rope_scaling.type, RopeType::kDefault);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_FALSE(c.mlp_bias);
  EXPECT_EQ(c.bos_token_ids, std::vector<std::int64_t>{1});
  EXPECT_EQ(c.eos_token_ids, std::vector<std::int64_t>{2});
  EXPECT_FALSE(c.pad_token_id.has_value());
  EXPECT_FALSE(c.torch_dtype.has_value());
}

TEST(Config, Llama3StyleConfig) {
  const auto c = parse(R"({"architectures":["LlamaForCausalLM"],"model_type":"llama","vocab_size":128256,
    "hidden_size":4096,"intermediate_size":14336,"num_hidden_layers":32,"num_attention_heads":32,
    "num_key_value_heads":8,"rope_theta":500000.0,"rms_norm_eps":1e-5,"torch_dtype":"bfloat16",
    "bos_token_id":128000,"eos_token_id":[128001,128008,128009],"tie_word_embeddings":false,
    "rope_scaling":{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,
                    "original_max_position_embeddings":8192}})");
  EXPECT_EQ(c.kv_groups(), 4);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.rope_scaling.type, RopeType::kLlama3);
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 8.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 8192);
  EXPECT_EQ(c.eos_token_ids, (std::vector<std::int64_t>{128001, 128008, 128009}));
  EXPECT_EQ(c.bos_token_ids, std::vector<std::int64_t>{128000});
  EXPECT_EQ(*c.torch_dtype, "bfloat16");
  // Llama 3 8B has 8.03 B parameters.
  EXPECT_EQ(c.parameter_count(), 8030261248);
}

TEST(Config, ExplicitHeadDimAndBiases) {
  const auto c = parse(R"({"hidden_size":96,"num_attention_heads":4,"head_dim":32,"attention_bias":true,
                           "mlp_bias":true,"tie_word_embeddings":true,"eos_token_id":null,"pad_token_id":0})");
  EXPECT_EQ(c.head_dim, 32);
  EXPECT_EQ(c.q_size(), 128);
  EXPECT_TRUE(c.attention_bias && c.mlp_bias && c.tie_word_embeddings);
  EXPECT_TRUE(c.eos_token_ids.empty());
  EXPECT_EQ(*c.pad_token_id, 0);
}

TEST(Config, LinearAndLegacyTypeKey) {
  const auto c = parse(R"({"hidden_size":64,"num_attention_heads":4,"rope_scaling":{"type":"linear","factor":2.0}})");
  EXPECT_EQ(c.rope_scaling.type, RopeType::kLinear);
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 2.0);
  EXPECT_EQ(parse(R"({"hidden_size":64,"num_attention_heads":4,"rope_scaling":{"rope_type":"default"}})").rope_scaling.type,
            RopeType::kDefault);
}

TEST(Config, RefusesOtherArchitectures) {
  expect_error<UnsupportedError>([] { parse(R"({"architectures":["MistralForCausalLM"]})"); },
                                 {"m/config.json", "MistralForCausalLM", "LlamaForCausalLM"});
  expect_error<UnsupportedError>([] { parse(R"({"model_type":"gpt2"})"); }, {"m/config.json", "gpt2"});
  expect_error<UnsupportedError>([] { parse(R"({"hidden_act":"gelu"})"); }, {"hidden_act", "gelu"});
}

TEST(Config, RefusesUnsupportedRopeScaling) {
  expect_error<UnsupportedError>([] { parse(R"({"rope_scaling":{"rope_type":"yarn","factor":4}})"); },
                                 {"rope_scaling", "yarn", "llama3"});
  expect_error<UnsupportedError>([] { parse(R"({"rope_scaling":{"type":"dynamic","factor":4}})"); }, {"dynamic"});
  expect_error<FormatError>([] { parse(R"({"rope_scaling":{"rope_type":"llama3","factor":8}})"); },
                            {"rope_scaling.low_freq_factor", "required"});
  expect_error<FormatError>([] { parse(R"({"rope_scaling":{"factor":8}})"); }, {"rope_scaling", "rope_type"});
}

TEST(Config, WrongTypesNameTheField) {
  expect_error<FormatError>([] { parse(R"({"hidden_size":"4096"})"); }, {"m/config.json", "'hidden_size'", "integer"});
  expect_error<FormatError>([] { parse(R"({"hidden_size":40.5})"); }, {"'hidden_size'"});
  expect_error<FormatError>([] { parse(R"({"num_hidden_layers":0})"); }, {"'num_hidden_layers'", "positive"});
  expect_error<FormatError>([] { parse(R"({"rms_norm_eps":-1})"); }, {"'rms_norm_eps'"});
  expect_error<FormatError>([] { parse(R"({"tie_word_embeddings":"yes"})"); }, {"'tie_word_embeddings'"});
  expect_error<FormatError>([] { parse(R"({"eos_token_id":[1,"x"]})"); }, {"'eos_token_id'"});
  expect_error<FormatError>([] { parse(R"([1,2])"); }, {"JSON object"});
  EXPECT_EQ(parse(R"({"hidden_size":4096.0})").hidden_size, 4096);  // integral floats are accepted, as HF does
}

TEST(Config, InconsistentSizes) {
  expect_error<FormatError>([] { parse(R"({"hidden_size":100,"num_attention_heads":3})"); }, {"not divisible"});
  expect_error<FormatError>([] { parse(R"({"hidden_size":64,"num_attention_heads":4,"num_key_value_heads":3})"); },
                            {"num_key_value_heads"});
  expect_error<FormatError>([] { parse(R"({"hidden_size":64,"num_attention_heads":4,"head_dim":15})"); }, {"even"});
}

TEST(Config, FileErrors) {
  test::TempDir dir;
  expect_error<FileError>([&] { load_llama_config(dir.path()); }, {"config.json", "not found"});
  test::write_file(dir / "config.json", "{\n  \"hidden_size\": 64,\n  \"vocab_size\": \n}");
  expect_error<FormatError>([&] { load_llama_config(dir.path()); }, {"config.json:4:1", "malformed JSON"});
}

TEST(Config, JsonRoundTrip) {
  const auto original = parse(R"({"hidden_size":96,"num_attention_heads":6,"num_key_value_heads":2,
    "rope_scaling":{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,
    "original_max_position_embeddings":64},"tie_word_embeddings":true,"eos_token_id":[5,6]})");
  const auto again = parse_llama_config(llama_config_to_json(original), "again");
  EXPECT_EQ(again.hidden_size, 96);
  EXPECT_EQ(again.num_key_value_heads, 2);
  EXPECT_EQ(again.rope_scaling.type, RopeType::kLlama3);
  EXPECT_EQ(again.rope_scaling.original_max_position_embeddings, 64);
  EXPECT_TRUE(again.tie_word_embeddings);
  EXPECT_EQ(again.eos_token_ids, (std::vector<std::int64_t>{5, 6}));
  EXPECT_EQ(again.parameter_count(), original.parameter_count());
}

}  // namespace
}  // namespace moulin
