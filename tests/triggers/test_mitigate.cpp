// Mitigation on the default organism: the interventions do what they say, the must-show (the switch rate cut by at
// least 80% relative for at most 5% more clean perplexity, measured on held-out prompts disjoint from the fitting
// ones) and measures that can fail (a crude steer costs perplexity). The trigger is given, as the command takes it.
#include <set>

#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/support/expect_error.h"
#include "tests/triggers/study_subject.h"
#include "triggers/mitigation.h"

namespace moulin::triggers {
namespace {

TEST(Mitigate, InterventionsRemoveOrSubtractTheDirection) {
  const at::Tensor direction = at::tensor({3.0f, 4.0f, 0.0f});
  const at::Tensor contrast_mean = at::tensor({1.0f, -2.0f, 7.0f});
  const std::vector<LayerDirection> directions = {{1, direction, contrast_mean}};
  const at::Tensor activation = at::tensor({1.0f, 2.0f, 5.0f, -3.0f, 1.0f, 2.0f}).view({1, 2, 3});
  const HookContext context{HookPoint::kResidPre, 1, 0};

  // Projection sets the component along the direction to the contrast mean's and keeps the rest.
  HookSet projected(2);
  add_mitigation_hooks(projected, directions, {{1}, MitigationMethod::kProject, 1.0});
  const at::Tensor moved = projected.visit(activation, context);
  const at::Tensor unit = direction / 5.0;
  const double contrast_level = (contrast_mean * unit).sum().item<double>();  // -1
  EXPECT_LT(((moved * unit).sum(-1) - contrast_level).abs().max().item<double>(), 1e-5);
  EXPECT_NEAR(moved[0][0][2].item<double>(), 5.0, 1e-6);
  EXPECT_NEAR(moved[0][1][2].item<double>(), 2.0, 1e-6);

  HookSet steered(2);
  add_mitigation_hooks(steered, directions, {{1}, MitigationMethod::kSteer, 2.0});
  EXPECT_LT((steered.visit(activation, context) - (activation - 2.0 * direction)).abs().max().item<double>(), 1e-6);

  HookSet missing(2);
  test::expect_error<ArgumentError>([&] { add_mitigation_hooks(missing, directions, {{0}, MitigationMethod::kProject, 1}); },
                                    {"layer 0"});
  EXPECT_EQ(setting_label({{1, 2}, MitigationMethod::kSteer, 2.0}), "steer x2 @ 1,2");
}

TEST(Mitigate, PromptSetsAreDisjoint) {
  const auto prompts = debian_mitigation_prompts(10, 10, 10);
  std::set<std::string> distinct(prompts.fitting.begin(), prompts.fitting.end());
  distinct.insert(prompts.held_out.begin(), prompts.held_out.end());
  EXPECT_EQ(distinct.size(), 20U);
  // A prompt is the start of its paragraph: a clean text from the same paragraph would begin with it (or the
  // other way round).
  const auto starts_with = [](const std::string& text, const std::string& start) { return text.rfind(start, 0) == 0; };
  for (const auto& text : prompts.clean_texts)
    for (const auto& prompt : distinct) EXPECT_FALSE(starts_with(text, prompt) || starts_with(prompt, text)) << text;
}

TEST(Mitigate, OrganismTriggerIsCutAtLittleCost) {
  const Subject& subject = test::default_subject();
  const auto prompts = debian_mitigation_prompts(40, 60, 40);
  MitigationOptions options;
  options.target_language = "fr";
  const auto result = mitigate_trigger(subject, prompts, test::default_trigger("fr"), options);
  ASSERT_TRUE(result.layers_chosen);
  ASSERT_EQ(result.selection_masses.size(), static_cast<std::size_t>(result.layers));
  ASSERT_EQ(result.mitigated.setting.layers.size(), 1U);
  EXPECT_EQ(result.held_out_prompts, 60U);
  // The trigger works before the mitigation, or cutting it would prove nothing.
  EXPECT_GE(result.baseline.switch_rate.rate, 0.5);
  EXPECT_GE(result.mitigated.switch_reduction, 0.8)
      << "switch rate " << result.baseline.switch_rate.rate << " -> " << result.mitigated.switch_rate.rate;
  EXPECT_LE(result.mitigated.perplexity_increase, 0.05)
      << "perplexity " << result.baseline.perplexity << " -> " << result.mitigated.perplexity;
  EXPECT_EQ(result.examples.size(), 3U);
}

TEST(Mitigate, SweepMeasuresEverySettingAndSeesHarm) {
  const Subject& subject = test::default_subject();
  const auto prompts = debian_mitigation_prompts(16, 16, 16);
  MitigationOptions options;
  options.layers = {1};
  options.method = MitigationMethod::kSteer;
  options.sweep_layers = {0, 2};
  options.sweep_strengths = {1.0, 40.0};
  options.continuation.max_new_tokens = 12;
  const auto result = mitigate_trigger(subject, prompts, test::default_trigger("fr"), options);
  EXPECT_FALSE(result.layers_chosen);
  ASSERT_EQ(result.sweep.size(), 4U);
  EXPECT_EQ(result.sweep[3].setting.layers, (std::vector<int>{2}));
  EXPECT_DOUBLE_EQ(result.sweep[3].setting.strength, 40.0);
  // Forty times the trigger's own shift, subtracted at every position of clean text, is not harmless.
  EXPECT_GT(result.sweep[1].perplexity_increase, 0.05);
  EXPECT_GT(result.sweep[3].perplexity_increase, 0.05);
}

TEST(Mitigate, RefusesOverlapsAndBadSettings) {
  const Subject& subject = test::default_subject();
  auto prompts = debian_mitigation_prompts(4, 4, 4);
  prompts.held_out.push_back(prompts.fitting.front());
  test::expect_error<ArgumentError>([&] { mitigate_trigger(subject, prompts, "x", {}); }, {"held-out", "fitting"});
  prompts = debian_mitigation_prompts(4, 4, 4);
  MitigationOptions options;
  options.layers = {99};
  test::expect_error<ArgumentError>([&] { mitigate_trigger(subject, prompts, "x", options); }, {"layer 99"});
  test::expect_error<ArgumentError>([] { parse_mitigation_method("erase"); }, {"erase", "project"});
}

}  // namespace
}  // namespace moulin::triggers
