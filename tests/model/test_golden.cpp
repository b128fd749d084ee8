// Parity with Hugging Face transformers 4.44.2 LlamaForCausalLM on the three golden models, at the tolerances of
// ../shared/golden/README.md. MOULIN_TEST_DEVICE=cuda runs the same tests on a GPU.
#include <gtest/gtest.h>

#include <cstdlib>

#include <fmt/format.h>

#include "core/llama.h"
#include "core/rope.h"
#include "core/runtime.h"
#include "tests/support/golden.h"
#include "tests/support/recorder.h"

namespace moulin {
namespace {

using test::golden_json;
using test::golden_model;
using test::test_device;
using test::golden_tensor;
using test::max_abs_diff;

at::Tensor ids_of(const nlohmann::json& rows) {
  std::vector<std::int64_t> flat;
  for (const auto& row : rows)
    for (const auto& id : row) flat.push_back(id.get<std::int64_t>());
  return at::tensor(flat, at::kLong).view({static_cast<std::int64_t>(rows.size()), -1});
}

class Golden : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { init_runtime(); }
  void SetUp() override {
    model_ = std::make_unique<LlamaModel>(LlamaModel::load(golden_model(GetParam()), LoadOptions{at::kFloat, test_device()}));
    inputs_ = golden_json(GetParam(), "inputs.json");
  }
  at::Tensor golden(const std::string& file) const { return golden_tensor(GetParam(), file); }
  std::unique_ptr<LlamaModel> model_;
  nlohmann::json inputs_;
};

TEST_P(Golden, RopeInvFreqIsBitExact) {
  const auto manifest = golden_json(GetParam(), "manifest.json");
  std::vector<float> expected;
  for (const auto& value : manifest["derived"]["inv_freq"]) expected.push_back(value.get<float>());
  const at::Tensor inv_freq = rope_inv_freq(model_->config());
  ASSERT_EQ(inv_freq.numel(), static_cast<std::int64_t>(expected.size()));
  for (std::size_t i = 0; i < expected.size(); ++i)
    EXPECT_EQ(inv_freq[static_cast<std::int64_t>(i)].item<float>(), expected[i]) << "inv_freq[" << i << "]";
}

TEST_P(Golden, Case1Logits) {
  const at::Tensor logits = model_->forward(ids_of(inputs_["case1"]["input_ids"]));
  EXPECT_EQ(logits.scalar_type(), at::kFloat);
  EXPECT_LE(max_abs_diff(logits, golden("case1_logits.npy")), 1e-4);
  EXPECT_LE(max_abs_diff(logits, golden("case1_logits_fp64.npy")), 1e-4);
}

TEST_P(Golden, Case1LastPositionLogitsOnly) {
  ForwardOptions options;
  options.logits = LogitsFor::kLast;
  const at::Tensor logits = model_->forward(ids_of(inputs_["case1"]["input_ids"]), options);
  ASSERT_EQ(logits.size(1), 1);
  EXPECT_LE(max_abs_diff(logits[0][0], golden("case1_logits.npy")[0][-1]), 1e-4);
}

// HF's hidden_states tuple: [embeddings, outputs of layers 0..L-2, final-normed output of layer L-1].
TEST_P(Golden, Case1HiddenStatesThroughHooks) {
  test::Recorder recorder({HookPoint::kEmbed, HookPoint::kResidPre, HookPoint::kResidPost});
  ForwardOptions options;
  options.hooks = &recorder;
  model_->forward(ids_of(inputs_["case1"]["input_ids"]), options);
  const at::Tensor hidden = golden("case1_hidden_states.npy");
  const auto layers = model_->config().num_hidden_layers;
  ASSERT_EQ(hidden.size(0), layers + 1);
  EXPECT_LE(max_abs_diff(recorder.at("hook_embed"), hidden[0]), 1e-5);
  EXPECT_LE(max_abs_diff(recorder.at("blocks.0.hook_resid_pre"), hidden[0]), 1e-5);
  for (std::int64_t i = 1; i < layers; ++i)
    EXPECT_LE(max_abs_diff(recorder.at(fmt::format("blocks.{}.hook_resid_post", i - 1)), hidden[i]), 1e-5) << "index " << i;
  const at::Tensor last = recorder.at(fmt::format("blocks.{}.hook_resid_post", layers - 1));
  EXPECT_LE(max_abs_diff(last, golden("case1_last_layer_prenorm.npy")), 1e-5);
  const at::Tensor normed = rms_norm(last, model_->weights().final_norm, model_->config().rms_norm_eps);
  EXPECT_LE(max_abs_diff(normed, hidden[layers]), 1e-4);
}

TEST_P(Golden, Case1AttentionPatterns) {
  test::Recorder recorder({HookPoint::kAttnPattern});
  ForwardOptions options;
  options.hooks = &recorder;
  model_->forward(ids_of(inputs_["case1"]["input_ids"]), options);
  const at::Tensor attentions = golden("case1_attentions.npy");
  for (std::int64_t l = 0; l < model_->config().num_hidden_layers; ++l) {
    const at::Tensor pattern = recorder.at(fmt::format("blocks.{}.attn.hook_pattern", l));
    EXPECT_LE(max_abs_diff(pattern, attentions[l]), 1e-5) << "layer " << l;
    EXPECT_EQ(pattern.triu(1).abs().max().item<float>(), 0.f) << "entries above the diagonal must be exactly 0";
  }
}

TEST_P(Golden, Case2LeftPaddedBatchValidRows) {
  const at::Tensor ids = ids_of(inputs_["case2"]["input_ids"]);
  const at::Tensor mask = ids_of(inputs_["case2"]["attention_mask"]);
  const at::Tensor valid = golden("case2_valid_mask.npy").to(at::kBool);
  const at::Tensor expected = golden("case2_logits.npy");

  ForwardOptions derived;  // positions derived from the mask, as HF generate does
  derived.attention_mask = mask;
  const at::Tensor logits = model_->forward(ids, derived).cpu();
  EXPECT_LE(max_abs_diff(logits.index({valid}), expected.index({valid})), 1e-4);

  ForwardOptions explicit_positions = derived;
  explicit_positions.position_ids = ids_of(inputs_["case2"]["position_ids"]);
  EXPECT_LE(max_abs_diff(model_->forward(ids, explicit_positions).index({valid}), expected.index({valid})), 1e-4);

  // Each row equals its unpadded sequence run alone.
  const auto& unpadded = inputs_["case2"]["unpadded_sequences"];
  for (std::size_t row = 0; row < unpadded.size(); ++row) {
    const at::Tensor alone = model_->forward(ids_of(nlohmann::json::array({unpadded[row]})))[0];
    const at::Tensor padded_row = logits[static_cast<std::int64_t>(row)].narrow(0, ids.size(1) - alone.size(0), alone.size(0));
    EXPECT_LE(max_abs_diff(alone, padded_row), 1e-4) << "row " << row;
  }
}

TEST_P(Golden, Case3GreedyWithKVCache) {
  const at::Tensor prompt = ids_of(inputs_["case3"]["input_ids"]);
  const at::Tensor expected_ids = golden("case3_generated_ids.npy");
  const at::Tensor expected_steps = golden("case3_step_logits.npy");
  const auto steps = expected_ids.size(1);
  KVCache cache = model_->new_cache(1, prompt.size(1) + steps);
  ForwardOptions options;
  options.cache = &cache;
  options.logits = LogitsFor::kLast;
  at::Tensor logits = model_->forward(prompt, options);
  std::vector<std::int64_t> generated;
  for (std::int64_t step = 0; step < steps; ++step) {
    EXPECT_LE(max_abs_diff(logits[0][0], expected_steps[step][0]), 1e-4) << "step " << step;
    generated.push_back(logits[0][0].argmax().item<std::int64_t>());
    logits = model_->forward(at::full({1, 1}, generated.back(), at::kLong), options);
  }
  EXPECT_TRUE(at::equal(at::tensor(generated, at::kLong).unsqueeze(0), expected_ids));
  EXPECT_EQ(cache.length(), prompt.size(1) + steps);
  EXPECT_TRUE(at::equal(at::cat({prompt, expected_ids}, 1), golden("case3_sequence.npy")));
}

TEST_P(Golden, Case3CachedEqualsUncached) {
  const at::Tensor sequence = golden("case3_sequence.npy");
  const at::Tensor full = model_->forward(sequence).cpu();
  KVCache cache = model_->new_cache(1, sequence.size(1));
  ForwardOptions options;
  options.cache = &cache;
  // Prefill in two uneven chunks, then one token at a time.
  at::Tensor chunked = at::cat({model_->forward(sequence.narrow(1, 0, 23), options),
                                model_->forward(sequence.narrow(1, 23, 17), options)}, 1);
  for (std::int64_t t = 40; t < sequence.size(1); ++t)
    chunked = at::cat({chunked, model_->forward(sequence.narrow(1, t, 1), options)}, 1);
  EXPECT_LE(max_abs_diff(chunked, full), 5e-6);
}

INSTANTIATE_TEST_SUITE_P(AllModels, Golden, ::testing::Values("tiny-gqa", "tiny-llama3rope", "tiny-mha"));

}  // namespace
}  // namespace moulin
