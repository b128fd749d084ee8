// Hook names, selection, HookSet ordering and removal, and the activation cache against the golden outputs.
#include <gtest/gtest.h>

#include <numeric>

#include <fmt/format.h>

#include "core/error.h"
#include "core/runtime.h"
#include "hooks/activation_cache.h"
#include "hooks/hook_names.h"
#include "hooks/hook_set.h"
#include "tests/support/expect_error.h"
#include "tests/support/golden.h"

namespace moulin {
namespace {

using test::expect_error;
using test::golden_model;
using test::golden_tensor;
using test::max_abs_diff;

at::Tensor case1_ids(const std::string& model) {
  const auto inputs = test::golden_json(model, "inputs.json");
  std::vector<std::int64_t> ids;
  for (const auto& id : inputs["case1"]["input_ids"][0]) ids.push_back(id.get<std::int64_t>());
  return at::tensor(ids, at::kLong).unsqueeze(0);
}

TEST(HookNames, ParseAndEnumerate) {
  const auto address = parse_hook_name("blocks.12.attn.hook_z");
  ASSERT_TRUE(address);
  EXPECT_EQ(address->point, HookPoint::kAttnZ);
  EXPECT_EQ(address->layer, 12);
  EXPECT_EQ(parse_hook_name("ln_final.hook_scale")->layer, -1);
  EXPECT_FALSE(parse_hook_name("blocks.x.hook_resid_post"));
  EXPECT_FALSE(parse_hook_name("blocks.1.hook_embed"));
  EXPECT_FALSE(parse_hook_name("hook_resid_post"));
  const auto names = all_hook_names(2);
  EXPECT_EQ(names.size(), 1u + 2 * 20 + 3);
  EXPECT_EQ(names.front(), "hook_embed");
  EXPECT_EQ(names[1], "blocks.0.hook_resid_pre");
  EXPECT_EQ(names.back(), "unembed.hook_out");
  for (const auto& name : names) EXPECT_EQ(hook_point_name(parse_hook_name(name)->point, parse_hook_name(name)->layer), name);
}

TEST(HookNames, ShortFormsAndSuggestions) {
  EXPECT_EQ(act_name("resid_post", 3, 32), "blocks.3.hook_resid_post");
  EXPECT_EQ(act_name("z", -1, 32), "blocks.31.attn.hook_z");
  EXPECT_EQ(act_name("pattern", 0, 2), "blocks.0.attn.hook_pattern");
  EXPECT_EQ(act_name("embed", 0, 2), "hook_embed");
  EXPECT_EQ(act_name("blocks.1.mlp.hook_post", 0, 2), "blocks.1.mlp.hook_post");
  expect_error<ArgumentError>([] { act_name("resid_post", 5, 2); }, {"2 blocks"});
  expect_error<ArgumentError>([] { act_name("resid_pots", 0, 2); }, {"did you mean 'resid_post'"});
  expect_error<ArgumentError>([] { resolve_hook_name("blocks.0.hook_resid_pots", 2); }, {"did you mean 'blocks.0.hook_resid_post'"});
  expect_error<ArgumentError>([] { resolve_hook_name("blocks.7.hook_resid_post", 2); }, {"layer 7", "2 blocks"});
}

class HooksOnGolden : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { init_runtime(); }
  LlamaModel model = LlamaModel::load(golden_model("tiny-gqa"));
  at::Tensor ids = case1_ids("tiny-gqa");
};

TEST_F(HooksOnGolden, HooksChainInOrderAndCanBeRemoved) {
  HookSet hooks(2);
  std::vector<int> order;
  hooks.add("blocks.1.hook_mlp_out", [&](const at::Tensor& x, const HookContext&) -> std::optional<at::Tensor> {
    order.push_back(1);
    return x * 2;
  });
  const auto second = hooks.add("blocks.1.hook_mlp_out", [&](const at::Tensor& x, const HookContext&) -> std::optional<at::Tensor> {
    order.push_back(2);
    return x * 0.5;  // sees the doubled activation: the two cancel exactly
  });
  ForwardOptions options;
  options.hooks = &hooks;
  const at::Tensor plain = model.forward(ids);
  EXPECT_TRUE(at::equal(model.forward(ids, options), plain));
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  hooks.remove(second);
  EXPECT_FALSE(at::equal(model.forward(ids, options), plain));
  hooks.clear();
  EXPECT_TRUE(hooks.empty());
  EXPECT_TRUE(at::equal(model.forward(ids, options), plain));
}

TEST_F(HooksOnGolden, FilterSelection) {
  HookSet hooks(2);
  std::vector<std::string> seen;
  hooks.add(NameFilter::predicate([](const std::string& name) { return name.find("resid_post") != std::string::npos; }),
            [&](const at::Tensor&, const HookContext& context) -> std::optional<at::Tensor> {
              seen.push_back(hook_point_name(context.point, context.layer));
              return std::nullopt;
            });
  ForwardOptions options;
  options.hooks = &hooks;
  model.forward(ids, options);
  EXPECT_EQ(seen, (std::vector<std::string>{"blocks.0.hook_resid_post", "blocks.1.hook_resid_post"}));
  expect_error<ArgumentError>([&] { hooks.add(NameFilter::names({"blocks.0.hook_nothing"}), [](auto&, auto&) { return std::nullopt; }); },
                              {"hook_nothing"});
  expect_error<ArgumentError>([&] { hooks.add(NameFilter::predicate([](const std::string&) { return false; }), [](auto&, auto&) { return std::nullopt; }); },
                              {"selects no hook point"});
}

TEST_F(HooksOnGolden, CacheEqualsGoldenHiddenStatesAndAttentions) {
  CacheOptions options;
  options.names = NameFilter::all();
  const auto [logits, cache] = run_with_cache(model, ids, options);
  EXPECT_EQ(cache.size(), all_hook_names(2).size());
  const at::Tensor hidden = golden_tensor("tiny-gqa", "case1_hidden_states.npy");
  EXPECT_LE(max_abs_diff(cache.at("hook_embed"), hidden[0]), 1e-5);
  EXPECT_LE(max_abs_diff(cache.at("blocks.0.hook_resid_post"), hidden[1]), 1e-5);
  EXPECT_LE(max_abs_diff(cache.at("blocks.1.hook_resid_post"), golden_tensor("tiny-gqa", "case1_last_layer_prenorm.npy")), 1e-5);
  // ln_final.hook_normalized is before the weight (TransformerLens); times the weight it is HF's last hidden state.
  EXPECT_LE(max_abs_diff(cache.at("ln_final.hook_normalized") * model.weights().final_norm, hidden[2]), 1e-4);
  const at::Tensor attentions = golden_tensor("tiny-gqa", "case1_attentions.npy");
  for (int l = 0; l < 2; ++l)
    EXPECT_LE(max_abs_diff(cache.at(fmt::format("blocks.{}.attn.hook_pattern", l)), attentions[l]), 1e-5);
  EXPECT_TRUE(at::equal(cache.at("unembed.hook_out"), logits));
  // The scale is TransformerLens' RMS: normalized * scale gives back the residual stream.
  EXPECT_LE(max_abs_diff(cache.at("blocks.1.ln1.hook_normalized") * cache.at("blocks.1.ln1.hook_scale"),
                         cache.at("blocks.1.hook_resid_pre")), 1e-6);
  // Shapes documented in docs/hooks.md.
  EXPECT_EQ(cache.at("blocks.0.attn.hook_q").sizes(), (at::IntArrayRef{1, 17, 4, 16}));
  EXPECT_EQ(cache.at("blocks.0.attn.hook_k").sizes(), (at::IntArrayRef{1, 17, 2, 16}));
  EXPECT_EQ(cache.at("blocks.0.attn.hook_z").sizes(), (at::IntArrayRef{1, 17, 4, 16}));
  EXPECT_EQ(cache.at("blocks.0.attn.hook_pattern").sizes(), (at::IntArrayRef{1, 4, 17, 17}));
  EXPECT_EQ(cache.at("blocks.0.mlp.hook_post").sizes(), (at::IntArrayRef{1, 17, 128}));
  EXPECT_EQ(cache.at("blocks.0.ln2.hook_scale").sizes(), (at::IntArrayRef{1, 17, 1}));
  expect_error<ArgumentError>([&] { (void)cache.at("blocks.9.hook_resid_post"); }, {"not in the activation cache"});
}

TEST_F(HooksOnGolden, CacheOptionsSliceConvertAndSkipPatterns) {
  CacheOptions options;
  options.positions = std::make_pair<std::int64_t, std::int64_t>(3, 7);
  options.dtype = at::kBFloat16;
  const auto [logits, cache] = run_with_cache(model, ids, options);
  EXPECT_FALSE(cache.contains("blocks.0.attn.hook_pattern")) << "patterns are only cached when asked for";
  const at::Tensor resid = cache.at("blocks.0.hook_resid_post");
  EXPECT_EQ(resid.scalar_type(), at::kBFloat16);
  EXPECT_EQ(resid.sizes(), (at::IntArrayRef{1, 4, 64}));
  EXPECT_TRUE(at::equal(resid, golden_tensor("tiny-gqa", "case1_hidden_states.npy")[1].narrow(1, 3, 4).to(at::kBFloat16)));
}

// During KV-cached decoding each step's hooks see only the new positions; the cache joins them, and equals the
// activations of one uncached pass over the whole sequence.
TEST_F(HooksOnGolden, CacheAcrossKVCachedSteps) {
  const at::Tensor sequence = golden_tensor("tiny-gqa", "case3_sequence.npy").narrow(1, 0, 45);
  CacheOptions options;
  options.names = NameFilter::names({"blocks.1.hook_resid_post", "blocks.0.attn.hook_pattern", "blocks.1.attn.hook_rot_k"});
  const auto [full_logits, full] = run_with_cache(model, sequence, options);

  ActivationCache stepped;
  HookSet hooks(2);
  add_caching_hooks(hooks, stepped, options);
  KVCache kv = model.new_cache(1, 45);
  ForwardOptions forward;
  forward.cache = &kv;
  forward.hooks = &hooks;
  model.forward(sequence.narrow(1, 0, 40), forward);
  for (std::int64_t t = 40; t < 45; ++t) model.forward(sequence.narrow(1, t, 1), forward);
  for (const auto& name : full.names()) {
    EXPECT_EQ(stepped.at(name).sizes(), full.at(name).sizes()) << name;
    EXPECT_LE(max_abs_diff(stepped.at(name), full.at(name)), 1e-5) << name;
  }
}

}  // namespace
}  // namespace moulin
