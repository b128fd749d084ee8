#include <gtest/gtest.h>

#include "core/error.h"
#include "store/hook_selection.h"
#include "tests/support/expect_error.h"

namespace moulin {
namespace {

using test::expect_error;

std::vector<std::string> names(const std::vector<HookAddress>& addresses) {
  std::vector<std::string> result;
  for (const auto& address : addresses) result.push_back(hook_point_name(address.point, address.layer));
  return result;
}

TEST(StoreHookSelection, GlobsMatchLikeAShell) {
  EXPECT_TRUE(glob_match("blocks.*.hook_resid_post", "blocks.11.hook_resid_post"));
  EXPECT_FALSE(glob_match("blocks.*.hook_resid_post", "blocks.1.hook_resid_pre"));
  EXPECT_TRUE(glob_match("blocks.1?.*", "blocks.10.attn.hook_z"));
  EXPECT_FALSE(glob_match("blocks.1?.*", "blocks.1.attn.hook_z"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("*z", "blocks.0.attn.hook_z"));
  EXPECT_FALSE(glob_match("", "x"));
}

TEST(StoreHookSelection, SelectsInForwardOrderWithoutRepeats) {
  EXPECT_EQ(names(select_dump_hooks({"blocks.*.hook_resid_post", "hook_embed", "blocks.1.hook_resid_post"}, 3)),
            (std::vector<std::string>{"hook_embed", "blocks.0.hook_resid_post", "blocks.1.hook_resid_post",
                                      "blocks.2.hook_resid_post"}));
}

TEST(StoreHookSelection, PatternsSkipAttentionMatricesAndNamesRefuseThem) {
  const auto everything = names(select_dump_hooks({"*"}, 2));
  EXPECT_EQ(std::count(everything.begin(), everything.end(), "blocks.0.attn.hook_pattern"), 0);
  EXPECT_EQ(std::count(everything.begin(), everything.end(), "blocks.0.attn.hook_z"), 1);
  EXPECT_EQ(everything.back(), "unembed.hook_out");
  expect_error<ArgumentError>([] { select_dump_hooks({"blocks.0.attn.hook_pattern"}, 2); },
                              {"blocks.0.attn.hook_pattern", "one row per token"});
}

TEST(StoreHookSelection, UnknownNamesAndEmptyPatternsAreErrors) {
  expect_error<ArgumentError>([] { select_dump_hooks({"blocks.0.hook_resid_pots"}, 2); }, {"hook_resid_post"});
  expect_error<ArgumentError>([] { select_dump_hooks({"blocks.7.hook_resid_post"}, 2); }, {"blocks.7"});
  expect_error<ArgumentError>([] { select_dump_hooks({"blocks.*.hook_nothing"}, 2); }, {"matches no hook point"});
  expect_error<ArgumentError>([] { select_dump_hooks({}, 2); }, {"no hook points"});
}

}  // namespace
}  // namespace moulin
