// gRPC's wire format for unary calls (unlocker/unary_grpc/grpc_wire.h) on bytes alone.
#include "unlocker/unary_grpc/grpc_wire.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace kb::unary_grpc {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;

std::string Prefix(char flag, uint32_t length) {
  return {flag, static_cast<char>(length >> 24), static_cast<char>(length >> 16),
          static_cast<char>(length >> 8), static_cast<char>(length)};
}

TEST(FrameMessageTest, PrefixesAZeroFlagAndTheBigEndianLength) {
  EXPECT_EQ(FrameMessage(""), Prefix(0, 0));
  EXPECT_EQ(FrameMessage("abc"), Prefix(0, 3) + "abc");
  const std::string big(0x010203, 'x');
  EXPECT_EQ(FrameMessage(big), std::string("\0\0\x01\x02\x03", 5) + big);
}

TEST(DeframerTest, TakesTheMessageWholeOrByteByByte) {
  const std::string framed = FrameMessage("hello");
  UnaryResponseDeframer whole;
  ASSERT_THAT(whole.Append(framed), IsOk());
  EXPECT_THAT(whole.Finish(), IsOkAndHolds(Optional(std::string("hello"))));

  UnaryResponseDeframer split;
  for (char c : framed) ASSERT_THAT(split.Append(std::string(1, c)), IsOk());
  EXPECT_THAT(split.Finish(), IsOkAndHolds(Optional(std::string("hello"))));
}

TEST(DeframerTest, AnEmptyMessageIsAMessageAndNoDataIsNone) {
  UnaryResponseDeframer empty_message;
  ASSERT_THAT(empty_message.Append(Prefix(0, 0)), IsOk());
  EXPECT_THAT(empty_message.Finish(), IsOkAndHolds(Optional(std::string())));

  UnaryResponseDeframer nothing;
  ASSERT_THAT(nothing.Append(""), IsOk());
  auto none = nothing.Finish();
  ASSERT_THAT(none, IsOk());
  EXPECT_FALSE(none->has_value());
}

TEST(DeframerTest, RefusesACompressedMessage) {
  UnaryResponseDeframer d;
  EXPECT_THAT(d.Append(Prefix(1, 3) + "abc"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("compressed message (flag 1)")));
}

TEST(DeframerTest, RefusesALengthOverTheLimitFromThePrefixAlone) {
  UnaryResponseDeframer d;
  EXPECT_THAT(d.Append(Prefix(0, kMaxResponseMessage + 1)),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("4194305 bytes")));
  UnaryResponseDeframer at_limit;
  EXPECT_THAT(at_limit.Append(Prefix(0, kMaxResponseMessage)), IsOk());
}

TEST(DeframerTest, RefusesASecondMessageInTheSameOrALaterFrame) {
  UnaryResponseDeframer same;
  EXPECT_THAT(same.Append(FrameMessage("a") + FrameMessage("b")),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("more than one message")));
  UnaryResponseDeframer later;
  ASSERT_THAT(later.Append(FrameMessage("a")), IsOk());
  EXPECT_THAT(later.Append(FrameMessage("b")),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("more than one message")));
}

TEST(DeframerTest, AMessageCutShortIsAnErrorAtTheEnd) {
  UnaryResponseDeframer in_prefix;
  ASSERT_THAT(in_prefix.Append(std::string("\0\0", 2)), IsOk());
  EXPECT_THAT(in_prefix.Finish(),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("5-byte prefix (2 bytes)")));

  UnaryResponseDeframer in_body;
  ASSERT_THAT(in_body.Append(Prefix(0, 10) + "abc"), IsOk());
  EXPECT_THAT(in_body.Finish(),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("3 of its 10 bytes")));
}

TEST(DeframerTest, StaysFailedAfterAnError) {
  UnaryResponseDeframer d;
  ASSERT_FALSE(d.Append(Prefix(7, 1) + "x").ok());
  EXPECT_THAT(d.Append(FrameMessage("fine")), StatusIs(absl::StatusCode::kInternal));
  EXPECT_THAT(d.Finish(), StatusIs(absl::StatusCode::kInternal));
}

