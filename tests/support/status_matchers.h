#ifndef KB_TESTS_SUPPORT_STATUS_MATCHERS_H_
#define KB_TESTS_SUPPORT_STATUS_MATCHERS_H_

// gMock matchers for absl::Status, absl::StatusOr<T> (and, for IsOk, grpc::Status and protobuf's
// util::Status) that print the status on
// failure (ASSERT_TRUE(x.ok()) prints only "false"):
//   ASSERT_THAT(result, IsOk());
//   EXPECT_THAT(result, StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("policy")));
//   EXPECT_THAT(result, IsOkAndHolds(Eq(3)));

#include <ostream>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"

namespace kb {
namespace status_matchers_internal {

template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& v) {
  return v.status();
}
inline const absl::Status& StatusOf(const absl::Status& s) { return s; }

// "OK", or "<CODE>: <message>" (grpc::Status: "grpc code <n>: <message>"; any other status
// type by its ToString()).
template <typename T>
std::string StatusText(const T& v) {
  if constexpr (requires { v.error_message(); }) {
    return v.ok() ? "OK"
                  : absl::StrCat("grpc code ", static_cast<int>(v.error_code()), ": ",
                                 v.error_message());
  } else if constexpr (requires { StatusOf(v); }) {
    return StatusOf(v).ToString();
  } else {
    return v.ToString();
  }
}

class IsOkMatcher {
 public:
  template <typename T>
  bool MatchAndExplain(const T& v, ::testing::MatchResultListener* listener) const {
    if (v.ok()) return true;
    *listener << "which is " << StatusText(v);
    return false;
  }
  void DescribeTo(std::ostream* os) const { *os << "is OK"; }
  void DescribeNegationTo(std::ostream* os) const { *os << "is not OK"; }
};

class StatusIsMatcher {
 public:
  StatusIsMatcher(absl::StatusCode code, ::testing::Matcher<const std::string&> message)
      : code_(code), message_(std::move(message)) {}

  template <typename T>
  bool MatchAndExplain(const T& v, ::testing::MatchResultListener* listener) const {
    const absl::Status& s = StatusOf(v);
    *listener << "which is " << s.ToString();
    return s.code() == code_ && message_.Matches(std::string(s.message()));
  }
  void DescribeTo(std::ostream* os) const {
    *os << "has code " << absl::StatusCodeToString(code_) << " and a message that ";
    message_.DescribeTo(os);
  }
  void DescribeNegationTo(std::ostream* os) const {
    *os << "does not have code " << absl::StatusCodeToString(code_) << " or a message that ";
    message_.DescribeTo(os);
  }

 private:
  absl::StatusCode code_;
  ::testing::Matcher<const std::string&> message_;
};

template <typename InnerMatcher>
class IsOkAndHoldsMatcher {
 public:
  explicit IsOkAndHoldsMatcher(InnerMatcher inner) : inner_(std::move(inner)) {}

  template <typename T>
  bool MatchAndExplain(const absl::StatusOr<T>& v, ::testing::MatchResultListener* listener) const {
    if (!v.ok()) {
      *listener << "which is " << v.status().ToString();
      return false;
    }
    return ::testing::ExplainMatchResult(inner_, *v, listener);
  }
  void DescribeTo(std::ostream* os) const { *os << "is OK and holds a value that matches"; }
  void DescribeNegationTo(std::ostream* os) const {
    *os << "is not OK or holds a value that does not match";
  }

 private:
  InnerMatcher inner_;
};

}  // namespace status_matchers_internal

inline ::testing::PolymorphicMatcher<status_matchers_internal::IsOkMatcher> IsOk() {
  return ::testing::MakePolymorphicMatcher(status_matchers_internal::IsOkMatcher());
}

inline ::testing::PolymorphicMatcher<status_matchers_internal::StatusIsMatcher> StatusIs(
    absl::StatusCode code, ::testing::Matcher<const std::string&> message = ::testing::_) {
  return ::testing::MakePolymorphicMatcher(
      status_matchers_internal::StatusIsMatcher(code, std::move(message)));
}

template <typename InnerMatcher>
::testing::PolymorphicMatcher<status_matchers_internal::IsOkAndHoldsMatcher<InnerMatcher>>
IsOkAndHolds(InnerMatcher inner) {
  return ::testing::MakePolymorphicMatcher(
      status_matchers_internal::IsOkAndHoldsMatcher<InnerMatcher>(std::move(inner)));
}

}  // namespace kb

#endif  // KB_TESTS_SUPPORT_STATUS_MATCHERS_H_
