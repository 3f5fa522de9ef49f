#ifndef KB_TESTS_UNIT_KEYBROKER_TDX_TDX_TEST_UTIL_H_
#define KB_TESTS_UNIT_KEYBROKER_TDX_TDX_TEST_UTIL_H_

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/verifiers/tdx/collateral_set.h"
#include "keybroker/verifiers/tdx/intel_roots.h"
#include "keybroker/verifiers/tdx/tdx_quote.h"

namespace kb {
namespace tdx {
namespace testing {

// A file from tests/data/tdx (found through KB_SOURCE_DIR, set by kb_test()).
inline std::string ReadVector(const std::string& name) {
  const char* dir = std::getenv("KB_SOURCE_DIR");
  std::string path = absl::StrCat(dir != nullptr ? dir : ".", "/tests/data/tdx/", name);
  auto data = ReadFile(path);
  EXPECT_TRUE(data.ok()) << data.status();
  return data.ok() ? *data : std::string();
}

inline absl::Time At(const std::string& rfc3339) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err)) << err;
  return t;
}

// Asserts that `status` is the rejection of check `check` with `code`.
inline void ExpectCheck(const absl::Status& status, absl::string_view check,
                        absl::StatusCode code) {
  EXPECT_EQ(status.code(), code) << status;
  EXPECT_THAT(std::string(status.message()),
              ::testing::HasSubstr(absl::StrCat("evidence check '", check, "' failed")))
      << status;
}

// The embedded root with the (expired, same-key) Intel SGX TCB Signing certificate pinned.
inline IntelTrustAnchors PinnedAnchors() {
  auto a = IntelTrustAnchors::FromPem(EmbeddedIntelSgxRootCaPem(),
                                      ReadVector("derived_intel_sgx_tcb_signing_2018-2025.pem"));
  EXPECT_TRUE(a.ok()) << a.status();
  return std::move(a).value();
}

inline TdxCollateral Collateral(const std::vector<std::string>& files) {
  std::vector<std::string> items;
  for (const std::string& f : files) items.push_back(ReadVector(f));
  auto c = SortCollateral(items);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(c).value() : TdxCollateral();
}

inline void PutU16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}
inline void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Re-encodes a parsed quote (lengths recomputed), so tests can change one field.
inline std::string SerializeQuote(const TdxQuote& q) {
  std::string cert;
  cert += q.qe_report.raw + q.qe_report_signature;
  PutU16(cert, static_cast<uint16_t>(q.qe_auth_data.size()));
  cert += q.qe_auth_data;
  PutU16(cert, q.pck_cert_data_type);
  PutU32(cert, static_cast<uint32_t>(q.pck_cert_data.size()));
  cert += q.pck_cert_data;
  std::string sig = q.signature + q.attestation_key;
  PutU16(sig, q.certification_data_type);
  PutU32(sig, static_cast<uint32_t>(cert.size()));
  sig += cert;
  std::string out = q.signed_region;
  PutU32(out, static_cast<uint32_t>(sig.size()));
  return out + sig;
}

// Every TDX quote in the vector set.
inline const std::vector<std::string>& AllTdxQuotes() {
  static const auto* kQuotes = new std::vector<std::string>{"gotdx_cos-113-tdx-quote.dat",
                                                            "gotdx_quote_v5_sample.dat",
                                                            "gotdx_tdx_prod_quote_SPR_E4_v4.dat",
                                                            "trustee_tdx_quote_4.dat",
                                                            "trustee_tdx_quote_5.dat",
                                                            "trustee_tdx_quote_6.dat",
                                                            "trustee_td-quote.bin",
                                                            "trustee_old2024_td-quote.bin"};
  return *kQuotes;
}

}  // namespace testing
}  // namespace tdx
}  // namespace kb

#endif  // KB_TESTS_UNIT_KEYBROKER_TDX_TDX_TEST_UTIL_H_
