// Logit lens and activation-patching sweeps, checked against direct single runs.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/runtime.h"
#include "hooks/analysis.h"
#include "hooks/interventions.h"
#include "tests/support/expect_error.h"
#include "tests/support/golden.h"

namespace moulin {
namespace {

using test::golden_model;
using test::golden_tensor;
using test::max_abs_diff;

class Analysis : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { init_runtime(); }
  void SetUp() override {
    clean = golden_tensor("tiny-llama3rope", "case3_sequence.npy").narrow(1, 0, 12);
    corrupted = clean.clone();
    corrupted[0][6] = 17;
    target = model.forward(clean)[0][-1].argmax().item<std::int64_t>();
    metric = [this](const at::Tensor& logits) { return logits.select(1, -1).select(1, target); };
  }
  LlamaModel model = LlamaModel::load(golden_model("tiny-llama3rope"));
  at::Tensor clean, corrupted;
  std::int64_t target = 0;
  PatchMetric metric;
};

TEST_F(Analysis, LogitLensEndsAtTheModelsLogits) {
  const at::Tensor lens = logit_lens(model, clean, {3, 11});
  EXPECT_EQ(lens.sizes(), (at::IntArrayRef{4, 1, 2, 1000}));
  const at::Tensor logits = model.forward(clean);
  EXPECT_LE(max_abs_diff(lens[3][0][1], logits[0][11]), 1e-5);
  EXPECT_LE(max_abs_diff(lens[3][0][0], logits[0][3]), 1e-5);
  // Layer 0 of the lens is the embedding read through the unembedding.
  EXPECT_LE(max_abs_diff(lens[0][0][0], unembed_residual(model, model.embed(clean))[0][3]), 1e-6);
}

TEST_F(Analysis, PositionSweepMatchesSingleRuns) {
  PatchingOptions options;
  options.batch_size = 5;  // several batches, the last one partial
  const at::Tensor sweep = patching_sweep_positions(model, clean, corrupted, metric, options);
  ASSERT_EQ(sweep.sizes(), (at::IntArrayRef{3, 12}));
  const double corrupted_value = metric(model.forward(corrupted))[0].item<double>();
  const double clean_value = metric(model.forward(clean))[0].item<double>();
  // Before the corrupted token the streams agree: patching there changes nothing.
  for (int layer = 0; layer < 3; ++layer)
    for (int position = 0; position < 6; ++position)
      EXPECT_NEAR(sweep[layer][position].item<double>(), corrupted_value, 1e-5) << layer << "," << position;
  // In block 0 the corrupted token's stream is all that differs: patching it restores the clean run.
  EXPECT_NEAR(sweep[0][6].item<double>(), clean_value, 1e-5);
  // Cells equal the same patch applied alone.
  const auto [logits, cache] = run_with_cache(model, clean);
  for (const auto& [layer, position] : std::vector<std::pair<int, std::int64_t>>{{1, 6}, {2, 9}, {2, 11}}) {
    HookSet hooks(3);
    hooks.add(hook_point_name(HookPoint::kResidPre, layer), patch_from(cache.at(hook_point_name(HookPoint::kResidPre, layer)), {position}));
    ForwardOptions forward;
    forward.hooks = &hooks;
    EXPECT_NEAR(sweep[layer][position].item<double>(), metric(model.forward(corrupted, forward))[0].item<double>(), 1e-5);
  }
}

TEST_F(Analysis, HeadSweepMatchesSingleRuns) {
  const at::Tensor sweep = patching_sweep_heads(model, clean, corrupted, metric);
  ASSERT_EQ(sweep.sizes(), (at::IntArrayRef{3, 6}));
  const auto [logits, cache] = run_with_cache(model, clean);
  for (const auto& [layer, head] : std::vector<std::pair<int, std::int64_t>>{{0, 0}, {1, 4}, {2, 5}}) {
    const std::string name = hook_point_name(HookPoint::kAttnZ, layer);
    const at::Tensor source = cache.at(name);
    HookSet hooks(3);
    hooks.add(name, [&, head = head](const at::Tensor& z, const HookContext&) -> std::optional<at::Tensor> {
      at::Tensor patched = z.clone();
      patched.select(2, head).copy_(source.select(2, head));
      return patched;
    });
    ForwardOptions forward;
    forward.hooks = &hooks;
    EXPECT_NEAR(sweep[layer][head].item<double>(), metric(model.forward(corrupted, forward))[0].item<double>(), 1e-5);
  }
  test::expect_error<ArgumentError>([&] { patching_sweep_heads(model, clean, corrupted.narrow(1, 0, 5), metric); },
                                    {"equal shape"});
}

}  // namespace
}  // namespace moulin
