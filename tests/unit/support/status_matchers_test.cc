#include "tests/support/status_matchers.h"

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "grpcpp/support/status.h"
#include "gtest/gtest.h"

namespace kb {
namespace {

using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::Not;

template <typename M, typename T>
std::string Explain(const M& matcher, const T& value, bool* matched) {
  ::testing::StringMatchResultListener listener;
  *matched = ::testing::ExplainMatchResult(matcher, value, &listener);
  return listener.str();
}

TEST(StatusMatchersTest, IsOkPrintsTheStatusThatIsNot) {
  bool matched = true;
  EXPECT_THAT(Explain(IsOk(), absl::NotFoundError("key 'disk' is gone"), &matched),
              HasSubstr("NOT_FOUND: key 'disk' is gone"));
  EXPECT_FALSE(matched);
  absl::StatusOr<int> failed = absl::PermissionDeniedError("policy denies");
  EXPECT_THAT(Explain(IsOk(), failed, &matched), HasSubstr("PERMISSION_DENIED: policy denies"));
  EXPECT_FALSE(matched);
  EXPECT_THAT(Explain(IsOk(), grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"), &matched),
              HasSubstr("grpc code 14: down"));
  EXPECT_FALSE(matched);
}

TEST(StatusMatchersTest, IsOkAcceptsOkOfEveryKind) {
  EXPECT_THAT(absl::OkStatus(), IsOk());
  EXPECT_THAT(absl::StatusOr<int>(3), IsOk());
  EXPECT_THAT(grpc::Status::OK, IsOk());
  EXPECT_THAT(absl::InternalError("x"), Not(IsOk()));
}

TEST(StatusMatchersTest, StatusIsChecksCodeAndMessage) {
  const absl::Status s = absl::InvalidArgumentError("evidence check 'parse' failed: short");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'parse'")));
  EXPECT_THAT(s, Not(StatusIs(absl::StatusCode::kUnauthenticated)));
  EXPECT_THAT(s, Not(StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'hwid'"))));
  EXPECT_THAT(absl::StatusOr<int>(s), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(StatusMatchersTest, IsOkAndHoldsMatchesTheValue) {
  EXPECT_THAT(absl::StatusOr<int>(3), IsOkAndHolds(Eq(3)));
  EXPECT_THAT(absl::StatusOr<int>(4), Not(IsOkAndHolds(Eq(3))));
  bool matched = true;
  EXPECT_THAT(
      Explain(IsOkAndHolds(Eq(3)), absl::StatusOr<int>(absl::AbortedError("expired")), &matched),
      HasSubstr("ABORTED: expired"));
  EXPECT_FALSE(matched);
}

}  // namespace
}  // namespace kb
