// When keybrokerd stops working on a call (common/grpc/grpc_respond.h); the adapter's use of it
// is tested over a real server in tests/unit/keybroker/server/grpc_services_test.cc.
#include "common/grpc/grpc_respond.h"

#include "gtest/gtest.h"

namespace kb {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

TEST(WorkDeadlineTest, AQuarterOfTheTimeLeftAtMostOneSecondBeforeTheCallsDeadline) {
  EXPECT_EQ(WorkDeadlineAt(kNow + absl::Seconds(2), kNow), kNow + absl::Milliseconds(1500));
  EXPECT_EQ(WorkDeadlineAt(kNow + absl::Seconds(30), kNow), kNow + absl::Seconds(29));
  EXPECT_EQ(WorkDeadlineAt(kNow - absl::Seconds(1), kNow), kNow - absl::Seconds(1));
  EXPECT_EQ(WorkDeadlineAt(absl::InfiniteFuture(), kNow), absl::InfiniteFuture());
}

TEST(WorkDeadlineTest, AGuestsCallWithoutADeadlineIsWorkedOnForAtMostTheLimit) {
  EXPECT_EQ(GuestWorkDeadlineAt(absl::InfiniteFuture(), kNow), kNow + absl::Seconds(30));
  // A deadline of its own, however long, is the client's to choose.
  EXPECT_EQ(GuestWorkDeadlineAt(kNow + absl::Hours(2), kNow),
            kNow + absl::Hours(2) - absl::Seconds(1));
  EXPECT_EQ(GuestWorkDeadlineAt(kNow + absl::Seconds(2), kNow), kNow + absl::Milliseconds(1500));
}

}  // namespace
}  // namespace kb
