#ifndef KB_TESTS_UNIT_KEYBROKER_VERIFIERS_SNP_SNP_TEST_UTIL_H_
#define KB_TESTS_UNIT_KEYBROKER_VERIFIERS_SNP_SNP_TEST_UTIL_H_

#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/verifiers/snp/snp_verifier.h"
#include "tests/support/status_matchers.h"

namespace kb::snp_test {

// A file under tests/data/ (KB_SOURCE_DIR is set by kb_test()).
inline std::string ReadData(absl::string_view relative) {
  const char* src = std::getenv("KB_SOURCE_DIR");
  const std::string path = absl::StrCat(src ? src : ".", "/tests/data/", relative);
  auto bytes = ReadFile(path);
  EXPECT_THAT(bytes, IsOk());
  return bytes.ok() ? *bytes : std::string();
}

inline absl::Time Utc(int y, int m, int d) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, 0, 0, 0), absl::UTCTimeZone());
}

// A time in RFC 3339 ("2025-06-01T00:00:00Z"); one that does not parse fails the test.
inline absl::Time At(const char* rfc3339) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err)) << err;
  return t;
}

// Inside every vector certificate's validity window, including the VLEK's
// (2024-12-10..2025-12-10; MANIFEST verifies it at 2025-06-01).
inline absl::Time VerifyTime() { return Utc(2025, 6, 1); }

// A verification of the report and VCEK/VLEK in these files under tests/data/, at
// VerifyTime(), under the built-in AMD chain.
inline SnpVerifyInput Input(absl::string_view report, absl::string_view vcek) {
  SnpVerifyInput in;
  in.report = ReadData(report);
  in.vcek = ReadData(vcek);
  in.verify_time = VerifyTime();
  return in;
}
inline SnpVerifyInput TrusteeMilan() {
  return Input("snp/trustee_test-report.bin", "snp/trustee_test-vcek.der");
}
inline SnpVerifyInput TrusteeVlek() {
  return Input("snp/trustee_test-vlek-report.bin", "snp/trustee_test-vlek.der");
}

inline absl::Status ToStatus(const absl::Status& s) { return s; }
template <typename T>
absl::Status ToStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

// Expects `expr` to fail the named check with `want_code`.
#define EXPECT_CHECK_FAILS(expr, check, want_code)                                           \
  do {                                                                                       \
    const absl::Status kb_s_ = ::kb::snp_test::ToStatus(expr);                               \
    EXPECT_EQ(kb_s_.code(), (want_code)) << kb_s_;                                           \
    EXPECT_THAT(std::string(kb_s_.message()),                                                \
                ::testing::HasSubstr(absl::StrCat("evidence check '", (check), "' failed"))) \
        << kb_s_;                                                                            \
  } while (0)

}  // namespace kb::snp_test

#endif  // KB_TESTS_UNIT_KEYBROKER_VERIFIERS_SNP_SNP_TEST_UTIL_H_
