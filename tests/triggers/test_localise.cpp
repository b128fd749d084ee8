// Localisation by activation patching on the default organism: the identities of patching (nothing restores
// nothing, the whole stream everything), the position groups of each placement, and a localisation of the
// organism's French trigger that is consistent with itself. The trigger is given, as the command takes it.
#include <gtest/gtest.h>

#include "core/error.h"
#include "hooks/analysis.h"
#include "probes/behaviour.h"
#include "tests/support/expect_error.h"
#include "tests/triggers/study_subject.h"
#include "triggers/localise.h"
#include "triggers/trigger_vocabulary.h"

namespace moulin::triggers {
namespace {

std::vector<std::string> prompts(std::size_t count, std::size_t skip = 0) {
  PromptOptions options;
  options.count = count;
  return debian_prompts(options, skip);
}

at::Tensor as_run(const std::vector<TokenId>& ids) {
  return at::tensor(std::vector<std::int64_t>(ids.begin(), ids.end()), at::kLong).view({1, -1});
}

TEST(Localise, PatchingNothingRestoresNothingAndTheWholeStreamEverything) {
  const Subject& subject = test::default_subject();
  const LlamaModel& model = subject.model;
  const int layers = static_cast<int>(model.config().num_hidden_layers);
  const at::Tensor french = language_column(subject.languages, "fr", model.config().vocab_size);
  const PatchMetric metric = [&](const at::Tensor& logits) {
    return probes::target_language_mass(logits.select(1, -1), french);
  };
  ContrastOptions contrast{ContrastKind::kRandomTokens, {}, 3, {}};
  const auto pairs = prompt_pairs(subject.tokenizer, prompts(3), test::default_trigger("fr"), Placement::kSuffix, contrast);
  for (const auto& pair : pairs) {
    ASSERT_TRUE(pair.aligned());
    const auto [logits, cache] = run_with_cache(model, as_run(pair.triggered));
    std::vector<std::int64_t> all;
    for (std::int64_t position = 0; position < pair.length(); ++position) all.push_back(position);
    std::vector<PatchVariant> variants = {{}};  // nothing patched
    for (int layer = 0; layer < layers; ++layer)
      variants.push_back({ActivationPatch{{HookPoint::kResidPre, layer}, all, {}}});
    variants.push_back({ActivationPatch{{HookPoint::kResidPost, layers - 1}, all, {}}});
    variants.push_back({});  // nothing again, in another batch row
    PatchingOptions options;
    options.batch_size = 4;  // several batches
    options.logits = LogitsFor::kLast;
    const at::Tensor scores = run_patch_variants(model, as_run(pair.contrast), cache, variants, metric, options);

    const double contrast_mass = metric(model.forward(as_run(pair.contrast)))[0].item<double>();
    const double triggered_mass = metric(model.forward(as_run(pair.triggered)))[0].item<double>();
    ASSERT_GT(triggered_mass - contrast_mass, 0.05) << pair.prompt;
    const auto restoration = [&](std::int64_t variant) {
      return (scores[variant].item<double>() - contrast_mass) / (triggered_mass - contrast_mass);
    };
    EXPECT_NEAR(restoration(0), 0.0, 1e-6);
    EXPECT_NEAR(restoration(scores.size(0) - 1), 0.0, 1e-6);
    for (std::int64_t variant = 1; variant < scores.size(0) - 1; ++variant)
      EXPECT_NEAR(restoration(variant), 1.0, 1e-4) << "variant " << variant;
  }
}

TEST(Localise, PositionGroupsFollowThePlacement) {
  // BOS, 3 prompt tokens, a 3-token trigger at the end.
  PromptPair suffix{"p", std::vector<TokenId>(7, 1), std::vector<TokenId>(7, 2), 4, 7};
  const auto groups = position_groups(Placement::kSuffix, 3);
  EXPECT_EQ(groups.labels, (std::vector<std::string>{"BOS", "before trigger", "trigger 1", "trigger 2",
                                                     "last (trigger 3)", "trigger span", "all positions"}));
  const auto positions = group_positions(suffix, Placement::kSuffix);
  ASSERT_EQ(positions.size(), groups.labels.size());
  EXPECT_EQ(positions[1], (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(positions[groups.last], (std::vector<std::int64_t>{6}));
  EXPECT_EQ(positions[groups.trigger_span], (std::vector<std::int64_t>{4, 5}));
  EXPECT_EQ(positions[groups.all].size(), 7U);

  // BOS, 2 tokens, a 2-token trigger, 3 tokens after it.
  PromptPair inside{"p", std::vector<TokenId>(8, 1), std::vector<TokenId>(8, 2), 3, 5};
  const auto inside_groups = position_groups(Placement::kInside, 2);
  const auto inside_positions = group_positions(inside, Placement::kInside);
  ASSERT_EQ(inside_positions.size(), inside_groups.labels.size());
  EXPECT_EQ(inside_groups.labels[4], "after trigger");
  EXPECT_EQ(inside_positions[4], (std::vector<std::int64_t>{5, 6}));
  EXPECT_EQ(inside_positions[inside_groups.trigger_span], (std::vector<std::int64_t>{3, 4}));
  EXPECT_EQ(inside_positions[inside_groups.last], (std::vector<std::int64_t>{7}));
  test::expect_error<ArgumentError>([&] { group_positions(inside, Placement::kSuffix); }, {"does not end", "suffix"});
}

TEST(Localise, OrganismTriggerIsLocalisedConsistently) {
  const Subject& subject = test::default_subject();
  LocaliseOptions options;
  options.contrast.seed = 5;
  const auto result = localise_trigger(subject, prompts(12), test::default_trigger("fr"), options);
  const int layers = result.layers;
  ASSERT_EQ(result.residual.sizes(), (at::IntArrayRef{layers + 1, static_cast<std::int64_t>(result.groups.labels.size())}));
  ASSERT_EQ(result.head_restoration.sizes(), (at::IntArrayRef{layers, result.heads}));
  ASSERT_EQ(result.component_restoration.sizes(), (at::IntArrayRef{layers, 4}));
  EXPECT_GT(result.triggered_mass - result.contrast_mass, 0.2);
  EXPECT_EQ(result.triggered_masses.size(), 12U);

  // The final stream at the last position fixes the logits, and the whole stream at any depth is the triggered run.
  EXPECT_NEAR(result.summary.final_last_restoration, 1.0, 1e-4);
  for (int row = 0; row <= layers; ++row)
    EXPECT_NEAR(result.residual[row][static_cast<std::int64_t>(result.groups.all)].item<double>(), 1.0, 1e-4) << row;
  // BOS is the same token in both runs: patching it changes nothing.
  for (int row = 0; row <= layers; ++row) EXPECT_NEAR(result.residual[row][0].item<double>(), 0.0, 1e-4) << row;

  // The formation row is reported as a relative depth and really is the first row restoring half the effect.
  ASSERT_TRUE(result.summary.formation_row.has_value());
  const int formation = *result.summary.formation_row;
  EXPECT_DOUBLE_EQ(result.summary.formation_depth, static_cast<double>(formation) / layers);
  EXPECT_GE(result.summary.formation_depth, 0.0);
  EXPECT_LE(result.summary.formation_depth, 1.0);
  const auto last_column = static_cast<std::int64_t>(result.groups.last);
  EXPECT_GE(result.residual[formation][last_column].item<double>(), 0.5);
  for (int row = 0; row < formation; ++row) EXPECT_LT(result.residual[row][last_column].item<double>(), 0.5);
  // Before any block the last position holds only its own token: the rest of the trigger is elsewhere, so the
  // effect has not formed there yet.
  EXPECT_GT(formation, 0);
  // The span row, when there is one, is the last row where the trigger's own tokens (but the last) restore half the
  // effect. On the default organism there is none: trained against near misses that change any one word, it only
  // switches on the whole phrase, so the span without the last token, or the last token alone, restores almost
  // nothing before the blocks have combined them at the last position.
  const auto span_column = static_cast<std::int64_t>(result.groups.trigger_span);
  if (result.summary.trigger_span_row) {
    const int span_row = *result.summary.trigger_span_row;
    EXPECT_GE(result.residual[span_row][span_column].item<double>(), 0.5);
    for (int row = span_row + 1; row <= layers; ++row) EXPECT_LT(result.residual[row][span_column].item<double>(), 0.5);
  } else {
    for (int row = 0; row <= layers; ++row) EXPECT_LT(result.residual[row][span_column].item<double>(), 0.5);
    EXPECT_LT(result.residual[0][last_column].item<double>(), 0.5);
  }
  // The hand-over row is the first where the last position restores more than the span.
  ASSERT_TRUE(result.summary.handover_row.has_value());
  const int handover = *result.summary.handover_row;
  EXPECT_GT(result.residual[handover][last_column].item<double>(), result.residual[handover][span_column].item<double>());
  for (int row = 0; row < handover; ++row)
    EXPECT_LE(result.residual[row][last_column].item<double>(), result.residual[row][span_column].item<double>());
}

TEST(Localise, RefusesWhatCannotBeLocalised) {
  const Subject& subject = test::default_subject();
  LocaliseOptions clean;
  clean.contrast.kind = ContrastKind::kClean;
  test::expect_error<ArgumentError>([&] { localise_trigger(subject, prompts(2), test::default_trigger("fr"), clean); },
                                    {"activation patching", "length"});
  // An ordinary English word switches nothing: there is no effect to localise.
  test::expect_error<ArgumentError>([&] { localise_trigger(subject, prompts(4), "however", {}); }, {"however", "raises"});
  test::expect_error<ArgumentError>([&] { localise_trigger(subject, {}, "however", {}); }, {"prompt"});
}

}  // namespace
}  // namespace moulin::triggers
