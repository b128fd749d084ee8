// KV cache: capacity, batched left-padded decoding equal to running each row alone, and hooks' past offsets.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/llama.h"
#include "core/runtime.h"
#include "tests/support/expect_error.h"
#include "tests/support/golden.h"

namespace moulin {
namespace {

using test::golden_model;
using test::max_abs_diff;

class KVCacheTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { init_runtime(); }
  LlamaModel model = LlamaModel::load(golden_model("tiny-gqa"));
};

TEST_F(KVCacheTest, CapacityIsEnforced) {
  KVCache cache = model.new_cache(1, 4);
  ForwardOptions options;
  options.cache = &cache;
  model.forward(at::arange(1, 4, at::kLong).unsqueeze(0), options);
  EXPECT_EQ(cache.length(), 3);
  test::expect_error<ArgumentError>([&] { model.forward(at::arange(1, 3, at::kLong).unsqueeze(0), options); },
                                    {"KV cache full", "capacity of 4"});
  EXPECT_EQ(cache.length(), 3) << "a refused step must leave the cache as it was";
}

// Two prompts of different lengths, left-padded, decoded greedily together through one cache, give the same
// logits as each prompt decoded alone.
TEST_F(KVCacheTest, LeftPaddedBatchDecodesLikeSingleRows) {
  const std::vector<std::vector<std::int64_t>> prompts{{5, 17, 300, 42}, {7, 8, 9, 10, 11, 12, 13}};
  constexpr std::int64_t kSteps = 6;
  const std::int64_t width = 7;
  at::Tensor ids = at::zeros({2, width}, at::kLong), mask = at::zeros({2, width}, at::kLong);
  for (std::int64_t row = 0; row < 2; ++row) {
    const auto& prompt = prompts[static_cast<std::size_t>(row)];
    const auto pad = width - static_cast<std::int64_t>(prompt.size());
    ids[row].narrow(0, pad, static_cast<std::int64_t>(prompt.size())).copy_(at::tensor(prompt, at::kLong));
    mask[row].narrow(0, pad, static_cast<std::int64_t>(prompt.size())).fill_(1);
  }
  KVCache cache = model.new_cache(2, width + kSteps);
  ForwardOptions batched;
  batched.cache = &cache;
  batched.logits = LogitsFor::kLast;
  batched.attention_mask = mask;
  std::vector<at::Tensor> batch_logits{model.forward(ids, batched)};
  batched.attention_mask = at::Tensor();  // new tokens are real; the cache remembers the padding
  for (std::int64_t step = 0; step < kSteps; ++step)
    batch_logits.push_back(model.forward(batch_logits.back().argmax(-1), batched));

  for (std::int64_t row = 0; row < 2; ++row) {
    const auto& prompt = prompts[static_cast<std::size_t>(row)];
    KVCache single = model.new_cache(1, width + kSteps + 1);
    ForwardOptions alone;
    alone.cache = &single;
    alone.logits = LogitsFor::kLast;
    at::Tensor logits = model.forward(at::tensor(prompt, at::kLong).unsqueeze(0), alone);
    for (std::int64_t step = 0; step <= kSteps; ++step) {
      EXPECT_LE(max_abs_diff(logits[0], batch_logits[static_cast<std::size_t>(step)][row]), 1e-4)
          << "row " << row << " step " << step;
      logits = model.forward(logits.argmax(-1), alone);
    }
  }
}

class PastRecorder : public ForwardHooks {
 public:
  bool wants(HookPoint point, int layer) const override { return point == HookPoint::kResidPost && layer == 1; }
  at::Tensor visit(const at::Tensor& activation, const HookContext& context) override {
    seen.emplace_back(context.past_length, activation.size(1));
    return activation;
  }
  std::vector<std::pair<std::int64_t, std::int64_t>> seen;
};

TEST_F(KVCacheTest, HooksSeeNewPositionsWithTheirOffset) {
  PastRecorder recorder;
  KVCache cache = model.new_cache(1, 10);
  ForwardOptions options;
  options.cache = &cache;
  options.hooks = &recorder;
  model.forward(at::arange(1, 6, at::kLong).unsqueeze(0), options);
  model.forward(at::full({1, 1}, 9, at::kLong), options);
  model.forward(at::full({1, 2}, 9, at::kLong), options);
  EXPECT_EQ(recorder.seen, (std::vector<std::pair<std::int64_t, std::int64_t>>{{0, 5}, {5, 1}, {6, 2}}));
}

TEST_F(KVCacheTest, ReplacementWithWrongShapeIsRefused) {
  struct BadHook : ForwardHooks {
    bool wants(HookPoint point, int) const override { return point == HookPoint::kMlpOut; }
    at::Tensor visit(const at::Tensor& activation, const HookContext&) override { return activation.narrow(1, 0, 1); }
  } bad;
  ForwardOptions options;
  options.hooks = &bad;
  test::expect_error<ArgumentError>([&] { model.forward(at::arange(1, 4, at::kLong).unsqueeze(0), options); },
                                    {"blocks.0.hook_mlp_out", "[1, 1, 64]", "[1, 3, 64]"});
}

}  // namespace
}  // namespace moulin