TEST(GrpcTimeoutTest, MillisecondsRoundedUpThenSecondsThenHours) {
  EXPECT_EQ(GrpcTimeout(absl::Microseconds(1500)), "2m");
  EXPECT_EQ(GrpcTimeout(absl::Seconds(10)), "10000m");
  EXPECT_EQ(GrpcTimeout(absl::ZeroDuration()), "1m");
  EXPECT_EQ(GrpcTimeout(absl::Seconds(-3)), "1m");
  EXPECT_EQ(GrpcTimeout(absl::Milliseconds(99'999'999)), "99999999m");
  EXPECT_EQ(GrpcTimeout(absl::Milliseconds(100'000'001)), "100001S");
  EXPECT_EQ(GrpcTimeout(absl::Hours(1'000'000)), "1000000H");
  EXPECT_EQ(GrpcTimeout(absl::InfiniteDuration()), "99999999H");
}

TEST(PercentDecodeTest, DecodesEscapesAndKeepsBrokenOnes) {
  EXPECT_EQ(PercentDecode("key%20not%20found"), "key not found");
  EXPECT_EQ(PercentDecode("%E2%9c%93"), "\xE2\x9C\x93");
  EXPECT_EQ(PercentDecode("100%"), "100%");
  EXPECT_EQ(PercentDecode("%2"), "%2");
  EXPECT_EQ(PercentDecode("%zz%4"), "%zz%4");
  EXPECT_EQ(PercentDecode("%25%41"), "%A");
}

TEST(StatusFromHttpStatusTest, FollowsGrpcsMapping) {
  const std::pair<int, absl::StatusCode> table[] = {
      {400, absl::StatusCode::kInternal},         {401, absl::StatusCode::kUnauthenticated},
      {403, absl::StatusCode::kPermissionDenied}, {404, absl::StatusCode::kUnimplemented},
      {429, absl::StatusCode::kUnavailable},      {431, absl::StatusCode::kInternal},
      {502, absl::StatusCode::kUnavailable},      {503, absl::StatusCode::kUnavailable},
      {504, absl::StatusCode::kUnavailable},      {200, absl::StatusCode::kUnknown},
      {500, absl::StatusCode::kUnknown}};
  for (const auto& [http, code] : table) {
    EXPECT_THAT(StatusFromHttpStatus(http),
                StatusIs(code, HasSubstr(absl::StrCat("HTTP status ", http))))
        << http;
  }
}

TEST(StatusFromTrailersTest, OkOrTheCodeWithItsDecodedMessage) {
  EXPECT_THAT(StatusFromTrailers("0", "ignored"), IsOk());
  EXPECT_THAT(StatusFromTrailers("7", "policy%20denies%20key%20'k'"),
              StatusIs(absl::StatusCode::kPermissionDenied, "policy denies key 'k'"));
  EXPECT_THAT(StatusFromTrailers("16", ""), StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(StatusFromTrailersTest, AnythingButACodeIsUnknownAndEscaped) {
  for (const char* bad : {"17", "07", "+7", " 7", "", "abc", "-1", "100"}) {
    EXPECT_THAT(StatusFromTrailers(bad, "m"),
                StatusIs(absl::StatusCode::kUnknown,
                         HasSubstr(absl::StrCat("grpc-status '", bad, "', not a gRPC code"))))
        << bad;
  }
  EXPECT_THAT(StatusFromTrailers("1\n2", ""),
              StatusIs(absl::StatusCode::kUnknown, HasSubstr("'1\\x0a2'")));
}

TEST(StatusFromResetTest, MapsHttp2ErrorCodes) {
  EXPECT_THAT(StatusFromReset(0x7),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("REFUSED_STREAM, 7")));
  EXPECT_THAT(StatusFromReset(0x8), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_THAT(StatusFromReset(0xb), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(StatusFromReset(0xc), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(StatusFromReset(0x2),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("INTERNAL_ERROR")));
  EXPECT_THAT(StatusFromReset(99),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("unknown error code, 99")));
}

}  // namespace
}  // namespace kb::unary_grpc
