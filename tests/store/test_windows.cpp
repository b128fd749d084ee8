#include <gtest/gtest.h>

#include "core/error.h"
#include "store/windows.h"
#include "tests/support/expect_error.h"

namespace moulin {
namespace {

using test::expect_error;

TEST(StoreWindows, EveryPositionIsStoredOnceWithTheContextItWasPromised) {
  for (std::int64_t length = 0; length <= 40; ++length)
    for (std::int64_t context = 1; context <= 9; ++context)
      for (std::int64_t overlap = 0; overlap < context; ++overlap) {
        const auto kept = kept_positions(length, PositionSelection{});
        const auto windows = plan_windows(length, kept, {context, overlap});
        std::vector<int> stored(static_cast<std::size_t>(length), 0);
        for (const auto& window : windows) {
          ASSERT_LE(window.end - window.begin, context);
          for (std::size_t k = window.first_kept; k < window.first_kept + window.kept_count; ++k) {
            const auto position = kept[k];
            ASSERT_GE(position, window.begin);
            ASSERT_LT(position, window.end);
            // Tokens after the first window see at least `overlap` tokens before them.
            ASSERT_GE(position - window.begin, std::min(overlap, position)) << length << " " << context << " " << overlap;
            ++stored[static_cast<std::size_t>(position)];
          }
        }
        for (std::int64_t p = 0; p < length; ++p)
          ASSERT_EQ(stored[static_cast<std::size_t>(p)], 1) << "position " << p << " of " << length << ", context "
                                                             << context << ", overlap " << overlap;
      }
}

TEST(StoreWindows, TilesAndOverlapsAsDocumented) {
  const auto kept = kept_positions(10, PositionSelection{});
  const auto tiles = plan_windows(10, kept, {4, 0});
  ASSERT_EQ(tiles.size(), 3u);
  EXPECT_EQ(tiles[1].begin, 4);
  EXPECT_EQ(tiles[2].end, 10);
  const auto overlapping = plan_windows(10, kept, {4, 2});
  // [0,4) stores 0-3; [2,6) stores 4-5; [4,8) stores 6-7; [6,10) stores 8-9.
  ASSERT_EQ(overlapping.size(), 4u);
  EXPECT_EQ(overlapping[1].begin, 2);
  EXPECT_EQ(overlapping[1].first_kept, 4u);
  EXPECT_EQ(overlapping[1].kept_count, 2u);
  EXPECT_EQ(overlapping[3].begin, 6);
}

TEST(StoreWindows, LastPositionRunsOnlyTheWindowThatHoldsIt) {
  const auto kept = kept_positions(10, PositionSelection::parse("last"));
  ASSERT_EQ(kept, std::vector<std::int64_t>{9});
  const auto windows = plan_windows(10, kept, {4, 1});
  ASSERT_EQ(windows.size(), 1u);
  EXPECT_EQ(windows[0].end, 10);
  EXPECT_EQ(windows[0].end - windows[0].begin, 4);
}

TEST(StoreWindows, WindowsStopAfterTheirLastStoredToken) {
  const auto kept = kept_positions(10, PositionSelection::parse("1,-8"));
  EXPECT_EQ(kept, (std::vector<std::int64_t>{1, 2}));
  const auto windows = plan_windows(10, kept, {8, 0});
  ASSERT_EQ(windows.size(), 1u);
  EXPECT_EQ(windows[0].end, 3);
}

TEST(StoreWindows, PositionListsSkipWhatAShortDocumentLacks) {
  EXPECT_EQ(kept_positions(3, PositionSelection::parse("0,5,-1,-7,2")), (std::vector<std::int64_t>{0, 2}));
  EXPECT_TRUE(kept_positions(0, PositionSelection::parse("last")).empty());
  EXPECT_EQ(PositionSelection::parse("0,5,-1").to_string(), "0,5,-1");
  EXPECT_EQ(PositionSelection::parse("last").to_string(), "last");
  EXPECT_EQ(PositionSelection::parse("all").to_string(), "all");
}

TEST(StoreWindows, BadOptionsAreRefused) {
  expect_error<ArgumentError>([] { PositionSelection::parse("0,x"); }, {"'x' is not an integer"});
  expect_error<ArgumentError>([] { PositionSelection::parse("1,,2"); }, {"positions"});
  expect_error<ArgumentError>([] { check_window_options({4, 4}); }, {"overlap", "4"});
  expect_error<ArgumentError>([] { check_window_options({0, 0}); }, {"context length"});
}

}  // namespace
}  // namespace moulin
