// Interventions are exact: full patching reproduces the clean run, zero-ablating attention equals a model without
// attention, steering by 0 changes nothing, and resuming from a saved residual stream gives the same logits.
#include <gtest/gtest.h>

#include <numeric>

#include <fmt/format.h>

#include "core/error.h"
#include "core/runtime.h"
#include "hooks/activation_cache.h"
#include "hooks/hook_names.h"
#include "hooks/interventions.h"
#include "tests/support/expect_error.h"
#include "tests/support/golden.h"

namespace moulin {
namespace {

using test::golden_model;
using test::golden_tensor;
using test::max_abs_diff;

class Interventions : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { init_runtime(); }
  void SetUp() override {
    model = std::make_unique<LlamaModel>(LlamaModel::load(golden_model(GetParam())));
    layers = static_cast<int>(model->config().num_hidden_layers);
    clean = golden_tensor(GetParam(), "case3_sequence.npy").narrow(1, 0, 20);
    corrupted = clean.clone();
    corrupted[0][5] = (clean[0][5].item<std::int64_t>() + 7) % model->config().vocab_size;
    corrupted[0][12] = (clean[0][12].item<std::int64_t>() + 11) % model->config().vocab_size;
  }
  at::Tensor run(const at::Tensor& ids, HookSet& hooks) const {
    ForwardOptions options;
    options.hooks = &hooks;
    return model->forward(ids, options);
  }
  std::unique_ptr<LlamaModel> model;
  int layers = 0;
  at::Tensor clean, corrupted;
};

TEST_P(Interventions, PatchingEveryPointReproducesTheCleanRunExactly) {
  CacheOptions everything;
  everything.names = NameFilter::all();
  const auto [clean_logits, clean_cache] = run_with_cache(*model, clean, everything);
  HookSet hooks(layers);
  for (const auto& name : all_hook_names(layers)) hooks.add(name, patch_from(clean_cache.at(name)));
  EXPECT_TRUE(at::equal(run(corrupted, hooks), clean_logits));

  // The residual stream entering block 0 alone carries everything.
  HookSet resid_only(layers);
  resid_only.add("blocks.0.hook_resid_pre", patch_from(clean_cache.at("blocks.0.hook_resid_pre")));
  EXPECT_TRUE(at::equal(run(corrupted, resid_only), clean_logits));
}

// Reference: the same network with every attention sublayer removed, written directly from the weights.
at::Tensor forward_without_attention(const LlamaModel& model, const at::Tensor& ids) {
  const auto& c = model.config();
  at::Tensor residual = model.embed(ids);
  for (const auto& w : model.weights().layers) {
    const at::Tensor x = rms_norm(residual, w.post_attention_norm, c.rms_norm_eps);
    const at::Tensor gate_up = at::linear(x, w.gate_up_proj);
    const at::Tensor post = at::silu(gate_up.narrow(-1, 0, c.intermediate_size)) *
                            gate_up.narrow(-1, c.intermediate_size, c.intermediate_size);
    residual = residual + at::linear(post, w.down_proj);
  }
  return at::linear(rms_norm(residual, model.weights().final_norm, c.rms_norm_eps), model.weights().lm_head);
}

TEST_P(Interventions, ZeroAblatingAllAttentionEqualsNoAttention) {
  HookSet hooks(layers);
  hooks.add(NameFilter::predicate([](const std::string& name) { return name.find("hook_attn_out") != std::string::npos; }),
            zero_ablation());
  EXPECT_LE(max_abs_diff(run(clean, hooks), forward_without_attention(*model, clean)), 1e-6);

  // Zeroing every head of z zeroes the attention output exactly (no bias in these models).
  std::vector<std::int64_t> all_heads(static_cast<std::size_t>(model->config().num_attention_heads));
  std::iota(all_heads.begin(), all_heads.end(), 0);
  HookSet heads(layers);
  heads.add(NameFilter::predicate([](const std::string& name) { return name.find("attn.hook_z") != std::string::npos; }),
            head_ablation(all_heads));
  EXPECT_TRUE(at::equal(run(clean, heads), run(clean, hooks)));
}

TEST_P(Interventions, SteeringByZeroChangesNothingAndSteeringIsCausal) {
  const at::Tensor plain = model->forward(clean);
  const at::Tensor direction = at::randn({model->config().hidden_size});
  HookSet zero(layers);
  zero.add("blocks.0.hook_resid_post", steering(direction, 0.0));
  EXPECT_TRUE(at::equal(run(clean, zero), plain));

  HookSet steer(layers);
  steer.add("blocks.0.hook_resid_post", steering(direction, 4.0, {8}));
  const at::Tensor steered = run(clean, steer);
  EXPECT_TRUE(at::equal(steered.narrow(1, 0, 8), plain.narrow(1, 0, 8))) << "positions before the steered one are untouched";
  EXPECT_GT(max_abs_diff(steered.narrow(1, 8, 12), plain.narrow(1, 8, 12)), 1e-3);
}

TEST_P(Interventions, ProjectOutRemovesTheDirection) {
  const at::Tensor direction = at::randn({model->config().hidden_size});
  HookSet hooks(layers);
  hooks.add("blocks.0.hook_resid_post", project_out(direction));
  CacheOptions options;
  options.names = NameFilter::names({"blocks.0.hook_resid_post"});
  ForwardOptions forward;
  forward.hooks = &hooks;
  const auto [logits, cache] = run_with_cache(*model, clean, options, forward);
  const at::Tensor projected = cache.at("blocks.0.hook_resid_post");
  const at::Tensor unit = direction / direction.norm();
  EXPECT_LE((projected * unit).sum(-1).abs().max().item<double>(), 1e-6);
  // Idempotent: projecting again changes nothing beyond rounding.
  const auto again = project_out(direction)(projected, HookContext{HookPoint::kResidPost, 0, 0});
  EXPECT_LE(max_abs_diff(*again, projected), 1e-6);
}

TEST_P(Interventions, MeanAblationWritesTheMean) {
  CacheOptions options;
  options.names = NameFilter::names({"blocks.0.hook_mlp_out", "blocks.0.attn.hook_z"});
  const auto [logits, reference] = run_with_cache(*model, corrupted, options);
  const at::Tensor mean = mean_activation(reference.at("blocks.0.hook_mlp_out"), HookPoint::kMlpOut);
  const at::Tensor head_mean = mean_activation(reference.at("blocks.0.attn.hook_z"), HookPoint::kAttnZ);
  HookSet hooks(layers);
  hooks.add("blocks.0.hook_mlp_out", mean_ablation(mean, {2, 3}));
  hooks.add("blocks.0.attn.hook_z", head_ablation({1}, head_mean));
  ForwardOptions forward;
  forward.hooks = &hooks;
  const auto [ablated_logits, ablated] = run_with_cache(*model, clean, options, forward);
  const at::Tensor mlp_out = ablated.at("blocks.0.hook_mlp_out");
  EXPECT_LE(max_abs_diff(mlp_out[0][2], mean), 1e-6);
  EXPECT_LE(max_abs_diff(mlp_out[0][3], mean), 1e-6);
  EXPECT_GT(max_abs_diff(mlp_out[0][4], mean), 1e-4);
  EXPECT_LE(max_abs_diff(ablated.at("blocks.0.attn.hook_z").select(2, 1)[0], head_mean[1].expand({20, -1})), 1e-6);
  test::expect_error<ArgumentError>(
      [&] {
        HookSet bad(layers);
        bad.add("blocks.0.hook_mlp_out", head_ablation({0}));
        run(clean, bad);
      },
      {"no head dimension", "blocks.0.hook_mlp_out"});
}

TEST_P(Interventions, StopAndStartAtLayer) {
  const at::Tensor plain = model->forward(clean);
  for (int stop = 0; stop <= layers; ++stop) {
    ForwardOptions first;
    first.stop_at_layer = stop;
    const at::Tensor residual = model->forward(clean, first);
    ASSERT_EQ(residual.size(-1), model->config().hidden_size);
    EXPECT_TRUE(at::equal(model->forward_residual(residual, stop), plain)) << "resumed at block " << stop;
  }
  ForwardOptions stop0;
  stop0.stop_at_layer = 0;
  EXPECT_TRUE(at::equal(model->forward(clean, stop0), model->embed(clean)));
  test::expect_error<ArgumentError>([&] { model->forward_residual(model->embed(clean), layers + 1); }, {"not a range"});
}

// Interventions address absolute positions, so they act at the same place during KV-cached generation.
TEST_P(Interventions, InterventionsDuringCachedDecoding) {
  const at::Tensor direction = at::randn({model->config().hidden_size});
  HookSet hooks(layers);
  hooks.add(fmt::format("blocks.{}.hook_resid_pre", layers - 1), steering(direction, 3.0, {17}));
  const at::Tensor full = run(clean, hooks);
  KVCache kv = model->new_cache(1, 20);
  ForwardOptions forward;
  forward.cache = &kv;
  forward.hooks = &hooks;
  std::vector<at::Tensor> steps{model->forward(clean.narrow(1, 0, 15), forward)};
  for (std::int64_t t = 15; t < 20; ++t) steps.push_back(model->forward(clean.narrow(1, t, 1), forward));
  EXPECT_LE(max_abs_diff(at::cat(steps, 1), full), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(AllModels, Interventions, ::testing::Values("tiny-gqa", "tiny-llama3rope", "tiny-mha"));

}  // namespace
}  // namespace moulin
