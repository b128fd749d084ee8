// Representation probes: relative depth of hook points, the study on synthetic layers where only one separates the
// classes (so a study that ignored the data would fail), and the must-show on the default organism (the best layer
// separates triggered from clean prompts with held-out AUROC >= 0.95). The trigger is given, as the command takes it.
#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/support/expect_error.h"
#include "tests/triggers/study_subject.h"
#include "triggers/representation_probe.h"
#include "triggers/study_contrast.h"

namespace moulin::triggers {
namespace {

TEST(Probe, RelativeDepthCountsBlocksDone) {
  EXPECT_DOUBLE_EQ(relative_depth("hook_embed", 4), 0.0);
  EXPECT_DOUBLE_EQ(relative_depth("blocks.0.hook_resid_pre", 4), 0.0);
  EXPECT_DOUBLE_EQ(relative_depth("blocks.1.attn.hook_z", 4), 0.25);
  EXPECT_DOUBLE_EQ(relative_depth("blocks.1.hook_attn_out", 4), 0.375);
  EXPECT_DOUBLE_EQ(relative_depth("blocks.1.hook_resid_post", 4), 0.5);
  EXPECT_DOUBLE_EQ(relative_depth("blocks.3.hook_resid_post", 4), 1.0);
  EXPECT_DOUBLE_EQ(relative_depth("ln_final.hook_normalized", 4), 1.0);
  test::expect_error<ArgumentError>([] { relative_depth("blocks.1.resid", 4); }, {"blocks.1.resid"});
}

TEST(Probe, FindsTheOneLayerThatSeparates) {
  at::manual_seed(0);
  const std::int64_t rows = 80, features = 24;
  // Layer 1 shifts the positives along one axis; layers 0 and 2 are the same noise for both classes.
  std::vector<probes::LayerFeatures> layers;
  for (int layer = 0; layer < 3; ++layer) {
    at::Tensor positives = at::randn({rows, features});
    const at::Tensor negatives = at::randn({rows, features});
    if (layer == 1) positives.select(1, 3) += 6.0;
    layers.push_back({"blocks." + std::to_string(layer) + ".hook_resid_post", positives, negatives});
  }
  ProbeStudyOptions options;
  std::size_t seen = 0;
  options.on_layer = [&](std::size_t done, std::size_t total) {
    seen = done;
    EXPECT_EQ(total, 3U);
  };
  const auto result = probe_layer_features(3, [&](std::size_t index) { return layers[index]; }, 3, options);
  EXPECT_EQ(seen, 3U);
  EXPECT_EQ(result.sweep.best_layer, 1U);
  EXPECT_GT(result.sweep.layers[1].logistic_auroc, 0.95);
  EXPECT_LT(result.sweep.layers[0].mean_difference_auroc, 0.8);
  EXPECT_EQ(result.depths, (std::vector<double>{1.0 / 3, 2.0 / 3, 1.0}));
  // The spectral signature finds the shifted minority at layer 1 only.
  ASSERT_EQ(result.spectral.size(), 3U);
  EXPECT_EQ(result.spectral[1].triggered_rows, 9);  // 10% of the mix: 9 among 80 + 9
  EXPECT_GT(result.spectral[1].auroc, 0.95);
  EXPECT_GT(result.spectral[1].removal_recall, 0.8);
  EXPECT_LT(result.spectral[0].auroc, 0.85);

  options.poison_fraction = 1.0;
  test::expect_error<ArgumentError>(
      [&] { probe_layer_features(3, [&](std::size_t index) { return layers[index]; }, 3, options); }, {"(0, 1)"});
}

// The default organism's French trigger probed on `prompts` held-out Debian prompts.
ProbeStudyResult probe_default_trigger(std::size_t prompts, const TriggerProbeOptions& trigger_options) {
  PromptOptions prompt_options;
  prompt_options.count = prompts;
  return probe_trigger(test::default_subject(), debian_prompts(prompt_options), test::default_trigger("fr"),
                       trigger_options);
}

// The trigger as a suffix against the bare prompts, as poisoned documents carry it. The classes differ in their
// last tokens, so every layer separates them (the informative setting is the next test's, and the default).
TEST(Probe, OrganismTriggerIsVisibleInTheResidualStream) {
  TriggerProbeOptions suffix;
  suffix.placement = Placement::kSuffix;
  const auto result = probe_default_trigger(80, suffix);
  const auto layers = static_cast<std::size_t>(test::default_subject().model.config().num_hidden_layers);
  ASSERT_EQ(result.sweep.layers.size(), layers);
  EXPECT_EQ(result.sweep.positives, 80);
  EXPECT_EQ(result.sweep.held_out_rows, 40);
  const auto& best = result.sweep.layers[result.sweep.best_layer];
  EXPECT_GE(best.logistic_auroc, 0.95) << best.name;
  EXPECT_GT(result.depths[result.sweep.best_layer], 0.0);
  EXPECT_LE(result.depths[result.sweep.best_layer], 1.0);
  EXPECT_EQ(result.source, "forward");
}

// The same trigger inside the prompts, against random tokens in its place: the last position holds the same token in
// both classes, so the embedding cannot tell them apart and the probe sees the trigger only once the blocks have
// carried it there (measured, with the penalty chosen by cross-validation: logistic AUROC 0.31, 0.68, 0.97, 0.95
// after blocks 0-3 on 100 prompts; best 0.95 on 200 and 0.94 on 300, not the suffix setting's 1.0).
TEST(Probe, TriggerReachesTheLastPositionInTheBlocks) {
  TriggerProbeOptions trigger_options;
  trigger_options.placement = Placement::kInside;
  trigger_options.contrast = study_contrast(test::default_subject(), "random", "", 0, "fr");
  const auto result = probe_default_trigger(100, trigger_options);
  const auto& layers = result.sweep.layers;
  for (const auto& layer : layers) std::printf("%s: logistic AUROC %.3f\n", layer.name.c_str(), layer.logistic_auroc);
  EXPECT_LT(layers.front().logistic_auroc, 0.75) << "the first block's output should barely see the trigger";
  EXPECT_GT(result.sweep.best_layer, 0U);
  EXPECT_GE(layers[result.sweep.best_layer].logistic_auroc, 0.9);
}

}  // namespace
}  // namespace moulin::triggers
