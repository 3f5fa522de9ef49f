#include "keybroker/server/heap_trimmer.h"

#include <algorithm>

#include "gtest/gtest.h"

namespace kb {
namespace {

class HeapTrimmerTest : public ::testing::Test {
 protected:
  HeapTrimmer trimmer_{/*min_drop=*/64, /*settle=*/absl::Seconds(2), [this] { ++trimmed_; }};
  absl::Time t_ = absl::FromUnixSeconds(1'000'000);
  int trimmed_ = 0;

  // `open` connections at `seconds`, and at most `peak` at once since the previous call.
  void At(int seconds, size_t open, size_t peak = 0) {
    trimmer_.Observe(open, std::max(open, peak), t_ + absl::Seconds(seconds));
  }
};

TEST_F(HeapTrimmerTest, TrimsOnceAfterManyClosedAndTheCountSettled) {
  At(0, 0);
  At(1, 1000);
  At(2, 10);  // 990 closed
  At(3, 10);  // settling
  EXPECT_EQ(trimmed_, 0);
  At(4, 10);  // settled for 2 s
  EXPECT_EQ(trimmed_, 1);
  At(5, 10);
  At(60, 10);  // nothing more has closed since
  EXPECT_EQ(trimmed_, 1);
  EXPECT_EQ(trimmer_.trims(), 1);
}

// 256 connections open and close between two calls: the count never shows them, the peak
// does (connection_memory 256 left keybrokerd at 47 MiB when only the count was watched).
TEST_F(HeapTrimmerTest, ABurstBetweenTwoCallsCountsByItsPeak) {
  At(0, 0);
  At(1, 0, /*peak=*/256);
  EXPECT_EQ(trimmed_, 0);  // the count moved within the last second: not settled yet
  At(2, 0);
  EXPECT_EQ(trimmed_, 0);
  At(3, 0);  // settled for 2 s
  EXPECT_EQ(trimmed_, 1);
}

TEST_F(HeapTrimmerTest, NeverTrimsWhileConnectionsOnlyComeAndGoInSmallNumbers) {
  for (int s = 0; s < 600; ++s) At(s, 100 + (s % 2) * 20);
  EXPECT_EQ(trimmed_, 0);
}

TEST_F(HeapTrimmerTest, WaitsWhileTheCountIsStillFalling) {
  At(0, 500);
  for (int s = 1; s <= 10; ++s) At(s, 500 - 40 * s);  // closing, 40 a second
  EXPECT_EQ(trimmed_, 0);
  At(12, 100);
  EXPECT_EQ(trimmed_, 1);
}

TEST_F(HeapTrimmerTest, ANewPeakAfterATrimNeedsItsOwnDrop) {
  At(0, 200);
  At(1, 0);
  At(3, 0);
  ASSERT_EQ(trimmed_, 1);
  At(4, 100);
  At(5, 50);  // 50 below the new peak: not enough
  At(10, 50);
  EXPECT_EQ(trimmed_, 1);
  At(11, 30);
  At(13, 30);  // 70 below it
  EXPECT_EQ(trimmed_, 2);
}

}  // namespace
}  // namespace kb
