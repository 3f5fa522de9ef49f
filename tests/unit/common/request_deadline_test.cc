#include "common/request_deadline.h"

#include <thread>

#include "gtest/gtest.h"

namespace kb {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'000'000);

TEST(RequestDeadlineTest, NoneOutsideAScope) {
  EXPECT_EQ(RequestDeadline::Current(), absl::InfiniteFuture());
  EXPECT_EQ(RequestDeadline::Bound(kNow, absl::Seconds(20)), kNow + absl::Seconds(20));
}

TEST(RequestDeadlineTest, AScopeSetsItAndRestoresTheOneBefore) {
  {
    const RequestDeadline::Scope scope(kNow + absl::Seconds(2));
    EXPECT_EQ(RequestDeadline::Current(), kNow + absl::Seconds(2));
    // The earlier of the two bounds a wait.
    EXPECT_EQ(RequestDeadline::Bound(kNow, absl::Seconds(20)), kNow + absl::Seconds(2));
    EXPECT_EQ(RequestDeadline::Bound(kNow, absl::Seconds(1)), kNow + absl::Seconds(1));
  }
  EXPECT_EQ(RequestDeadline::Current(), absl::InfiniteFuture());
}

TEST(RequestDeadlineTest, AnInnerScopeNeverOutlastsAnOuterOne) {
  const RequestDeadline::Scope outer(kNow + absl::Seconds(5));
  {
    const RequestDeadline::Scope later(kNow + absl::Seconds(9));
    EXPECT_EQ(RequestDeadline::Current(), kNow + absl::Seconds(5));
    {
      const RequestDeadline::Scope earlier(kNow + absl::Seconds(1));
      EXPECT_EQ(RequestDeadline::Current(), kNow + absl::Seconds(1));
    }
    EXPECT_EQ(RequestDeadline::Current(), kNow + absl::Seconds(5));
  }
  EXPECT_EQ(RequestDeadline::Current(), kNow + absl::Seconds(5));
}

TEST(RequestDeadlineTest, AnOverrideReplacesItWhileItLasts) {
  const RequestDeadline::Scope scope(kNow + absl::Seconds(1));
  {
    const RequestDeadline::Override none(absl::InfiniteFuture());
    EXPECT_EQ(RequestDeadline::Current(), absl::InfiniteFuture());
    const RequestDeadline::Override later(kNow + absl::Seconds(9));
    EXPECT_EQ(RequestDeadline::Current(), kNow + absl::Seconds(9));
  }
  EXPECT_EQ(RequestDeadline::Current(), kNow + absl::Seconds(1));
}

TEST(RequestDeadlineTest, EachThreadHasItsOwn) {
  const RequestDeadline::Scope scope(kNow);
  absl::Time seen;
  std::thread([&] { seen = RequestDeadline::Current(); }).join();
  EXPECT_EQ(seen, absl::InfiniteFuture());
  EXPECT_EQ(RequestDeadline::Current(), kNow);
}

}  // namespace
}  // namespace kb
